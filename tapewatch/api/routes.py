"""The JSON API under /api/v1, and /metrics and /health."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Body, Depends, HTTPException, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tapewatch.api.auth import ADMIN, ANALYST, VIEWER, service
from tapewatch.api.queries import alert_detail, audit_out, parse_time, summary
from tapewatch.api.schemas import (
    EVENT_EXAMPLE,
    AlertDetail,
    AlertPage,
    AuditOut,
    CheckResponse,
    EventBatch,
    EventResult,
    Health,
    IngestResponse,
    ModelOut,
    Rejection,
    ReviewIn,
    ReviewOut,
    ThresholdIn,
    WhoAmI,
)
from tapewatch.api.service import NoModelError, Service
from tapewatch.engine.live import EventVerdict, LiveResult
from tapewatch.store.cases import AlertFilter, NotFoundError, Review, list_alerts, review
from tapewatch.store.models import AuditEntry, CaseStatus
from tapewatch.store.users import Principal
from tapewatch.store.versions import activate, list_versions, set_threshold

api = APIRouter(prefix="/api/v1", tags=["api"])
ops = APIRouter(tags=["operations"])
ServiceDep = Annotated[Service, Depends(service)]


def _result(v: EventVerdict) -> EventResult:
    return EventResult(**v.__dict__)


def _rejections(result: LiveResult) -> list[Rejection]:
    return [Rejection(line=d.line, field=d.field, reason=d.reason) for d in result.rejected]


async def _score(svc: Service, records: list[dict[str, Any]], explain: str) -> LiveResult:
    """Score events against the live state, store what they closed and count them.

    Awaited rather than run on the thread pool, the request waits for its coalesced batch
    without holding a thread; only the alerts it closed go to the pool, to be explained
    and stored. (The first request after a model change loads the model on the event
    loop, once.)
    """
    try:
        submitted = svc.submit(records, explain)
    except NoModelError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    result = await asyncio.wrap_future(submitted)
    if result.closed:  # explained and stored on the pool, while the scorer goes on
        await run_in_threadpool(svc.record, result)
    else:
        svc.record(result)
    return result


@api.post("/check", response_model=CheckResponse)
async def check(
    svc: ServiceDep,
    body: Annotated[
        dict[str, Any] | list[dict[str, Any]],
        Body(examples=[EVENT_EXAMPLE], description="One event, or a list of events."),
    ],
    _who: Principal = VIEWER,
) -> CheckResponse:
    """Score one event or a batch with the active model and each trader's live state;
    every event gets its risk level and top factors in words."""
    records = body if isinstance(body, list) else [body]
    if len(records) > 10_000:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "at most 10,000 events")
    result = await _score(svc, records, "all")
    return CheckResponse(
        results=[_result(v) for v in result.verdicts],
        rejected=_rejections(result),
        processing_ms=result.processing_ms,
        model_version=result.model_version,
    )


@api.post("/events", response_model=IngestResponse)
async def ingest(svc: ServiceDep, batch: EventBatch, _who: Principal = ANALYST) -> IngestResponse:
    """Feed a batch of events into the live pipeline: bad rows come back with their line
    and reason, good rows are scored and the alerts they close are stored."""
    result = await _score(svc, batch.events, "flagged")
    return IngestResponse(
        accepted=len(result.verdicts),
        flagged=[_result(v) for v in result.verdicts if v.flagged],
        rejected=_rejections(result),
        alerts_closed=result.alerts.column("alert_id").to_pylist(),
        processing_ms=result.processing_ms,
        model_version=result.model_version,
    )


@api.get("/alerts", response_model=AlertPage)
def alerts(
    svc: ServiceDep,
    _who: Principal = VIEWER,
    typology: str | None = None,
    instrument_id: str | None = None,
    trader_id: str | None = None,
    min_score: Annotated[float | None, Query(ge=0.0, le=1.0)] = None,
    case_status: Annotated[CaseStatus | None, Query(alias="status")] = None,
    since: Annotated[str | None, Query(description="ISO 8601; alerts starting at or after")] = None,
    until: Annotated[str | None, Query(description="ISO 8601; alerts starting before")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AlertPage:
    """Alerts, newest first, filtered; page with `cursor`."""
    try:
        where = AlertFilter(
            typology,
            instrument_id,
            trader_id,
            min_score,
            case_status,
            parse_time(since),
            parse_time(until),
        )
        page = list_alerts(svc.engine, where, cursor, limit)
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    return AlertPage(items=[summary(r) for r in page.items], next_cursor=page.next_cursor)


@api.get("/alerts/{alert_id}", response_model=AlertDetail)
def alert(svc: ServiceDep, alert_id: str, _who: Principal = VIEWER) -> AlertDetail:
    """One alert with its events, explanation, top features and review history."""
    try:
        return alert_detail(svc, alert_id)[0]
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id}") from exc


@api.post("/alerts/{alert_id}/review", response_model=ReviewOut)
def review_alert(
    svc: ServiceDep, alert_id: str, verdict: ReviewIn, who: Principal = ANALYST
) -> ReviewOut:
    """Label an alert and move its case; the audit log records who, when and why."""
    try:
        done = review(
            svc.engine,
            alert_id,
            who.name,
            Review(
                verdict.is_manipulation,
                verdict.manipulation_type.value,
                verdict.confidence,
                verdict.notes,
                verdict.status,
            ),
        )
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id}") from exc
    return ReviewOut(**done)


@api.get("/models", response_model=list[ModelOut])
def models(svc: ServiceDep, _who: Principal = VIEWER) -> list[ModelOut]:
    """Registered model versions, newest first."""
    return [
        ModelOut(
            version=v.version,
            path=v.path,
            config_hash=v.config_hash,
            active=v.active,
            threshold_override=v.threshold_override,
        )
        for v in list_versions(svc.engine)
    ]


@api.post("/models/{version}/activate", response_model=ModelOut)
def activate_model(svc: ServiceDep, version: str, who: Principal = ADMIN) -> ModelOut:
    """Score with this version from now on."""
    try:
        v = activate(svc.engine, version, who.name)
        svc.models_changed()
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no model version {version}") from exc
    return ModelOut(**{k: getattr(v, k) for k in ModelOut.model_fields})


@api.put("/models/{version}/threshold", response_model=ModelOut)
def model_threshold(
    svc: ServiceDep, version: str, body: ThresholdIn, who: Principal = ADMIN
) -> ModelOut:
    """Change the alert threshold a version scores with."""
    try:
        v = set_threshold(svc.engine, version, body.threshold, who.name)
        svc.models_changed()
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no model version {version}") from exc
    return ModelOut(**{k: getattr(v, k) for k in ModelOut.model_fields})


@api.get("/audit", response_model=list[AuditOut])
def audit(
    svc: ServiceDep,
    _who: Principal = ANALYST,
    target: str | None = None,
    action: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditOut]:
    """Audit entries, newest first, for a target or an action."""
    query = sa.select(AuditEntry.__table__).order_by(AuditEntry.seq.desc()).limit(limit)
    if target:
        query = query.where(AuditEntry.target == target)
    if action:
        query = query.where(AuditEntry.action == action)
    with svc.engine.connect() as connection:
        return [audit_out(r) for r in connection.execute(query)]


@api.get("/me", response_model=WhoAmI)
def me(who: Principal = VIEWER) -> WhoAmI:
    """Who the key or session belongs to."""
    return WhoAmI(name=who.name, role=who.role)


@ops.get("/metrics", response_class=Response)
def metrics(svc: ServiceDep, _who: Principal = VIEWER) -> Response:
    """Events, alerts, flag rate and latency, in Prometheus' text format."""
    return Response(generate_latest(svc.metrics.registry()), media_type=CONTENT_TYPE_LATEST)


@ops.get("/health", response_model=Health)
def health(svc: ServiceDep) -> Health:
    """Up, and which model scores (no key needed)."""
    info = svc.model()
    return Health(status="ok", model_version=None if info is None else info.version)
