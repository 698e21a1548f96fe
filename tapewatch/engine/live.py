"""Scoring events one request at a time against the traders' live state: what the HTTP
service and the Python SDK call.

Requests share one pipeline (feature state, per-key model state, open alerts), so an
event is scored in the context of the trader's earlier events; a lock keeps requests in
arrival order. Within a request events are scored in time order and answered in the
order given.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tapewatch.detect.alerts import Alert
from tapewatch.detect.decision import RiskLevel, risk_level
from tapewatch.detect.explain import top_reasons
from tapewatch.detect.rules import RuleSet
from tapewatch.engine.pipeline import NO_ALERTS, Provenance, ScoredBatch, ScoringPipeline
from tapewatch.learn.registry import ModelBundle
from tapewatch.schema.canonical import accept_canonical_records
from tapewatch.schema.columns import REQUIRED_EVENT_COLUMNS
from tapewatch.schema.deadletter import DeadLetter
from tapewatch.schema.jsonl_reader import parse_records
from tapewatch.schema.raw import RawTable
from tapewatch.schema.validate import validate_events


@dataclass(frozen=True)
class EventVerdict:
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
    #: the features that pushed the score up most, in words (empty when not asked for)
    top_factors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LiveResult:
    """A request's verdicts, its rejected rows and the alerts its events closed."""

    verdicts: list[EventVerdict]
    rejected: list[DeadLetter]
    processing_ms: float
    #: the model version that scored them
    model_version: str = ""
    #: the alerts the events closed, not yet explained (`alerts` explains them)
    closed: tuple[Alert, ...] = ()
    #: the pipeline's `alert_table`, which `alerts` calls
    tabulate: Callable[[list[Alert]], pa.Table] | None = field(
        default=None, repr=False, compare=False
    )

    @cached_property
    def alerts(self) -> pa.Table:
        """The closed alerts in the contract's columns, explained.

        Built when first asked for, not while the events are scored: an exact TreeSHAP
        explanation takes milliseconds, and the scorer should not keep the next request
        waiting for it.
        """
        if not self.closed or self.tabulate is None:
            return NO_ALERTS
        return self.tabulate(list(self.closed))


def _with_required_columns(raw: RawTable) -> RawTable:
    """Required columns no event of the request has, added empty: each event is then
    rejected for the field it lacks, as when only some events lack it."""
    table = raw.table
    for name in REQUIRED_EVENT_COLUMNS:
        if raw.num_rows and name not in table.column_names:
            table = table.append_column(name, pa.nulls(raw.num_rows, pa.string()))
    return replace(raw, table=table)


def with_threshold(bundle: ModelBundle, threshold: float | None) -> ModelBundle:
    """The model with its alert threshold (the ensemble's, when it has one) replaced."""
    if threshold is None:
        return bundle
    scoring = bundle.scoring
    if scoring.ensemble_threshold is not None and bundle.anomaly is not None:
        scoring = replace(scoring, ensemble_threshold=threshold)
    else:
        scoring = replace(scoring, alert_threshold=threshold)
    return replace(bundle, scoring=scoring)


class LiveScorer:
    """One model's pipeline, fed by requests."""

    def __init__(
        self,
        bundle: ModelBundle,
        *,
        source: str = "live",
        rules: RuleSet | None = None,
        threshold: float | None = None,
        top_factors: int = 5,
    ) -> None:
        self.bundle = with_threshold(bundle, threshold)
        self.threshold = threshold
        self.top_factors = top_factors
        self.pipeline = ScoringPipeline(
            self.bundle, Provenance(bundle.version, bundle.config_hash, source), rules
        )
        self.pipeline.warm_up()  # the first request should not wait for kernels to load
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        """The model version scoring."""
        return self.bundle.version

    def score_records(
        self, records: Iterable[Mapping[str, Any]], *, explain: str = "flagged"
    ) -> LiveResult:
        """Validate and score events given as contract-column dicts.

        explain: "all" gives every event its top factors, "flagged" only flagged events,
        "none" none. Bad rows come back as dead letters (line = position in the request,
        from 1) and the rest are scored.
        """
        started = time.perf_counter()
        records = list(records)
        canonical = accept_canonical_records(records)
        if canonical is not None:  # every event valid as it came: no raw table needed
            events, rejected = canonical, []
        else:
            raw = _with_required_columns(parse_records(records, "request"))
            checked = validate_events(raw)
            events, rejected = checked.good, [*raw.rejected, *checked.bad]
        order = np.arange(events.num_rows)
        if events.num_rows > 1:
            order = pc.sort_indices(events, [("timestamp", "ascending")]).to_numpy()
            events = events.take(pa.array(order))
        with self._lock:
            scored = self.pipeline.process(events) if events.num_rows else None
        verdicts = [] if scored is None else self._verdicts(events, scored, explain)
        in_request_order = [verdicts[i] for i in np.argsort(order, kind="stable")]
        elapsed = (time.perf_counter() - started) * 1e3
        closed = () if scored is None else tuple(scored.closed_alerts)
        return LiveResult(
            in_request_order, rejected, elapsed, self.version, closed, self.pipeline.alert_table
        )

    def close_open_alerts(self) -> pa.Table:
        """Close every open alert (when the service stops) and return them explained."""
        with self._lock:
            closed = self.pipeline.finish()
        return self.pipeline.alert_table(closed)

    def _verdicts(self, events: pa.Table, scored: ScoredBatch, explain: str) -> list[EventVerdict]:
        s = scored.scores
        d = scored.decisions
        x = scored.features
        if d.threshold is None:
            raise RuntimeError("the pipeline returned no decisions to explain")
        score = s.column("score").to_numpy()
        flagged = s.column("flagged").to_numpy(zero_copy_only=False)
        wanted = np.ones(len(score), bool) if explain == "all" else flagged.copy()
        if explain == "none":
            wanted[:] = False
        factors: dict[int, list[str]] = {}
        rows = np.flatnonzero(wanted)
        if len(rows):
            contrib = self.bundle.detector.contributions(x[rows], exact=False)
            for i, c in zip(rows.tolist(), contrib, strict=True):
                usual = None if scored.usual is None else scored.usual[i]
                reasons = top_reasons(x[i], c, self.top_factors, usual)
                factors[i] = [r.phrase() for r in reasons]
        ae = s.column("ae_score").to_pylist()
        return [
            EventVerdict(
                transaction_id=tx,
                trader_id=trader,
                instrument_id=inst,
                score=float(score[i]),
                flagged=bool(flagged[i]),
                predicted_type=kind,
                risk_level=risk_level(float(score[i]), float(d.threshold[i])),
                xgb_score=float(xgb),
                ae_score=ae[i],
                rule_hits=hits,
                top_factors=factors.get(i, []),
            )
            for i, (tx, trader, inst, kind, xgb, hits) in enumerate(
                zip(
                    s.column("transaction_id").to_pylist(),
                    events.column("trader_id").to_pylist(),
                    events.column("instrument_id").to_pylist(),
                    s.column("predicted_type").to_pylist(),
                    s.column("xgb_score").to_pylist(),
                    s.column("rule_hits").to_pylist(),
                    strict=True,
                )
            )
        ]
