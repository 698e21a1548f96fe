"""The anomaly detector at scoring time: a recurrent autoencoder run by ONNX Runtime.

Each trader-and-instrument key keeps its LSTM encoder state (2 x 16 numbers) and advances
it by one step per event, so an event costs one encoder step and one small decoder, not a
re-encoding of its whole window. The graph takes a batch of *segments* (runs of one key's
events, `tapewatch.features.sequences`) padded to one length, with their start states,
and returns each real event's reconstruction error per feature and each segment's end
state.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from numba import njit

from tapewatch.features.sequences import KeyClock, KeyedMean, Segments, SequenceOutput

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]

ONNX_FILE = "autoencoder.onnx"
CALIBRATION_FILE = "autoencoder_calibration.npy"
SCALING_FILE = "autoencoder_scaling.npy"
FILES = (ONNX_FILE, CALIBRATION_FILE, SCALING_FILE)
#: the graph's inputs: padded segments (T x n x C), start states (1 x n x H), segment
#: lengths (n) and the flat positions (t * n + j) of the real events in the padded batch
INPUTS = ("segments", "h0", "c0", "lengths", "positions")
#: its outputs: error per real event and column (in `positions` order), end states
OUTPUTS = ("feature_error", "h1", "c1")
#: standardised values are clipped here, so one wild feature cannot dominate the error
CLIP = 12.0
#: padded events per ONNX Runtime call: small batches stay in cache on one core
RUN_EVENTS = 8192


@dataclass(frozen=True)
class AutoencoderConfig:
    """Shape and training of the recurrent LSTM autoencoder."""

    #: events per training sequence (truncated back-propagation), and the span of each
    #: key's usual values; at scoring time the state carries the key's whole history
    window: int = 16
    #: the LSTM state per key
    hidden: int = 16
    #: the code the decoder reconstructs each event from
    bottleneck: int = 16
    #: events the supervised screen scores below this are taken as likely normal
    normal_below: float = 0.3
    #: at most this many likely-normal events are reconstruction targets in training
    max_events: int = 120_000
    max_epochs: int = 30
    patience: int = 3
    #: training sequences per step
    batch_size: int = 64
    learning_rate: float = 3e-3
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("window", "hidden", "bottleneck", "max_events", "max_epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 < self.normal_below <= 1.0:
            raise ValueError(f"normal_below must be in (0, 1], got {self.normal_below}")


class AnomalyDetector:
    """Reconstruction error of each event in its key's context, per feature, and its
    calibrated score.

    `calibration` holds the sorted mean errors of held-out normal events, so a score is the
    share of normal events reconstructed better: 0.99 is more unusual than 99 % of normal.
    """

    def __init__(
        self,
        onnx_model: bytes,
        calibration: F64,
        columns: tuple[int, ...],
        scaling: F32,
        config: AutoencoderConfig,
    ) -> None:
        if len(calibration) == 0:
            raise ValueError("the calibration sample is empty")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(onnx_model, options, providers=["CPUExecutionProvider"])
        self.onnx_model = onnx_model
        self.calibration = np.sort(np.asarray(calibration, dtype=np.float64))
        self.columns = columns
        self.config = config
        if scaling.shape != (2, len(columns)):
            raise ValueError(f"scaling must be 2 x {len(columns)}, got {scaling.shape}")
        self.scaling = scaling.astype(np.float32)
        self._column_index = np.asarray(columns, dtype=np.int64)

    def state(self) -> AutoencoderState:
        """Empty per-key state, to run inside a feature engine (`FeatureEngine.sequences`)."""
        return AutoencoderState(self)

    def standardise(self, features: F32) -> F32:
        """The model's columns of feature rows (n x F) as the network reads them: signed
        log, centred and scaled (the graph clips); a missing value becomes 0, the
        feature's centre."""
        center, scale = self.scaling
        out = _magnitudes(features, self._column_index)
        # numpy's log1p runs in SIMD, a compiled loop calling it per value does not
        np.log1p(out, out=out)
        _signed_scaled(out, features, self._column_index, center, scale)
        return out

    def run(self, values: F32, segments: Segments, h: F32, c: F32) -> F32:
        """Errors (n x C) of standardised rows cut into segments; advances the kept
        segments' states in `h` and `c` (slots x H)."""
        errors = np.empty((len(values), len(self.columns)), dtype=np.float32)
        lengths = segments.lengths
        if len(lengths) == 0:
            return errors
        # every start state is read before any end state is written: a key's first segment
        # may run after a later one that restarts it (after a gap) and is the one kept
        carried = ~segments.fresh & (segments.slot >= 0)
        start = np.zeros((2, len(lengths), h.shape[1]), dtype=np.float32)
        start[0, carried] = h[segments.slot[carried]]
        start[1, carried] = c[segments.slot[carried]]
        if len(lengths) * int(lengths.max()) <= RUN_EVENTS:  # small: one call, padding and all
            self._run_padded(values, segments, np.arange(len(lengths)), start, h, c, errors)
            return errors
        # segments of similar length run together: padding costs at most 2x
        bucket = np.ceil(np.log2(lengths)).astype(np.int64)
        order = np.argsort(bucket, kind="stable")
        edges = np.flatnonzero(np.diff(bucket[order])) + 1
        for group in np.split(order, edges):
            longest = int(lengths[group].max())
            per_call = max(1, RUN_EVENTS // longest)
            for first in range(0, len(group), per_call):
                chosen = group[first : first + per_call]
                self._run_padded(values, segments, chosen, start[:, chosen], h, c, errors)
        return errors

    def _run_padded(
        self,
        values: F32,
        segments: Segments,
        chosen: I64,
        start: F32,
        h: F32,
        c: F32,
        errors: F32,
    ) -> None:
        padded, positions, lengths, rows = _padded(values, segments.rows, segments.starts, chosen)
        feature_error, h1, c1 = self.session.run(
            list(OUTPUTS),
            {
                "segments": padded,
                "h0": start[0:1],
                "c0": start[1:2],
                "lengths": lengths,
                "positions": positions,
            },
        )
        _scatter(feature_error, rows, errors, h1, c1, segments.slot, segments.keep, chosen, h, c)

    def score(self, feature_errors: F32) -> F64:
        """Calibrated score in [0, 1]: the share of held-out normal events with less error."""
        return self.calibrated(feature_errors.mean(axis=1, dtype=np.float64))

    def calibrated(self, mean_errors: F64) -> F64:
        """`score` of events given their errors already averaged over the columns."""
        rank = np.searchsorted(self.calibration, mean_errors, side="right")
        scores: F64 = rank / len(self.calibration)
        return scores

    def errors_of(
        self, slots: I64, ts: F64, features: F32, idle_seconds: float, batch_rows: int = 65_536
    ) -> F32:
        """Errors of a whole table's features with fresh state, given each row's key slot."""
        state = self.state()
        parts = [
            state.advance(
                slots[s : s + batch_rows], ts[s : s + batch_rows], features[s : s + batch_rows],
                idle_seconds,
            ).errors
            for s in range(0, len(features), batch_rows)
        ]  # fmt: skip
        return np.vstack(parts) if parts else np.empty((0, len(self.columns)), np.float32)

    def save(self, directory: Path) -> None:
        """Write the ONNX graph, the calibration sample and the standardisation."""
        (directory / ONNX_FILE).write_bytes(self.onnx_model)
        np.save(directory / CALIBRATION_FILE, self.calibration)
        np.save(directory / SCALING_FILE, self.scaling)

    @classmethod
    def load(
        cls, directory: Path, columns: tuple[int, ...], config: AutoencoderConfig
    ) -> AnomalyDetector:
        """Read what `save` wrote."""
        return cls(
            (directory / ONNX_FILE).read_bytes(),
            np.load(directory / CALIBRATION_FILE),
            columns,
            np.load(directory / SCALING_FILE),
            config,
        )


class AutoencoderState:
    """Each key's encoder state and usual feature values: a `SequenceModel`."""

    def __init__(self, detector: AnomalyDetector) -> None:
        self.detector = detector
        self.clock = KeyClock()
        self.usual: KeyedMean | None = None
        hidden = detector.config.hidden
        self.h = np.zeros((0, hidden), dtype=np.float32)
        self.c = np.zeros((0, hidden), dtype=np.float32)

    def advance(self, slots: I64, ts: F64, features: F32, idle_seconds: float) -> SequenceOutput:
        """Each event's reconstruction error and its key's usual values; advance the keys."""
        segments = self.clock.segments(slots, ts, idle_seconds)
        self._ensure(len(self.clock.last_ts))
        if self.usual is None:
            self.usual = KeyedMean(features.shape[1], self.detector.config.window)
        usual = self.usual.update(segments, features)
        detector = self.detector
        values = detector.standardise(features)
        return SequenceOutput(detector.run(values, segments, self.h, self.c), usual)

    def reset(self, slots: I64) -> None:
        """Forget these slots' keys: their next events start afresh."""
        self.clock.reset(slots)

    def __getstate__(self) -> dict[str, object]:
        # the detector (an ONNX Runtime session) is not state: `bind` it back after loading
        return {k: v for k, v in self.__dict__.items() if k != "detector"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)

    def bind(self, detector: AnomalyDetector) -> None:
        """Attach the detector this state belongs to (after unpickling)."""
        if detector.config.hidden != self.h.shape[1]:
            raise ValueError("this state was saved with another autoencoder")
        self.detector = detector

    def _ensure(self, capacity: int) -> None:
        have = len(self.h)
        if capacity > have:
            grow = np.zeros((capacity - have, self.h.shape[1]), dtype=np.float32)
            self.h = np.concatenate([self.h, grow])
            self.c = np.concatenate([self.c, grow])


@njit(cache=True)
def _magnitudes(features: F32, columns: I64) -> F32:
    out = np.empty((features.shape[0], len(columns)), dtype=np.float32)
    for i in range(features.shape[0]):
        for k in range(len(columns)):
            out[i, k] = abs(features[i, columns[k]])
    return out


@njit(cache=True)
def _signed_scaled(logs: F32, features: F32, columns: I64, center: F32, scale: F32) -> None:
    for i in range(features.shape[0]):
        for k in range(len(columns)):
            v = features[i, columns[k]]
            if np.isnan(v):
                logs[i, k] = 0.0
            else:
                logs[i, k] = (np.copysign(logs[i, k], v) - center[k]) / scale[k]


@njit(cache=True)
def _padded(values: F32, rows: I64, starts: I64, chosen: I64) -> tuple[F32, I64, I32, I64]:
    """The chosen segments' rows padded to the longest (T x n x C), the flat position
    (t * n + j) of each real event, the segments' lengths and each event's row."""
    n = len(chosen)
    lengths = np.empty(n, dtype=np.int32)
    for j in range(n):
        lengths[j] = starts[chosen[j] + 1] - starts[chosen[j]]
    total = int(lengths.sum())
    padded = np.zeros((int(lengths.max()), n, values.shape[1]), dtype=np.float32)
    positions = np.empty(total, dtype=np.int64)
    picked = np.empty(total, dtype=np.int64)
    e = 0
    for j in range(n):
        first = starts[chosen[j]]
        for step in range(lengths[j]):
            row = rows[first + step]
            padded[step, j, :] = values[row]
            positions[e] = step * n + j
            picked[e] = row
            e += 1
    return padded, positions, lengths, picked


@njit(cache=True)
def _scatter(
    feature_error: F32,
    rows: I64,
    errors: F32,
    h1: F32,
    c1: F32,
    slot: I64,
    keep: npt.NDArray[np.bool_],
    chosen: I64,
    h: F32,
    c: F32,
) -> None:
    """Each event's errors into its row; each kept segment's end state into its slot."""
    for e in range(len(rows)):
        errors[rows[e], :] = feature_error[e]
    for j in range(len(chosen)):
        s = slot[chosen[j]]
        if keep[chosen[j]] and s >= 0:
            h[s, :] = h1[0, j]
            c[s, :] = c1[0, j]
