"""The one scoring pipeline that batch and stream share: features, detectors, alerts."""

from __future__ import annotations

import copy
import io
import pickle
import time
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from tapewatch.detect.alerts import Alert, AlertBuilder, FlaggedEvent
from tapewatch.detect.anomaly import AutoencoderState
from tapewatch.detect.decision import Decisions, decide, detector_label, scores_table
from tapewatch.detect.explain import anomaly_reasons, explanation_text, reasons_json, top_reasons
from tapewatch.detect.rules import RuleSet, load_rules
from tapewatch.features.engine import FeatureEngine
from tapewatch.features.keys import SMALL_BATCH
from tapewatch.features.sequences import SequenceOutput
from tapewatch.learn.registry import ModelBundle
from tapewatch.schema.columns import ALERT_SCHEMA, EVENT_SCHEMA, TIMESTAMP

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
    #: the batch's feature rows, decisions and the keys' usual values (for explanations;
    #: None without an autoencoder)
    features: F32
    decisions: Decisions
    usual: F32 | None = None


#: an alert table without rows (Arrow tables are immutable: one serves every caller)
NO_ALERTS = ALERT_SCHEMA.empty_table()
#: how long a paused pickle holds the GIL at most before it pauses (plus one frame)
PAUSE_EVERY_S = 0.001


@dataclass(frozen=True)
class FrozenState:
    """A copy of a pipeline's state, as `ScoringPipeline.restore` takes it back."""

    features: FeatureEngine
    alerts: AlertBuilder

    def to_bytes(self) -> bytes:
        """The state pickled, as `ScoringPipeline.snapshot` gives it."""
        buffer = io.BytesIO()
        self.write_to(buffer)
        return buffer.getvalue()

    def write_to(self, sink: BinaryIO, pause_s: float | None = None) -> None:
        """Pickle the state into a file (the bytes of `to_bytes`). With `pause_s`, sleep
        that long after each millisecond of pickling: a thread writing a large state lets
        the scoring thread take the GIL within about a millisecond instead of waiting out
        the whole pickle (tens of ms)."""
        file = sink if pause_s is None else _Pausing(sink, pause_s)
        pickle.Pickler(file, protocol=pickle.HIGHEST_PROTOCOL).dump((self.features, self.alerts))


class _Pausing:
    """A file the C pickler writes into frame by frame (about 64 KB each), sleeping once
    a millisecond of writing has gone by."""

    def __init__(self, sink: BinaryIO, pause_s: float) -> None:
        self.sink = sink
        self.pause_s = pause_s
        self._since = time.perf_counter()

    def write(self, data: bytes) -> int:
        written = self.sink.write(data)
        if time.perf_counter() - self._since >= PAUSE_EVERY_S:
            # a low-priority thread on a busy core may wait long to wake: pausing by the
            # clock, not by the frame, bounds how many such waits a pickle takes
            time.sleep(self.pause_s)
            self._since = time.perf_counter()
        return written


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
            sequences=None if anomaly is None else anomaly.state(),
        )
        self.alerts = AlertBuilder(model.scoring.alert_gap_seconds)

    def process(self, events: pa.Table) -> ScoredBatch:
        """Score a batch of validated events (in time order within each instrument)."""
        batch = self.features.transform_batch(events)
        x = batch.features
        anomaly = self.model.anomaly
        ae = None
        if anomaly is not None and batch.sequence is not None:
            ae = anomaly.score(batch.sequence.errors)
        d = decide(self.model.detector, x, self.model.scoring, ae)
        hits = self.rules.hits(x, events.column("order_status"))
        scores = scores_table(events.column("transaction_id"), d, hits)
        flagged = _flagged_events(events, d, x, batch.sequence, hits)
        closed = self.alerts.add(flagged, _now(events))
        usual = None if batch.sequence is None else batch.sequence.usual
        return ScoredBatch(scores, closed, x, d, usual)

    def warm_up(self) -> None:
        """Score two made-up events (an order and its fill) on a scratch pipeline of the
        same model, so the first real batch does not wait for compiled kernels and model
        sessions to load; this pipeline's state is untouched."""
        scratch = ScoringPipeline(self.model, self.provenance, self.rules)
        ts = pa.array([1_772_443_800_000_000, 1_772_443_800_000_100], pa.int64())
        probe = {
            "transaction_id": ["warm-1", "warm-2"],
            "timestamp": ts.cast(TIMESTAMP),
            "order_id": ["warm-o", "warm-o"],
            "order_status": ["NEW", "EXECUTED"],
            "trader_id": ["warm-a", "warm-a"],
            "instrument_id": ["warm-i", "warm-i"],
            "trading_venue": ["XOFF", "XOFF"],
            "side": ["BUY", "BUY"],
            "price": [100.0, 100.0],
            "quantity": [10.0, 10.0],
            "order_type": ["LIMIT", "LIMIT"],
            "counterparty_id": [None, "warm-b"],
            "is_algo_trade": [False, False],
            "is_hft": [False, False],
            "bid_price": [99.9, 99.9],
            "ask_price": [100.0, 100.0],
            "bid_size": [100.0, 100.0],
            "ask_size": [100.0, 100.0],
        }
        table = pa.Table.from_pydict(probe, schema=EVENT_SCHEMA)
        # one event alone too: its feature row is laid out differently for the kernels
        ScoringPipeline(self.model, self.provenance, self.rules).process(table.slice(0, 1))
        scored = scratch.process(table)
        scratch.alert_table(scored.closed_alerts + scratch.finish())
        # the typology and explanation of the first alert
        detector = self.model.detector
        detector.typology(scored.features)
        detector.contributions(scored.features, exact=self.model.scoring.explanation == "treeshap")

    def snapshot(self) -> bytes:
        """The pipeline's state (features, per-key model state, open alerts) as bytes."""
        return FrozenState(self.features, self.alerts).to_bytes()

    def frozen_state(self) -> FrozenState:
        """A copy of the pipeline's state that scoring on does not change: taken between
        batches in a few milliseconds, turned into bytes at leisure elsewhere."""
        memo: dict[int, object] = {}
        sequences = self.features.sequences
        if isinstance(sequences, AutoencoderState):  # the model is shared, not state
            memo[id(sequences.detector)] = sequences.detector
        features, alerts = copy.deepcopy((self.features, self.alerts), memo)
        return FrozenState(features, alerts)

    def restore(self, blob: bytes) -> None:
        """Go on from a `snapshot` taken with the same model."""
        # a checkpoint this worker wrote itself, never input from outside
        features, alerts = pickle.loads(blob)  # noqa: S301
        if isinstance(features.sequences, AutoencoderState):
            if self.model.anomaly is None:
                raise ValueError("the checkpoint holds autoencoder state; this model has none")
            features.sequences.bind(self.model.anomaly)
        self.features, self.alerts = features, alerts

    def finish(self) -> list[Alert]:
        """Close the alerts still open at the end of input."""
        return self.alerts.flush()

    def alert_table(self, alerts: list[Alert]) -> pa.Table:
        """Alerts in the contract's columns, explained, ordered by start time and id."""
        return alert_table(self.model, self.provenance, alerts)


def alert_table(model: ModelBundle, provenance: Provenance, alerts: list[Alert]) -> pa.Table:
    """Alerts in the contract's columns, explained by `model`, ordered by start time and id."""
    if not alerts:
        return NO_ALERTS
    alerts = sorted(alerts, key=lambda a: (a.start_us, a.alert_id))
    texts, tops = _explain(model, alerts)
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
            pa.array([provenance.model_version] * n, pa.string()),
            pa.array([provenance.config_hash] * n, pa.string()),
            pa.array([provenance.input_hash] * n, pa.string()),
            pa.array([detector_label(a.known, a.novel) for a in alerts], pa.string()),
            pa.array([sorted(a.rule_hits) for a in alerts], pa.list_(pa.string())),
        ],
        schema=ALERT_SCHEMA,
    )


def _explain(model: ModelBundle, alerts: list[Alert]) -> tuple[list[str], list[str]]:
    keys = [a.key for a in alerts if a.key is not None]
    if not keys:
        return [], []
    rows = np.vstack([k.features for k in keys])
    contributions = model.detector.contributions(
        rows, exact=model.scoring.explanation == "treeshap"
    )
    k = model.scoring.top_features
    anomaly = model.anomaly
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
    sequence: SequenceOutput | None,
    hits: pa.ListArray,
) -> list[FlaggedEvent]:
    idx = np.flatnonzero(d.flagged)
    if len(idx) == 0:
        return []
    rows = events.select(["transaction_id", "timestamp", "trader_id", "instrument_id"]).take(
        pa.array(idx)
    )
    ts = pc.cast(rows.column("timestamp"), pa.int64()).to_pylist()
    names = d.predicted_names[idx].tolist()
    rule_hits = hits.take(pa.array(idx)).to_pylist()
    n = len(idx)
    ae = [None] * n if d.ae_score is None else d.ae_score[idx].tolist()
    novel = [False] * n if d.novel is None else d.novel[idx].tolist()
    usual = [None] * n if sequence is None else list(sequence.usual[idx])
    errors = [None] * n if sequence is None else list(sequence.errors[idx])
    return [
        FlaggedEvent(tx, t, trader, inst, kind, score, row, known, nov, xgb, ae_s, us, err, hit)
        for tx, t, trader, inst, kind, score, row, known, nov, xgb, ae_s, us, err, hit in zip(
            rows.column("transaction_id").to_pylist(),
            ts,
            rows.column("trader_id").to_pylist(),
            rows.column("instrument_id").to_pylist(),
            names,
            d.score[idx].tolist(),
            list(x[idx]),
            d.known[idx].tolist(),
            novel,
            d.xgb_score[idx].tolist(),
            ae,
            usual,
            errors,
            [tuple(h) for h in rule_hits],
            strict=True,
        )
    ]


def _now(events: pa.Table) -> dict[str, int]:
    """Each instrument's latest event time (µs) in the batch."""
    ts = pc.cast(events.column("timestamp"), pa.int64()).to_numpy()
    if events.num_rows <= SMALL_BATCH:  # a few events: without Arrow's dictionary encoding
        now: dict[str, int] = {}
        instruments = events.column("instrument_id").to_pylist()
        for instrument, t in zip(instruments, ts.tolist(), strict=True):
            now[instrument] = max(t, now.get(instrument, t))
        return now
    encoded = pc.dictionary_encode(events.column("instrument_id")).combine_chunks()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    latest = np.full(len(encoded.dictionary), np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(latest, codes, ts)
    return dict(zip(encoded.dictionary.to_pylist(), latest.tolist(), strict=True))
