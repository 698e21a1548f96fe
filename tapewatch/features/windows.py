"""Each trader-and-instrument key's last K feature vectors, for sequence models.

The buffer is per key and bounded (K rows), lives beside the feature engine's state and
is freed with the key's slot, so a stream and a whole-day batch see the same windows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from numba import njit

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


@dataclass
class SequenceBuffer:
    """Ring buffers of the last `length` rows of `columns` for every key slot.

    `transform` (for example a model's standardisation) is applied to each row once, as it
    enters, rather than to every window the row appears in.
    """

    length: int
    columns: tuple[int, ...]
    transform: Callable[[F32], F32] | None = None
    #: what stands in front of a short history (missing rows)
    pad: float = float("nan")
    rows: F32 = field(init=False)
    pushed: I64 = field(init=False)
    last_ts: F64 = field(init=False)

    def __post_init__(self) -> None:
        if self.length < 1:
            raise ValueError(f"window length must be >= 1, got {self.length}")
        self.rows = np.zeros((0, self.length, len(self.columns)), dtype=np.float32)
        self.pushed = np.zeros(0, dtype=np.int64)
        self.last_ts = np.zeros(0, dtype=np.float64)

    def ensure(self, capacity: int) -> None:
        """Grow to at least this many slots (by doubling)."""
        have = len(self.pushed)
        if capacity <= have:
            return
        size = max(capacity, 2 * have, 64)
        rows = np.zeros((size, self.length, len(self.columns)), dtype=np.float32)
        rows[:have] = self.rows
        pushed = np.zeros(size, dtype=np.int64)
        pushed[:have] = self.pushed
        last_ts = np.zeros(size, dtype=np.float64)
        last_ts[:have] = self.last_ts
        self.rows, self.pushed, self.last_ts = rows, pushed, last_ts

    def push(self, slots: I64, ts: F64, features: F32, idle_seconds: float) -> F32:
        """Append each row to its key's buffer; return each row's window (n x K x C).

        A window runs oldest to newest and ends with the row itself; a key with fewer than
        K rows so far has `pad` rows (missing values) in front, as has a row without a key.
        A key idle more than `idle_seconds` (event time) starts afresh, as the feature
        engine's keys do, so the windows do not depend on when idle keys are evicted.
        """
        self.ensure(int(slots.max()) + 1 if len(slots) else 0)
        values = np.ascontiguousarray(features[:, list(self.columns)], dtype=np.float32)
        if self.transform is not None:
            values = np.ascontiguousarray(self.transform(values), dtype=np.float32)
        out = np.empty((len(slots), self.length, len(self.columns)), dtype=np.float32)
        _push(slots, ts, values, self.rows, self.pushed, self.last_ts, idle_seconds, self.pad, out)
        return out

    def reset(self, slots: I64) -> None:
        """Forget the rows of these slots."""
        self.pushed[slots[slots < len(self.pushed)]] = 0


@njit(cache=True)
def _push(
    slots: I64,
    ts: F64,
    values: F32,
    rows: F32,
    pushed: I64,
    last_ts: F64,
    idle_seconds: float,
    pad: float,
    out: F32,
) -> None:
    length = rows.shape[1]
    width = rows.shape[2]
    for i in range(len(slots)):
        s = slots[i]
        if s < 0:
            for k in range(length - 1):
                for c in range(width):
                    out[i, k, c] = pad
            for c in range(width):
                out[i, length - 1, c] = values[i, c]
            continue
        count = pushed[s]
        if count > 0 and ts[i] - last_ts[s] > idle_seconds:
            count = 0
        last_ts[s] = ts[i]
        slot = count % length
        for c in range(width):
            rows[s, slot, c] = values[i, c]
        count += 1
        pushed[s] = count
        for k in range(length):
            j = count - length + k
            if j < 0:
                for c in range(width):
                    out[i, k, c] = pad
            else:
                src = j % length
                for c in range(width):
                    out[i, k, c] = rows[s, src, c]
