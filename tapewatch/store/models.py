"""The store's tables as SQLAlchemy 2 models: alerts and their events, cases, analyst
labels, model versions, users and API keys, and the audit log.

Times are integer microseconds since the epoch (UTC) in every table, so that a row reads
and hashes the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tapewatch.store.policy import Role as Role


class Base(DeclarativeBase):
    """Every table of the store."""


class CaseStatus(enum.StrEnum):
    """An alert's review state."""

    OPEN = "OPEN"
    UNDER_REVIEW = "UNDER_REVIEW"
    ESCALATED = "ESCALATED"
    CLOSED_CONFIRMED = "CLOSED_CONFIRMED"
    CLOSED_DISMISSED = "CLOSED_DISMISSED"


class AlertRecord(Base):
    """An alert in the contract's columns (lists as JSON text, times as µs)."""

    __tablename__ = "alerts"
    __table_args__ = (
        # the list's filters read newest first within one typology, trader or instrument
        sa.Index("ix_alerts_type_start", "manipulation_type", "start_us"),
    )

    alert_id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    trader_id: Mapped[str] = mapped_column(sa.String, index=True)
    instrument_id: Mapped[str] = mapped_column(sa.String, index=True)
    manipulation_type: Mapped[str] = mapped_column(sa.String, index=True)
    score: Mapped[float] = mapped_column(sa.Float, index=True)
    start_us: Mapped[int] = mapped_column(sa.BigInteger, index=True)
    end_us: Mapped[int] = mapped_column(sa.BigInteger)
    transaction_ids: Mapped[str] = mapped_column(sa.Text)
    explanation: Mapped[str] = mapped_column(sa.Text)
    top_features: Mapped[str] = mapped_column(sa.Text)
    model_version: Mapped[str | None] = mapped_column(sa.String)
    config_hash: Mapped[str | None] = mapped_column(sa.String)
    input_hash: Mapped[str | None] = mapped_column(sa.String, index=True)
    detected_by: Mapped[str | None] = mapped_column(sa.String)
    rule_hits: Mapped[str | None] = mapped_column(sa.Text)


class AlertEvent(Base):
    """One event of an alert (its details are in the scored-event lake)."""

    __tablename__ = "alert_events"

    alert_id: Mapped[str] = mapped_column(
        sa.String(40), sa.ForeignKey("alerts.alert_id", ondelete="CASCADE"), primary_key=True
    )
    ordinal: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    transaction_id: Mapped[str] = mapped_column(sa.String, index=True)


class Case(Base):
    """An alert's review state; one per alert, opened when the alert is first stored."""

    __tablename__ = "cases"
    __table_args__ = (sa.Index("ix_cases_status_score", "status", "score"),)

    alert_id: Mapped[str] = mapped_column(
        sa.String(40), sa.ForeignKey("alerts.alert_id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(sa.String(20), default=CaseStatus.OPEN.value)
    #: the alert's score, copied so the review queue is one index scan
    score: Mapped[float] = mapped_column(sa.Float)
    opened_us: Mapped[int] = mapped_column(sa.BigInteger)
    updated_us: Mapped[int] = mapped_column(sa.BigInteger)
    updated_by: Mapped[str | None] = mapped_column(sa.String)


class Label(Base):
    """An analyst's verdict on an alert; every verdict is kept, the newest counts."""

    __tablename__ = "labels"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(
        sa.String(40), sa.ForeignKey("alerts.alert_id", ondelete="CASCADE"), index=True
    )
    is_manipulation: Mapped[bool] = mapped_column(sa.Boolean)
    manipulation_type: Mapped[str] = mapped_column(sa.String)
    confidence: Mapped[float] = mapped_column(sa.Float)
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    labelled_by: Mapped[str] = mapped_column(sa.String)
    labelled_us: Mapped[int] = mapped_column(sa.BigInteger)


class ModelVersion(Base):
    """A model that scored into this store; one is active for the service."""

    __tablename__ = "model_versions"

    version: Mapped[str] = mapped_column(sa.String, primary_key=True)
    path: Mapped[str] = mapped_column(sa.Text)
    config_hash: Mapped[str] = mapped_column(sa.String)
    registered_us: Mapped[int] = mapped_column(sa.BigInteger)
    active: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    #: the alert threshold in use when it differs from the model's own (an admin's change)
    threshold_override: Mapped[float | None] = mapped_column(sa.Float)
    metrics: Mapped[str] = mapped_column(sa.Text, default="{}")


class User(Base):
    """Someone who uses the service, with one role."""

    __tablename__ = "users"

    name: Mapped[str] = mapped_column(sa.String, primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(10))
    created_us: Mapped[int] = mapped_column(sa.BigInteger)


class ApiKey(Base):
    """An API key, stored as a salted hash; `key_id` is the key's public first part."""

    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    user_name: Mapped[str] = mapped_column(
        sa.String, sa.ForeignKey("users.name", ondelete="CASCADE"), index=True
    )
    salt: Mapped[str] = mapped_column(sa.String(32))
    key_hash: Mapped[str] = mapped_column(sa.String(64))
    created_us: Mapped[int] = mapped_column(sa.BigInteger)
    revoked: Mapped[bool] = mapped_column(sa.Boolean, default=False)


class AuditEntry(Base):
    """One append-only audit record, chained to the previous one by its hash."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    at_us: Mapped[int] = mapped_column(sa.BigInteger, index=True)
    actor: Mapped[str] = mapped_column(sa.String)
    action: Mapped[str] = mapped_column(sa.String)
    target: Mapped[str] = mapped_column(sa.String, index=True)
    detail: Mapped[str] = mapped_column(sa.Text)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    entry_hash: Mapped[str] = mapped_column(sa.String(64))
