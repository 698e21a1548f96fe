"""Alerts as the API and the web pages show them: the store's rows joined with the
scored events of the lake."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from tapewatch.api.schemas import AlertDetail, AlertEventOut, AlertSummary, AuditOut, LabelOut
from tapewatch.api.service import Service
from tapewatch.store.cases import get_alert

#: how much of the instrument's flow around an alert its timeline shows
CONTEXT_US = 120_000_000


def iso(us: int | None) -> str | None:
    """µs since the epoch as an ISO 8601 UTC time."""
    if us is None:
        return None
    return dt.datetime.fromtimestamp(us / 1e6, dt.UTC).isoformat().replace("+00:00", "Z")


def parse_time(text: str | None) -> int | None:
    """An ISO 8601 time (naive means UTC) as µs since the epoch."""
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"not an ISO 8601 time: {text!r}") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp() * 1_000_000)


def summary(row: dict[str, Any]) -> AlertSummary:
    """A stored alert row as the list shows it."""
    return AlertSummary(
        alert_id=row["alert_id"],
        trader_id=row["trader_id"],
        instrument_id=row["instrument_id"],
        manipulation_type=row["manipulation_type"],
        score=row["score"],
        start=iso(row["start_us"]) or "",
        end=iso(row["end_us"]) or "",
        detected_by=row.get("detected_by"),
        model_version=row.get("model_version"),
        status=row["status"],
    )


def timeline(service: Service, alert: dict[str, Any]) -> pa.Table:
    """The instrument's scored events from two minutes before the alert to two after."""
    if service.lake is None:
        return pa.table({})
    return service.lake.window(
        alert["instrument_id"], alert["start_us"] - CONTEXT_US, alert["end_us"] + CONTEXT_US
    )


def alert_events(alert: dict[str, Any], context: pa.Table) -> list[AlertEventOut]:
    """The alert's own events, with what the lake knows of each."""
    ids = alert["transaction_ids"]
    rows: dict[str, dict[str, Any]] = {}
    if context.num_rows:
        mine = context.filter(pc.is_in(context.column("transaction_id"), pa.array(ids)))
        rows = {r["transaction_id"]: r for r in mine.to_pylist()}
    out = []
    for tx in ids:
        row = rows.get(tx, {})
        ts = row.get("timestamp")
        out.append(
            AlertEventOut(
                transaction_id=tx,
                timestamp=None if ts is None else ts.isoformat().replace("+00:00", "Z"),
                order_id=row.get("order_id"),
                order_status=row.get("order_status"),
                side=row.get("side"),
                price=row.get("price"),
                quantity=row.get("quantity"),
                score=row.get("score"),
                predicted_type=row.get("predicted_type"),
            )
        )
    return out


def alert_detail(service: Service, alert_id: str) -> tuple[AlertDetail, pa.Table]:
    """One alert for the API and the alert page, and its timeline."""
    alert = get_alert(service.engine, alert_id)
    context = timeline(service, alert)
    labels = [
        LabelOut(
            id=lab["id"],
            is_manipulation=lab["is_manipulation"],
            manipulation_type=lab["manipulation_type"],
            confidence=lab["confidence"],
            notes=lab["notes"],
            labelled_by=lab["labelled_by"],
            labelled_at=iso(lab["labelled_us"]) or "",
        )
        for lab in alert["labels"]
    ]
    base = summary(alert).model_dump()
    detail = AlertDetail(
        **base,
        explanation=alert["explanation"],
        top_features=alert["top_features"],
        rule_hits=alert["rule_hits"],
        config_hash=alert["config_hash"],
        input_hash=alert["input_hash"],
        events=alert_events(alert, context),
        labels=labels,
        updated_by=alert["updated_by"],
    )
    return detail, context


def audit_out(row: Any) -> AuditOut:
    """An audit row for the API."""
    return AuditOut(
        seq=row.seq,
        at=iso(row.at_us) or "",
        actor=row.actor,
        action=row.action,
        target=row.target,
        detail=json.loads(row.detail),
        prev_hash=row.prev_hash,
        entry_hash=row.entry_hash,
    )
