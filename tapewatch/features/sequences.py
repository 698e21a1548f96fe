"""Per-key sequences for recurrent models: which events continue which key's history.

A recurrent model keeps a small state per trader-and-instrument key and advances it one
event at a time. Within a batch the events of one key depend on each other, those of
different keys do not, so a batch is cut into *segments*: runs of one key's events that
continue one history. A key idle longer than the eviction horizon starts afresh, exactly
as the feature engine's keys do, so the result never depends on batch sizes or on when
idle keys are evicted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
from numba import njit

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class SequenceOutput:
    """What a sequence model says of each event of a batch."""

    #: per event and model column, how badly the model reconstructs it (n x C)
    errors: F32
    #: per event and feature, the key's usual value before this event (n x F, NaN unknown)
    usual: F32


class SequenceModel(Protocol):
    """Per-key state advanced inside the feature engine, on the engine's key slots."""

    def advance(self, slots: I64, ts: F64, features: F32, idle_seconds: float) -> SequenceOutput:
        """Advance each event's key by that event (in order); what the model says of them."""
        ...

    def reset(self, slots: I64) -> None:
        """Forget these slots' keys (they were evicted)."""
        ...


@dataclass(frozen=True)
class Segments:
    """A batch cut into runs of one key's events that continue one history."""

    #: row indices grouped by segment, each segment's rows in event order
    rows: I64
    #: where each segment starts in `rows` (n_segments + 1 offsets)
    starts: I64
    #: each segment's key slot (-1: an event without a key, a segment of its own)
    slot: I64
    #: the segment starts from an empty state (a new key, or one idle too long)
    fresh: B
    #: the segment is its key's last in the batch, so its end state is kept
    keep: B

    @property
    def lengths(self) -> I64:
        """Events in each segment."""
        out: I64 = np.diff(self.starts)
        return out


class KeyClock:
    """Each slot's last event time, for deciding which events continue a history."""

    def __init__(self) -> None:
        self.last_ts = np.zeros(0, dtype=np.float64)
        self._open = np.zeros(0, dtype=np.int64)

    def ensure(self, capacity: int) -> None:
        """Grow to at least this many slots (by doubling); new slots have no history."""
        have = len(self.last_ts)
        if capacity <= have:
            return
        size = max(capacity, 2 * have, 64)
        self.last_ts = np.concatenate([self.last_ts, np.full(size - have, -np.inf)])
        self._open = np.concatenate([self._open, np.full(size - have, -1, dtype=np.int64)])

    def reset(self, slots: I64) -> None:
        """These slots have no history any more."""
        self.last_ts[slots[slots < len(self.last_ts)]] = -np.inf

    def segments(self, slots: I64, ts: F64, idle_seconds: float) -> Segments:
        """Cut a batch into segments and advance each slot's clock past it."""
        self.ensure(int(slots.max()) + 1 if len(slots) else 0)
        n = len(slots)
        seg = np.empty(n, dtype=np.int64)
        seg_slot = np.empty(n, dtype=np.int64)
        fresh = np.empty(n, dtype=bool)
        keep = np.empty(n, dtype=bool)
        n_seg = _cut(slots, ts, self.last_ts, self._open, idle_seconds, seg, seg_slot, fresh, keep)
        counts = np.bincount(seg, minlength=n_seg)
        starts = np.zeros(n_seg + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        rows = np.argsort(seg, kind="stable").astype(np.int64)
        return Segments(rows, starts, seg_slot[:n_seg], fresh[:n_seg], keep[:n_seg])


@njit(cache=True)
def _cut(
    slots: I64,
    ts: F64,
    last_ts: F64,
    open_seg: I64,
    idle_seconds: float,
    seg: I64,
    seg_slot: I64,
    fresh: B,
    keep: B,
) -> int:
    n_seg = 0
    for i in range(len(slots)):
        s = slots[i]
        if s < 0:
            seg[i] = n_seg
            seg_slot[n_seg] = -1
            fresh[n_seg] = True
            keep[n_seg] = False
            n_seg += 1
            continue
        current = open_seg[s]
        if current >= 0 and ts[i] - last_ts[s] <= idle_seconds:
            seg[i] = current
        else:
            if current >= 0:
                keep[current] = False
            seg[i] = n_seg
            seg_slot[n_seg] = s
            fresh[n_seg] = current >= 0 or not (ts[i] - last_ts[s] <= idle_seconds)
            keep[n_seg] = True
            open_seg[s] = n_seg
            n_seg += 1
        last_ts[s] = ts[i]
    for i in range(len(slots)):  # leave the scratch array empty for the next batch
        if slots[i] >= 0:
            open_seg[slots[i]] = -1
    return n_seg


class KeyedMean:
    """Each key's exponentially weighted mean of some values, skipping missing ones.

    With `span` K, each new value weighs 2 / (K + 1): roughly the mean of the last K.
    """

    def __init__(self, width: int, span: int) -> None:
        self.alpha = 2.0 / (span + 1.0)
        self.mean = np.zeros((0, width), dtype=np.float64)
        self.weight = np.zeros((0, width), dtype=np.float64)

    def ensure(self, capacity: int) -> None:
        """Grow to at least this many slots (by doubling)."""
        have = len(self.mean)
        if capacity <= have:
            return
        size = max(capacity, 2 * have, 64)
        grow = np.zeros((size - have, self.mean.shape[1]), dtype=np.float64)
        self.mean = np.concatenate([self.mean, grow])
        self.weight = np.concatenate([self.weight, grow])

    def update(self, segments: Segments, values: F32) -> F32:
        """Each row's key mean before the row (NaN where none yet, or for a row without a
        key); advance the means. NaN values are skipped."""
        self.ensure(int(segments.slot.max()) + 1 if len(segments.slot) else 0)
        out = np.empty(values.shape, dtype=np.float32)
        _keyed_mean(
            segments.rows, segments.starts, segments.slot, segments.fresh, segments.keep,
            values, self.mean, self.weight, self.alpha, out,
        )  # fmt: skip
        return out


@njit(cache=True)
def _keyed_mean(
    rows: I64,
    starts: I64,
    slot: I64,
    fresh: B,
    keep: B,
    values: F32,
    mean: F64,
    weight: F64,
    alpha: float,
    out: F32,
) -> None:
    width = values.shape[1]
    m = np.zeros(width)
    w = np.zeros(width)
    for j in range(len(starts) - 1):
        s = slot[j]
        for c in range(width):
            m[c] = 0.0 if fresh[j] else mean[s, c]
            w[c] = 0.0 if fresh[j] else weight[s, c]
        for k in range(starts[j], starts[j + 1]):
            r = rows[k]
            for c in range(width):
                out[r, c] = m[c] / w[c] if w[c] > 0 else np.nan
                v = values[r, c]
                if not np.isnan(v):
                    m[c] = (1 - alpha) * m[c] + alpha * v
                    w[c] = (1 - alpha) * w[c] + alpha
        if keep[j]:
            for c in range(width):
                mean[s, c] = m[c]
                weight[s, c] = w[c]
