"""The analysts' review queue: the most suspicious flagged events with their reasons."""

from __future__ import annotations

import json

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
    reason_of, features_of, alert_score_of = _alert_lookup(alerts)
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
            "detection_reason": pa.array([reason_of.get(t, "") for t in tx], pa.string()),
            "top_5_suspicious_features": pa.array(
                [", ".join(features_of.get(t, [])) for t in tx], pa.string()
            ),
            "requires_manual_review": pa.array(
                [alert_score_of.get(t, 0.0) < MANUAL_REVIEW_BELOW for t in tx], pa.bool_()
            ),
            **{name: empty for name in ANALYST_COLUMNS},
        }
    )


def _alert_lookup(
    alerts: pa.Table,
) -> tuple[dict[str, str], dict[str, list[str]], dict[str, float]]:
    reason: dict[str, str] = {}
    features: dict[str, list[str]] = {}
    score: dict[str, float] = {}
    for row in alerts.select(
        ["transaction_ids", "explanation", "top_features", "score"]
    ).to_pylist():
        names = [f["feature"] for f in json.loads(row["top_features"])][:5]
        for tx in row["transaction_ids"]:
            reason[tx] = row["explanation"]
            features[tx] = names
            score[tx] = row["score"]
    return reason, features, score
