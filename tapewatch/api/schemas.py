"""The HTTP API's request and response bodies."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tapewatch.detect.decision import RiskLevel
from tapewatch.schema.enums import ManipulationType
from tapewatch.store.models import CaseStatus, Role

EVENT_EXAMPLE: dict[str, Any] = {
    "transaction_id": "T-000001",
    "timestamp": "2026-03-03T14:30:00.125Z",
    "order_id": "O-77",
    "order_status": "NEW",
    "trader_id": "TRADER-1",
    "instrument_id": "US0378331005",
    "trading_venue": "XNAS",
    "side": "BUY",
    "price": 101.25,
    "quantity": 500,
    "order_type": "LIMIT",
    "bid_price": 101.2,
    "ask_price": 101.3,
    "bid_size": 1200,
    "ask_size": 900,
}


class EventBatch(BaseModel):
    """Events in the contract's columns (docs/data-contract.md), one object each."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"events": [EVENT_EXAMPLE]}]})

    events: list[dict[str, Any]] = Field(max_length=100_000)


class Rejection(BaseModel):
    """A row that broke the data contract: its position in the request (from 1), the
    field and the reason."""

    line: int
    field: str
    reason: str


class EventResult(BaseModel):
    """One event's score and what it means."""

    transaction_id: str
    trader_id: str
    instrument_id: str
    score: float
    flagged: bool
    predicted_type: str
    risk_level: RiskLevel
    xgb_score: float
    ae_score: float | None
    rule_hits: list[str]
    top_factors: list[str]


class CheckResponse(BaseModel):
    """The scores of the checked events and the rows rejected."""

    results: list[EventResult]
    rejected: list[Rejection]
    processing_ms: float
    model_version: str


class IngestResponse(BaseModel):
    """What an ingested batch gave: counts, flagged events, rejected rows, alerts closed."""

    accepted: int
    flagged: list[EventResult]
    rejected: list[Rejection]
    alerts_closed: list[str]
    processing_ms: float
    model_version: str


class AlertSummary(BaseModel):
    """An alert in a list."""

    alert_id: str
    trader_id: str
    instrument_id: str
    manipulation_type: str
    score: float
    start: str
    end: str
    detected_by: str | None
    model_version: str | None
    status: CaseStatus


class AlertPage(BaseModel):
    """A page of alerts, newest first; pass `next_cursor` as `cursor` for the next."""

    items: list[AlertSummary]
    next_cursor: str | None


class LabelOut(BaseModel):
    """An analyst's verdict."""

    id: int
    is_manipulation: bool
    manipulation_type: str
    confidence: float
    notes: str
    labelled_by: str
    labelled_at: str


class AlertEventOut(BaseModel):
    """One event of an alert, as the lake holds it (None where the lake has no row)."""

    transaction_id: str
    timestamp: str | None = None
    order_id: str | None = None
    order_status: str | None = None
    side: str | None = None
    price: float | None = None
    quantity: float | None = None
    score: float | None = None
    predicted_type: str | None = None


class AlertDetail(AlertSummary):
    """An alert with its events, explanation, top features and review history."""

    explanation: str
    top_features: list[dict[str, Any]]
    rule_hits: list[str]
    config_hash: str | None
    input_hash: str | None
    events: list[AlertEventOut]
    labels: list[LabelOut]
    updated_by: str | None


class ReviewIn(BaseModel):
    """A verdict on an alert. Without `status`, a manipulation closes the case as
    confirmed and anything else as dismissed."""

    is_manipulation: bool
    manipulation_type: ManipulationType
    confidence: float = Field(ge=0.0, le=1.0)
    notes: str = Field(default="", max_length=10_000)
    status: CaseStatus | None = None


class ReviewOut(BaseModel):
    """The stored verdict, the case's new status and the audit entry that records it."""

    label_id: int
    status: CaseStatus
    audit_seq: int


class ModelOut(BaseModel):
    """A registered model version."""

    version: str
    path: str
    config_hash: str
    active: bool
    threshold_override: float | None


class ThresholdIn(BaseModel):
    """A new alert threshold for a model version (null: the model's own)."""

    threshold: float | None = Field(ge=0.0, le=1.0)


class AuditOut(BaseModel):
    """One audit entry."""

    seq: int
    at: str
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    prev_hash: str
    entry_hash: str


class Health(BaseModel):
    """Whether the service is up, and with which model."""

    status: str
    model_version: str | None


class WhoAmI(BaseModel):
    """The caller."""

    name: str
    role: Role
