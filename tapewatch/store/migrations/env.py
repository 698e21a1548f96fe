"""Alembic's entry point: runs migrations on the connection the store hands over."""

from __future__ import annotations

from alembic import context

from tapewatch.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through tapewatch.store.database.upgrade")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
