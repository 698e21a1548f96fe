"""The alert store: alerts in a SQL database (SQLite by default), written idempotently.

Writing the same alert twice (a replay after a crash) leaves one row: the key is
`alert_id`, which the same input always gives the same value.
"""

from __future__ import annotations

import json
from typing import Any, cast

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from tapewatch.schema.columns import ALERT_SCHEMA
from tapewatch.store.audit import now_us
from tapewatch.store.database import open_engine
from tapewatch.store.models import AlertEvent, AlertRecord, Case, CaseStatus

ALERTS = cast(sa.Table, AlertRecord.__table__)
#: columns stored as JSON text, and the ones stored as microseconds
_LISTS = ("transaction_ids", "rule_hits")
_TIMES = {"start": "start_us", "end": "end_us"}


class AlertStore:
    """Alerts in a SQL database: idempotent writes, reads back in the contract's columns."""

    def __init__(self, url: str) -> None:
        self.engine = open_engine(url)

    def put(self, alerts: pa.Table) -> int:
        """Insert or replace these alerts (keyed by alert_id), link their events and open a
        case for each new one; how many were given. A case already under review keeps its
        state."""
        if alerts.num_rows == 0:
            return 0
        for name, stored in _TIMES.items():
            i = alerts.schema.get_field_index(name)
            alerts = alerts.set_column(i, stored, alerts.column(name).cast(pa.int64()))
        rows = alerts.to_pylist()
        links = [
            {"alert_id": row["alert_id"], "ordinal": i, "transaction_id": tx}
            for row in rows
            for i, tx in enumerate(row["transaction_ids"] or [])
        ]
        at = now_us()
        cases = [
            {
                "alert_id": row["alert_id"],
                "status": CaseStatus.OPEN.value,
                "score": row["score"],
                "opened_us": at,
                "updated_us": at,
            }
            for row in rows
        ]
        for row in rows:
            for name in _LISTS:
                row[name] = json.dumps(row[name])
        insert = self._insert(ALERTS)
        columns = {c.name: insert.excluded[c.name] for c in ALERTS.columns if c.name != "alert_id"}
        with self.engine.begin() as connection:
            connection.execute(
                insert.on_conflict_do_update(index_elements=["alert_id"], set_=columns), rows
            )
            if links:
                connection.execute(
                    self._insert(AlertEvent.__table__).on_conflict_do_nothing(), links
                )
            connection.execute(self._insert(Case.__table__).on_conflict_do_nothing(), cases)
        return len(rows)

    def _insert(self, table: Any) -> Any:
        dialect = self.engine.dialect.name
        return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)

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
