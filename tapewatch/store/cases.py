"""Reading alerts and reviewing them: filters with keyset pagination, one alert with its
case and labels, analysts' verdicts, and the figures of the dashboard."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tapewatch.store.audit import now_us, record
from tapewatch.store.models import AlertEvent, AlertRecord, Case, CaseStatus, Label

#: an hour in µs: the dashboard's time buckets
HOUR_US = 3_600_000_000
#: statuses that end a review
CLOSED = (CaseStatus.CLOSED_CONFIRMED, CaseStatus.CLOSED_DISMISSED)


class NotFoundError(LookupError):
    """No alert with that id."""


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts to list; None leaves a field unconstrained."""

    typology: str | None = None
    instrument_id: str | None = None
    trader_id: str | None = None
    min_score: float | None = None
    status: CaseStatus | None = None
    since_us: int | None = None
    until_us: int | None = None

    def where(self) -> list[sa.ColumnElement[bool]]:
        """The filter as SQL conditions on alerts joined with cases."""
        conditions: list[sa.ColumnElement[bool]] = []
        if self.typology:
            conditions.append(AlertRecord.manipulation_type == self.typology)
        if self.instrument_id:
            conditions.append(AlertRecord.instrument_id == self.instrument_id)
        if self.trader_id:
            conditions.append(AlertRecord.trader_id == self.trader_id)
        if self.min_score is not None:
            conditions.append(AlertRecord.score >= self.min_score)
        if self.status is not None:
            conditions.append(Case.status == self.status.value)
        if self.since_us is not None:
            conditions.append(AlertRecord.start_us >= self.since_us)
        if self.until_us is not None:
            conditions.append(AlertRecord.start_us < self.until_us)
        return conditions


@dataclass(frozen=True)
class Page:
    """One page of alerts, newest first, and the cursor of the next (None: last page)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


_SUMMARY = (
    AlertRecord.alert_id,
    AlertRecord.trader_id,
    AlertRecord.instrument_id,
    AlertRecord.manipulation_type,
    AlertRecord.score,
    AlertRecord.start_us,
    AlertRecord.end_us,
    AlertRecord.detected_by,
    AlertRecord.model_version,
    Case.status,
)


def encode_cursor(start_us: int, alert_id: str) -> str:
    """An opaque cursor for the position after this alert."""
    return base64.urlsafe_b64encode(json.dumps([start_us, alert_id]).encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, str]:
    """The position a cursor stands for."""
    try:
        start_us, alert_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        start = int(start_us)
        if not isinstance(alert_id, str) or not -(2**62) < start < 2**62:
            raise ValueError("out of range")
        return start, alert_id
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(f"not a cursor this service wrote: {cursor!r}") from exc


def list_alerts(
    engine: sa.Engine, where: AlertFilter, cursor: str | None = None, limit: int = 50
) -> Page:
    """Alerts matching the filter, newest first, `limit` at a time."""
    query = sa.select(*_SUMMARY).join(Case, Case.alert_id == AlertRecord.alert_id)
    conditions = where.where()
    if cursor:
        start_us, alert_id = decode_cursor(cursor)
        conditions.append(
            sa.or_(
                AlertRecord.start_us < start_us,
                sa.and_(AlertRecord.start_us == start_us, AlertRecord.alert_id < alert_id),
            )
        )
    query = query.where(*conditions).order_by(
        AlertRecord.start_us.desc(), AlertRecord.alert_id.desc()
    )
    with engine.connect() as connection:
        rows = [dict(r._mapping) for r in connection.execute(query.limit(limit + 1))]
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = encode_cursor(rows[-1]["start_us"], rows[-1]["alert_id"]) if more else None
    return Page(rows, nxt)


def count_alerts(engine: sa.Engine, where: AlertFilter) -> int:
    """How many alerts match the filter."""
    query = (
        sa.select(sa.func.count())
        .select_from(AlertRecord)
        .join(Case, Case.alert_id == AlertRecord.alert_id)
        .where(*where.where())
    )
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def get_alert(engine: sa.Engine, alert_id: str) -> dict[str, Any]:
    """One alert with its case, labels (newest first) and event ids."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(AlertRecord.__table__, Case.status, Case.updated_by, Case.updated_us)
            .join(Case, Case.alert_id == AlertRecord.alert_id)
            .where(AlertRecord.alert_id == alert_id)
        ).first()
        if row is None:
            raise NotFoundError(alert_id)
        alert = dict(row._mapping)
        alert["transaction_ids"] = list(
            connection.execute(
                sa.select(AlertEvent.transaction_id)
                .where(AlertEvent.alert_id == alert_id)
                .order_by(AlertEvent.ordinal)
            ).scalars()
        )
        alert["rule_hits"] = json.loads(alert["rule_hits"] or "[]")
        alert["top_features"] = json.loads(alert["top_features"] or "[]")
        alert["labels"] = [
            dict(r._mapping)
            for r in connection.execute(
                sa.select(Label.__table__)
                .where(Label.alert_id == alert_id)
                .order_by(Label.id.desc())
            )
        ]
    return alert


@dataclass(frozen=True)
class Review:
    """An analyst's verdict on an alert and the status it moves the case to."""

    is_manipulation: bool
    manipulation_type: str
    confidence: float
    notes: str = ""
    status: CaseStatus | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], got {self.confidence}")

    @property
    def new_status(self) -> CaseStatus:
        """The status asked for, or the closing one the verdict implies."""
        if self.status is not None:
            return self.status
        return CaseStatus.CLOSED_CONFIRMED if self.is_manipulation else CaseStatus.CLOSED_DISMISSED


def review(engine: sa.Engine, alert_id: str, reviewer: str, verdict: Review) -> dict[str, Any]:
    """Record a verdict and the case's new status, with their audit entry, in one
    transaction."""
    at = now_us()
    with Session(engine) as session, session.begin():
        case = session.get(Case, alert_id)
        if case is None:
            raise NotFoundError(alert_id)
        before = case.status
        case.status = verdict.new_status.value
        case.updated_us = at
        case.updated_by = reviewer
        label = Label(
            alert_id=alert_id,
            is_manipulation=verdict.is_manipulation,
            manipulation_type=verdict.manipulation_type,
            confidence=verdict.confidence,
            notes=verdict.notes,
            labelled_by=reviewer,
            labelled_us=at,
        )
        session.add(label)
        session.flush()
        entry = record(
            session,
            reviewer,
            "alert.review",
            alert_id,
            {
                "label_id": label.id,
                "is_manipulation": verdict.is_manipulation,
                "manipulation_type": verdict.manipulation_type,
                "confidence": verdict.confidence,
                "notes": verdict.notes,
                "status_from": before,
                "status_to": case.status,
            },
        )
        return {"label_id": label.id, "status": case.status, "audit_seq": entry.seq}


def next_unreviewed(engine: sa.Engine, after: str | None = None, limit: int = 20) -> list[str]:
    """Open alerts in review order (highest score first), starting after `after`."""
    query = sa.select(Case.alert_id, Case.score).where(Case.status == CaseStatus.OPEN.value)
    with engine.connect() as connection:
        if after is not None:
            pivot = connection.execute(
                sa.select(Case.score).where(Case.alert_id == after)
            ).scalar_one_or_none()
            if pivot is not None:
                query = query.where(
                    sa.or_(Case.score < pivot, sa.and_(Case.score == pivot, Case.alert_id > after))
                )
        query = query.order_by(Case.score.desc(), Case.alert_id).limit(limit)
        return [str(r[0]) for r in connection.execute(query)]


@dataclass(frozen=True)
class Overview:
    """The dashboard's figures from the store."""

    total: int
    by_status: dict[str, int]
    by_typology: dict[str, int]
    #: alerts per hour bucket (µs of the hour's start) and typology
    over_time: list[tuple[int, str, int]]
    #: instruments by summed alert score, highest first
    instruments: list[dict[str, Any]] = field(default_factory=list)


def overview(engine: sa.Engine, top_instruments: int = 15) -> Overview:
    """Alert counts by status, typology and hour, and the riskiest instruments."""
    hour = _hour()
    with engine.connect() as connection:
        by_status = {
            str(s): int(n)
            for s, n in connection.execute(
                sa.select(Case.status, sa.func.count()).group_by(Case.status)
            )
        }
        by_typology = {
            str(t): int(n)
            for t, n in connection.execute(
                sa.select(AlertRecord.manipulation_type, sa.func.count()).group_by(
                    AlertRecord.manipulation_type
                )
            )
        }
        over_time = [
            (int(h), str(t), int(n))
            for h, t, n in connection.execute(
                sa.select(hour.label("hour"), AlertRecord.manipulation_type, sa.func.count())
                .group_by("hour", AlertRecord.manipulation_type)
                .order_by("hour")
            )
        ]
        instruments = [
            {
                "instrument_id": str(i),
                "alerts": int(n),
                "risk": float(r),
                "max_score": float(m),
            }
            for i, n, r, m in connection.execute(
                sa.select(
                    AlertRecord.instrument_id,
                    sa.func.count(),
                    sa.func.sum(AlertRecord.score).label("risk"),
                    sa.func.max(AlertRecord.score),
                )
                .group_by(AlertRecord.instrument_id)
                .order_by(sa.desc("risk"))
                .limit(top_instruments)
            )
        ]
    return Overview(sum(by_status.values()), by_status, by_typology, over_time, instruments)


def severity_over_time(
    engine: sa.Engine, bands: list[tuple[str, float]]
) -> list[tuple[int, str, int]]:
    """Alerts per hour (µs of its start) and severity band."""
    hour = _hour()
    band = sa.case(
        *((AlertRecord.score >= low, n) for n, (_, low) in enumerate(bands[:-1])),
        else_=len(bands) - 1,
    )
    query = (
        sa.select(hour.label("hour"), band.label("band"), sa.func.count())
        .group_by("hour", "band")
        .order_by("hour")
    )
    with engine.connect() as connection:
        return [(int(h), bands[int(b)][0], int(n)) for h, b, n in connection.execute(query)]


def alert_rows(engine: sa.Engine, alert_ids: list[str]) -> list[dict[str, Any]]:
    """The list's columns for these alerts, in the order given."""
    if not alert_ids:
        return []
    query = (
        sa.select(*_SUMMARY)
        .join(Case, Case.alert_id == AlertRecord.alert_id)
        .where(AlertRecord.alert_id.in_(alert_ids))
    )
    with engine.connect() as connection:
        found = {r.alert_id: dict(r._mapping) for r in connection.execute(query)}
    return [found[a] for a in alert_ids if a in found]


def open_cases(engine: sa.Engine) -> int:
    """How many cases wait for review (one index scan)."""
    query = sa.select(sa.func.count()).select_from(Case).where(Case.status == CaseStatus.OPEN)
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def _hour() -> sa.ColumnElement[int]:
    """The start of the hour an alert starts in (µs)."""
    return sa.cast(AlertRecord.start_us / HOUR_US, sa.BigInteger) * HOUR_US
