"""The one scoring pipeline that batch and stream share: features, detectors, alerts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from tapewatch.detect.alerts import Alert, AlertBuilder, FlaggedEvent
from tapewatch.detect.anomaly import AnomalyDetector
from tapewatch.detect.decision import Decisions, decide, detector_label, scores_table
from tapewatch.detect.explain import anomaly_reasons, explanation_text, reasons_json, top_reasons
from tapewatch.detect.rules import RuleSet, load_rules
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


#: events per step when the autoencoder runs: its windows hold K feature rows per event
SEQUENCE_BATCH_ROWS = 16_384


class ScoringPipeline:
    """Scores events batch after batch with one model, keeping feature and alert state."""

    def __init__(
        self, model: ModelBundle, provenance: Provenance, rules: RuleSet | None = None
    ) -> None:
        self.model = model
        self.provenance = provenance
        self.rules = rules if rules is not None else load_rules()
        anomaly = model.anomaly
        self.features = FeatureEngine(
            model.feature_config,
            sequences=None if anomaly is None else anomaly.sequence_buffer(),
        )
        self.alerts = AlertBuilder(model.scoring.alert_gap_seconds)

    def process(self, events: pa.Table) -> ScoredBatch:
        """Score a batch of validated events (in time order within each instrument)."""
        step = SEQUENCE_BATCH_ROWS if self.model.anomaly is not None else max(events.num_rows, 1)
        parts, flagged = [], []
        for start in range(0, max(events.num_rows, 1), step):
            part = events.slice(start, step)
            scores, part_flagged = self._score(part)
            parts.append(scores)
            flagged.extend(part_flagged)
        closed = self.alerts.add(flagged, _now(events))
        return ScoredBatch(pa.concat_tables(parts), closed)

    def _score(self, events: pa.Table) -> tuple[pa.Table, list[FlaggedEvent]]:
        batch = self.features.transform_batch(events)
        x = batch.features
        anomaly = self.model.anomaly
        errors = ae = None
        if anomaly is not None and batch.windows is not None:
            errors = anomaly.feature_errors(batch.windows)
            ae = anomaly.score(errors)
        d = decide(self.model.detector, x, self.model.scoring, ae)
        hits = self.rules.hits(x, events.column("order_status"))
        scores = scores_table(events.column("transaction_id"), d, hits)
        return scores, _flagged_events(events, d, x, batch.windows, errors, hits, anomaly)

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
                pa.array([detector_label(a.known, a.novel) for a in alerts], pa.string()),
                pa.array([sorted(a.rule_hits) for a in alerts], pa.list_(pa.string())),
            ],
            schema=ALERT_SCHEMA,
        )

    def _explain(self, alerts: list[Alert]) -> tuple[list[str], list[str]]:
        keys = [a.key for a in alerts if a.key is not None]
        if not keys:
            return [], []
        rows = np.vstack([k.features for k in keys])
        contributions = self.model.detector.contributions(
            rows, exact=self.model.scoring.explanation == "treeshap"
        )
        k = self.model.scoring.top_features
        anomaly = self.model.anomaly
        texts: list[str] = []
        tops: list[str] = []
        for alert, key, contrib in zip(alerts, keys, contributions, strict=True):
            reasons = top_reasons(key.features, contrib, k, key.usual)
            unusual = (
                anomaly_reasons(key.features, key.ae_errors, anomaly.columns, 3, key.usual)
                if anomaly is not None and key.ae_errors is not None
                else []
            )
            texts.append(
                explanation_text(
                    alert.typology,
                    alert.score,
                    len(alert.transaction_ids),
                    reasons,
                    detected_by=detector_label(alert.known, alert.novel),
                    ae_score=key.ae_score,
                    unusual=unusual,
                    rules=[r.replace("_", " ") for r in sorted(alert.rule_hits)],
                )
            )
            tops.append(reasons_json(reasons + unusual))
        return texts, tops


def _flagged_events(
    events: pa.Table,
    d: Decisions,
    x: F32,
    windows: F32 | None,
    errors: F32 | None,
    hits: pa.ListArray,
    anomaly: AnomalyDetector | None,
) -> list[FlaggedEvent]:
    idx = np.flatnonzero(d.flagged)
    if len(idx) == 0:
        return []
    rows = events.take(pa.array(idx)).select(
        ["transaction_id", "timestamp", "trader_id", "instrument_id"]
    )
    ts = pc.cast(rows.column("timestamp"), pa.int64()).to_pylist()
    names = d.predicted_names
    usual = (
        None
        if anomaly is None or windows is None
        else _usual_values(anomaly, windows[idx], x.shape[1])
    )
    rule_hits = hits.take(pa.array(idx)).to_pylist()
    ae = d.ae_score
    return [
        FlaggedEvent(
            tx,
            t,
            trader,
            inst,
            names[i],
            float(d.score[i]),
            x[i],
            bool(d.known[i]),
            d.is_novel(i),
            float(d.xgb_score[i]),
            None if ae is None else float(ae[i]),
            None if usual is None else usual[j],
            None if errors is None else errors[i],
            tuple(rule_hits[j]),
        )
        for j, (i, tx, t, trader, inst) in enumerate(
            zip(
                idx.tolist(),
                rows.column("transaction_id").to_pylist(),
                ts,
                rows.column("trader_id").to_pylist(),
                rows.column("instrument_id").to_pylist(),
                strict=True,
            )
        )
    ]


def _usual_values(anomaly: AnomalyDetector, windows: F32, n_features: int) -> F32:
    """Each row's usual value of each feature: the mean over its key's previous window rows."""
    previous = anomaly.unstandardise(windows[:, :-1, :])
    columns = anomaly.columns
    known = np.isfinite(previous)
    count = known.sum(axis=1)
    total = np.where(known, previous, 0.0).sum(axis=1)
    usual = np.full((len(windows), n_features), np.nan, dtype=np.float32)
    usual[:, list(columns)] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return usual


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
