"""The one scoring pipeline that batch and stream share: features, detectors, alerts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from tapewatch.detect.alerts import Alert, AlertBuilder, FlaggedEvent
from tapewatch.detect.decision import Decisions, decide, scores_table
from tapewatch.detect.explain import explanation_text, reasons_json, top_reasons
from tapewatch.features.engine import FeatureEngine
from tapewatch.learn.registry import ModelBundle
from tapewatch.schema.columns import ALERT_SCHEMA, TIMESTAMP

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Provenance:
    """What an alert came from: model version, configuration hash and input hash."""

    model_version: str
    config_hash: str
    input_hash: str


@dataclass(frozen=True)
class ScoredBatch:
    """Scores of one batch of events and the alerts the batch closed."""

    scores: pa.Table
    closed_alerts: list[Alert]


class ScoringPipeline:
    """Scores events batch after batch with one model, keeping feature and alert state."""

    def __init__(self, model: ModelBundle, provenance: Provenance) -> None:
        self.model = model
        self.provenance = provenance
        self.features = FeatureEngine(model.feature_config)
        self.alerts = AlertBuilder(model.scoring.alert_gap_seconds)

    def process(self, events: pa.Table) -> ScoredBatch:
        """Score a batch of validated events (in time order within each instrument)."""
        x = self.features.transform(events)
        d = decide(self.model.detector, x, self.model.scoring)
        scores = scores_table(events.column("transaction_id"), d)
        closed = self.alerts.add(_flagged_events(events, d, x), _now(events))
        return ScoredBatch(scores, closed)

    def finish(self) -> list[Alert]:
        """Close the alerts still open at the end of input."""
        return self.alerts.flush()

    def alert_table(self, alerts: list[Alert]) -> pa.Table:
        """Alerts in the contract's columns, explained, ordered by start time and id."""
        alerts = sorted(alerts, key=lambda a: (a.start_us, a.alert_id))
        texts, tops = self._explain(alerts)
        prov = self.provenance
        n = len(alerts)
        return pa.Table.from_arrays(
            [
                pa.array([a.alert_id for a in alerts], pa.string()),
                pa.array([a.trader_id for a in alerts], pa.string()),
                pa.array([a.instrument_id for a in alerts], pa.string()),
                pa.array([a.typology for a in alerts], pa.string()),
                pa.array([a.score for a in alerts], pa.float64()),
                pa.array([a.start_us for a in alerts], pa.int64()).cast(TIMESTAMP),
                pa.array([a.end_us for a in alerts], pa.int64()).cast(TIMESTAMP),
                pa.array([a.transaction_ids for a in alerts], pa.list_(pa.string())),
                pa.array(texts, pa.string()),
                pa.array(tops, pa.string()),
                pa.array([prov.model_version] * n, pa.string()),
                pa.array([prov.config_hash] * n, pa.string()),
                pa.array([prov.input_hash] * n, pa.string()),
            ],
            schema=ALERT_SCHEMA,
        )

    def _explain(self, alerts: list[Alert]) -> tuple[list[str], list[str]]:
        if not alerts:
            return [], []
        rows = np.vstack([a.key_features for a in alerts if a.key_features is not None])
        contributions = self.model.detector.contributions(
            rows, exact=self.model.scoring.explanation == "treeshap"
        )
        k = self.model.scoring.top_features
        texts: list[str] = []
        tops: list[str] = []
        for alert, values, contrib in zip(alerts, rows, contributions, strict=True):
            reasons = top_reasons(values, contrib, k)
            texts.append(
                explanation_text(alert.typology, alert.score, len(alert.transaction_ids), reasons)
            )
            tops.append(reasons_json(reasons))
        return texts, tops


def _flagged_events(events: pa.Table, d: Decisions, x: F32) -> list[FlaggedEvent]:
    idx = np.flatnonzero(d.flagged)
    if len(idx) == 0:
        return []
    rows = events.take(pa.array(idx)).select(
        ["transaction_id", "timestamp", "trader_id", "instrument_id"]
    )
    ts = pc.cast(rows.column("timestamp"), pa.int64()).to_pylist()
    names = d.predicted_names
    return [
        FlaggedEvent(tx, t, trader, inst, names[i], float(d.score[i]), x[i])
        for i, tx, t, trader, inst in zip(
            idx.tolist(),
            rows.column("transaction_id").to_pylist(),
            ts,
            rows.column("trader_id").to_pylist(),
            rows.column("instrument_id").to_pylist(),
            strict=True,
        )
    ]


def _now(events: pa.Table) -> dict[str, int]:
    grouped = (
        pa.table(
            {
                "i": events.column("instrument_id"),
                "t": pc.cast(events.column("timestamp"), pa.int64()),
            }
        )
        .group_by("i")
        .aggregate([("t", "max")])
    )
    return dict(
        zip(grouped.column("i").to_pylist(), grouped.column("t_max").to_pylist(), strict=True)
    )
