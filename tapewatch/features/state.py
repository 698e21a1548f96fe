"""The feature engine's state: fixed-width numeric arrays, one row per key slot.

Every key is scoped to one instrument (instrument, trader / order / trader pair), and its
state is O(1): decayed counters and small ring buffers. Rows are grown by doubling and
reset when their key is evicted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
A = TypeVar("A", I64, F64)

# Instrument state columns.
I_LAST_T = 0
I_MSG_1 = 1
I_MSG_10 = 2
I_MSG_60 = 3
I_VOL_10 = 4
I_VOL_300 = 5
I_VOL_600 = 6
I_LAST_TRADE_PX = 7
I_PRIOR_TRADE_PX = 8
I_LAST_TRADE_T = 9
I_EW_PX_60 = 10
I_EW_PX_1800 = 11
I_VWAP_NUM = 12
I_VWAP_DEN = 13
I_TICK = 14
I_LAST_PX = 15
I_MEAN_LOG_SIZE = 16
I_N_SIZE = 17
I_TRADE_POS = 18
# the last NEW order, and the last NEW order placed strictly inside the spread: who placed
# it (the low 52 bits of the trader's hash, exact in a float), its quantity and time, and
# the inside order's slot
I_NEW_WHO = 19
I_NEW_QTY = 20
I_NEW_T = 21
I_INSIDE_WHO = 22
I_INSIDE_QTY = 23
I_INSIDE_T = 24
I_INSIDE_ORDER = 25
N_INSTRUMENT = 26
TRADE_BUFFER = 256

# Trader-in-instrument state columns.
T_LAST_T = 0
T_INST = 1
T_RATE_1 = 2
T_RATE_10 = 3
T_RATE_60 = 4
T_NEW_60 = 5
T_CANCEL_60 = 6
T_NEWMOD_60 = 7
T_EXEC_60 = 8
T_NEW_QTY_60 = 9
T_CANCEL_QTY_60 = 10
T_CANCEL_LIFE_60 = 11
T_CANCEL_KNOWN_60 = 12
T_FAST_CANCEL_60 = 13
T_BUY_QTY_60 = 14
T_SELL_QTY_60 = 15
T_SIZE_MEAN = 16
T_SIZE_VAR = 17
T_SIZE_N = 18
T_OPEN_CNT_BUY = 19
T_OPEN_CNT_SELL = 20
T_OPEN_QTY_BUY = 21
T_OPEN_QTY_SELL = 22
T_LAST_FILL_BUY_T = 23
T_LAST_FILL_SELL_T = 24
T_CANCEL_AFTER_OPP_60 = 25
T_CANCEL_BURST_BUY = 26
T_CANCEL_BURST_SELL = 27
T_CANCEL_QTY_BUY = 28
T_CANCEL_QTY_SELL = 29
T_EXEC_SIGNED_600 = 30
T_EXEC_ABS_600 = 31
T_VOL_300 = 32
T_MSG_10 = 33
T_IMPACT_300 = 34
T_CP_POS = 35
T_AGGR_QTY_60 = 36
T_EXEC_QTY_60 = 37
T_AGGR_IMPACT_60 = 38
N_TRADER = 39
CP_BUFFER = 8
LEVELS = 16

# Order state columns.
O_LAST_T = 0
O_INST = 1
O_T_NEW = 2
O_SIDE = 3
O_PRICE = 4
O_OPEN_QTY = 5
O_N_MOD = 6
O_OPEN = 7
O_QTY_NEW = 8  # quantity when placed
O_INSIDE = 9  # 1 when placed strictly inside the spread
N_ORDER = 10

# Trader-pair state columns.
P_LAST_T = 0
P_INST = 1
P_COUNT_300 = 2
P_BOUGHT_300 = 3
P_SOLD_300 = 4
P_LAST_BOUGHT_T = 5  # the trader's last fill buying from this counterparty
P_LAST_SOLD_T = 6
P_LAST_BOUGHT_QTY = 7
P_LAST_SOLD_QTY = 8
N_PAIR = 9


def _initial(n: int, width: int) -> F64:
    rows = np.zeros((n, width), dtype=np.float64)
    rows[:, 0] = np.nan  # last_t: never seen
    return rows


@dataclass
class FeatureState:
    """All per-key arrays of the feature engine; picklable for checkpoints."""

    instruments: F64 = field(default_factory=lambda: _initial(0, N_INSTRUMENT))
    trade_seller: I64 = field(default_factory=lambda: np.zeros((0, TRADE_BUFFER), np.int64))
    trade_buyer: I64 = field(default_factory=lambda: np.zeros((0, TRADE_BUFFER), np.int64))
    trade_time: F64 = field(default_factory=lambda: np.full((0, TRADE_BUFFER), np.nan))
    traders: F64 = field(default_factory=lambda: _initial(0, N_TRADER))
    trader_cps: I64 = field(default_factory=lambda: np.zeros((0, CP_BUFFER), np.int64))
    level_price: F64 = field(default_factory=lambda: np.zeros((0, 2, LEVELS)))
    level_count: F64 = field(default_factory=lambda: np.zeros((0, 2, LEVELS)))
    orders: F64 = field(default_factory=lambda: _initial(0, N_ORDER))
    pairs: F64 = field(default_factory=lambda: _initial(0, N_PAIR))

    def ensure(self, n_instruments: int, n_traders: int, n_orders: int, n_pairs: int) -> None:
        """Grow the arrays (by doubling) to hold at least these many slots."""
        if n_instruments > len(self.instruments):
            size = _grown(len(self.instruments), n_instruments)
            self.instruments = _grow(self.instruments, size)
            self.trade_seller = _grow_plain(self.trade_seller, size, 0)
            self.trade_buyer = _grow_plain(self.trade_buyer, size, 0)
            self.trade_time = _grow_plain(self.trade_time, size, np.nan)
        if n_traders > len(self.traders):
            size = _grown(len(self.traders), n_traders)
            self.traders = _grow(self.traders, size)
            self.trader_cps = _grow_plain(self.trader_cps, size, 0)
            self.level_price = _grow_plain(self.level_price, size, 0.0)
            self.level_count = _grow_plain(self.level_count, size, 0.0)
        if n_orders > len(self.orders):
            self.orders = _grow(self.orders, _grown(len(self.orders), n_orders))
        if n_pairs > len(self.pairs):
            self.pairs = _grow(self.pairs, _grown(len(self.pairs), n_pairs))

    def reset_traders(self, slots: I64) -> None:
        """Forget the state of these trader slots."""
        self.traders[slots] = _initial(len(slots), N_TRADER)
        self.trader_cps[slots] = 0
        self.level_price[slots] = 0.0
        self.level_count[slots] = 0.0

    def reset_orders(self, slots: I64) -> None:
        """Forget the state of these order slots."""
        self.orders[slots] = _initial(len(slots), N_ORDER)

    def reset_pairs(self, slots: I64) -> None:
        """Forget the state of these pair slots."""
        self.pairs[slots] = _initial(len(slots), N_PAIR)

    def reset_instruments(self, slots: I64) -> None:
        """Forget the state of these instrument slots."""
        self.instruments[slots] = _initial(len(slots), N_INSTRUMENT)
        self.trade_seller[slots] = 0
        self.trade_buyer[slots] = 0
        self.trade_time[slots] = np.nan


def _grown(current: int, needed: int) -> int:
    size = max(current, 64)
    while size < needed:
        size *= 2
    return size


def _grow(rows: F64, size: int) -> F64:
    fresh = _initial(size, rows.shape[1])
    fresh[: len(rows)] = rows
    return fresh


def _grow_plain(rows: A, size: int, fill: float) -> A:
    fresh = np.full((size, *rows.shape[1:]), fill, dtype=rows.dtype)
    fresh[: len(rows)] = rows
    return fresh
