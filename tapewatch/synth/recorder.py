"""Columnar event buffer: one tuple of integers per row while simulating, a numpy array after."""

from __future__ import annotations

from itertools import chain

import numpy as np

from tapewatch.synth.book import Order, Top

NEW = 0
MODIFIED = 1
CANCELLED = 2
EXECUTED = 3
STATUS_NAMES = ("NEW", "MODIFIED", "CANCELLED", "EXECUTED")

# Column positions of a recorded row (all int64; -1 is "null" for prices and ids).
C_TS = 0
C_OID = 1
C_STATUS = 2
C_TRADER = 3
C_SIDE = 4
C_PRICE = 5
C_QTY = 6
C_OTYPE = 7
C_CPTY = 8
C_FLAGS = 9
C_BID = 10
C_ASK = 11
C_BIDSZ = 12
C_ASKSZ = 13
C_LABEL = 14
C_SCEN = 15
N_COLS = 16


class Recorder:
    """Append-only event buffer for one instrument; counts the unlabelled (normal) rows."""

    __slots__ = ("normal", "rows")

    def __init__(self) -> None:
        """Start empty."""
        self.rows: list[tuple[int, ...]] = []
        self.normal = 0

    def __len__(self) -> int:
        """Number of rows recorded."""
        return len(self.rows)

    def row(
        self, ts: int, o: Order, status: int, price: int, qty: int, cpty: int, top: Top
    ) -> None:
        """Record one event of order ``o`` with the top of book just before it."""
        self.rows.append(
            (ts, o.oid, status, o.trader, o.side, price, qty, o.otype, cpty, o.flags,
             top[0], top[2], top[1], top[3], o.label, o.scen)
        )  # fmt: skip
        if not o.label:
            self.normal += 1

    def to_array(self) -> np.ndarray:
        """All rows as an ``(n, N_COLS)`` int64 array."""
        n = len(self.rows)
        flat = np.fromiter(chain.from_iterable(self.rows), dtype=np.int64, count=n * N_COLS)
        return flat.reshape(n, N_COLS)
