"""The alert store: alerts in a SQL database (SQLite by default), written idempotently.

Writing the same alert twice (a replay after a crash) leaves one row: the key is
`alert_id`, which the same input always gives the same value.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from tapewatch.schema.columns import ALERT_SCHEMA

METADATA = sa.MetaData()
ALERTS = sa.Table(
    "alerts",
    METADATA,
    sa.Column("alert_id", sa.String(40), primary_key=True),
    sa.Column("trader_id", sa.String, nullable=False),
    sa.Column("instrument_id", sa.String, nullable=False, index=True),
    sa.Column("manipulation_type", sa.String, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("start_us", sa.BigInteger, nullable=False, index=True),
    sa.Column("end_us", sa.BigInteger, nullable=False),
    sa.Column("transaction_ids", sa.Text, nullable=False),
    sa.Column("explanation", sa.Text, nullable=False),
    sa.Column("top_features", sa.Text, nullable=False),
    sa.Column("model_version", sa.String),
    sa.Column("config_hash", sa.String),
    sa.Column("input_hash", sa.String),
    sa.Column("detected_by", sa.String),
    sa.Column("rule_hits", sa.Text),
)
#: columns stored as JSON text, and the ones stored as microseconds
_LISTS = ("transaction_ids", "rule_hits")
_TIMES = {"start": "start_us", "end": "end_us"}


def database_url(target: str) -> str:
    """A SQLAlchemy URL: a plain path means a SQLite file (its folder is made)."""
    if "://" in target:
        return target
    path = Path(target).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


class AlertStore:
    """Alerts in a SQL database: idempotent writes, reads back in the contract's columns."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(database_url(url))
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_wal)
        METADATA.create_all(self.engine)

    def put(self, alerts: pa.Table) -> int:
        """Insert or replace these alerts (keyed by alert_id); how many were given."""
        if alerts.num_rows == 0:
            return 0
        for name, stored in _TIMES.items():
            i = alerts.schema.get_field_index(name)
            alerts = alerts.set_column(i, stored, alerts.column(name).cast(pa.int64()))
        rows = alerts.to_pylist()
        for row in rows:
            for name in _LISTS:
                row[name] = json.dumps(row[name])
        dialect = self.engine.dialect.name
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ALERTS)
        columns = {c.name: insert.excluded[c.name] for c in ALERTS.columns if c.name != "alert_id"}
        statement = insert.on_conflict_do_update(index_elements=["alert_id"], set_=columns)
        with self.engine.begin() as connection:
            connection.execute(statement, rows)
        return len(rows)

    def sync(self) -> None:
        """Make every committed alert durable on disk (the stream calls this before it
        writes a checkpoint)."""
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(FULL)")

    def count(self) -> int:
        """Alerts stored."""
        with self.engine.connect() as connection:
            return int(
                connection.execute(sa.select(sa.func.count()).select_from(ALERTS)).scalar_one()
            )

    def table(self, input_hash: str | None = None) -> pa.Table:
        """Stored alerts (of one input, if given) in the contract's columns, by start time
        and id."""
        query = sa.select(ALERTS).order_by(ALERTS.c.start_us, ALERTS.c.alert_id)
        if input_hash is not None:
            query = query.where(ALERTS.c.input_hash == input_hash)
        with self.engine.connect() as connection:
            rows = [dict(r._mapping) for r in connection.execute(query)]
        return alerts_from_rows(rows)

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()


def _sqlite_wal(connection: Any, _record: Any) -> None:
    """Write-ahead logging: a commit appends to the log without a sync, and readers (the
    service) do not block the writer. A process that dies loses no committed alert; what
    a power cut could lose is made durable by `sync` at every stream checkpoint, and what
    came after the checkpoint is replayed from it."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def alerts_from_rows(rows: list[dict[str, object]]) -> pa.Table:
    """Stored rows back as a table with the alert schema."""
    columns: dict[str, list[object]] = {name: [] for name in ALERT_SCHEMA.names}
    for row in rows:
        for name in ALERT_SCHEMA.names:
            if name in _TIMES:
                columns[name].append(row[_TIMES[name]])
            elif name in _LISTS:
                text = row[name]
                columns[name].append(json.loads(text) if isinstance(text, str) else None)
            else:
                columns[name].append(row[name])
    arrays = [
        pa.array(columns[f.name], pa.int64()).cast(f.type)
        if f.name in _TIMES
        else pa.array(columns[f.name], f.type)
        for f in ALERT_SCHEMA
    ]
    return pa.Table.from_arrays(arrays, schema=ALERT_SCHEMA)
