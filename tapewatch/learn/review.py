"""The analysts' review queue: the most suspicious flagged events with their reasons."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

#: alerts scoring below this are not near-certain known patterns: an analyst must look
MANUAL_REVIEW_BELOW = 0.99

ANALYST_COLUMNS = ("is_manipulation", "manipulation_type", "confidence", "notes")


def review_queue(events: pa.Table, scores: pa.Table, alerts: pa.Table, top: int) -> pa.Table:
    """The `top` flagged events by score, with their alert's reason and features.

    Columns follow the seed design's review sheet; the analyst columns are left empty
    for the reviewer to fill.
    """
    flagged = scores.select(
        ["transaction_id", "score", "flagged", "predicted_type", "xgb_score", "ae_score"]
    )
    flagged = flagged.filter(pc.field("flagged"))
    flagged = flagged.sort_by([("score", "descending"), ("transaction_id", "ascending")])
    flagged = flagged.slice(0, max(top, 0))
    alert_of = _alert_lookup(alerts)
    wanted = events.select(
        ["transaction_id", "timestamp", "trader_id", "instrument_id", "price", "quantity", "side"]
    )
    joined = flagged.join(wanted, "transaction_id", join_type="left outer")
    joined = joined.sort_by([("score", "descending"), ("transaction_id", "ascending")])
    tx = joined.column("transaction_id").to_pylist()
    n = len(tx)
    empty = pa.nulls(n, pa.string())
    return pa.table(
        {
            "transaction_id": joined.column("transaction_id"),
            "timestamp": joined.column("timestamp"),
            "trader_id": joined.column("trader_id"),
            "instrument_id": joined.column("instrument_id"),
            "price": joined.column("price"),
            "quantity": joined.column("quantity"),
            "side": joined.column("side"),
            "ensemble_score": joined.column("score"),
            "xgboost_score": joined.column("xgb_score"),
            "autoencoder_score": joined.column("ae_score"),
            "predicted_type": joined.column("predicted_type"),
            "detection_reason": pa.array([_reason(alert_of.get(t)) for t in tx], pa.string()),
            "top_5_suspicious_features": pa.array(
                [_features(alert_of.get(t)) for t in tx], pa.string()
            ),
            "requires_manual_review": pa.array(
                [_needs_review(alert_of.get(t)) for t in tx], pa.bool_()
            ),
            "explanation": pa.array(
                [(alert_of.get(t) or {}).get("explanation", "") for t in tx], pa.string()
            ),
            **{name: empty for name in ANALYST_COLUMNS},
        }
    )


def _alert_lookup(alerts: pa.Table) -> dict[str, dict[str, Any]]:
    """Each flagged transaction's alert, as a dict of its columns."""
    alert_of: dict[str, dict[str, Any]] = {}
    for row in alerts.to_pylist():
        for tx in row["transaction_ids"]:
            alert_of[tx] = row
    return alert_of


def _reason(alert: dict[str, Any] | None) -> str:
    """Which detector raised it, for which typology, and the rules that agreed."""
    if alert is None:
        return ""
    kind = alert["manipulation_type"].replace("_", " ").lower()
    text = f"{alert.get('detected_by') or 'known pattern'}: {kind}"
    rules = alert.get("rule_hits") or []
    return text + (f"; rules: {', '.join(rules)}" if rules else "")


def _features(alert: dict[str, Any] | None) -> str:
    """The alert's top five features as name=value (usual value)."""
    if alert is None:
        return ""
    parts = []
    for f in json.loads(alert["top_features"])[:5]:
        text = f"{f['feature']}={_number(f['value'])}"
        if f.get("usual") is not None:
            text += f" (usual {_number(f['usual'])})"
        parts.append(text)
    return "; ".join(parts)


def _needs_review(alert: dict[str, Any] | None) -> bool:
    """Novel anomalies always; known patterns unless near-certain."""
    if alert is None:
        return True
    novel = "novel" in (alert.get("detected_by") or "")
    return novel or alert["score"] < MANUAL_REVIEW_BELOW


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"
