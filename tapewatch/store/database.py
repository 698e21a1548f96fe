"""Opening the store: a SQLAlchemy engine on SQLite (the default) or PostgreSQL, with the
schema brought up to date by the Alembic migrations shipped in this package."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


def database_url(target: str | Path) -> str:
    """A SQLAlchemy URL: a plain path means a SQLite file (its folder is made)."""
    text = str(target)
    if "://" in text:
        return text
    path = Path(text).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def open_engine(target: str | Path) -> sa.Engine:
    """An engine on the store at `target` (URL or SQLite path), migrated to the latest
    schema."""
    engine = sa.create_engine(database_url(target))
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    upgrade(engine)
    return engine


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Apply the migrations up to `revision`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """Write-ahead logging: a commit appends to the log without a sync, and readers (the
    service) do not block the writer. A process that dies loses no committed row; what a
    power cut could lose is made durable by `AlertStore.sync` at every stream checkpoint,
    and what came after the checkpoint is replayed from it. Foreign keys are enforced."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
