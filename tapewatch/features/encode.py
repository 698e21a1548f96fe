"""Turn a contract events table into the numeric arrays the kernel reads."""

from __future__ import annotations

import datetime as dt
import hashlib
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from tapewatch.features.keys import SMALL_BATCH
from tapewatch.schema.columns import has_column, single_array

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]

#: key strings: an Arrow array, or for a few rows a list (null keys None)
KeyStrings: TypeAlias = pa.Array | list[str | None]
DAY_US = 86_400_000_000

#: each status's code in the feature kernel (and in the rules' status tables)
STATUS_CODES = {"NEW": 0, "MODIFIED": 1, "CANCELLED": 2, "EXECUTED": 3}
KEY_SEPARATOR = "\x1f"
_SEPARATOR = pa.scalar(KEY_SEPARATOR)


@dataclass(frozen=True)
class EventArrays:
    """Columns of a batch of events as numpy arrays (keys still as strings)."""

    ts: F64
    local_ts: F64
    status: I8
    side: I8
    price: F64
    qty: F64
    bid: F64
    ask: F64
    bid_size: F64
    ask_size: F64
    trader_hash: I64
    counterparty_hash: I64
    instrument_keys: KeyStrings
    trader_keys: KeyStrings
    order_keys: KeyStrings
    pair_keys: KeyStrings

    def __len__(self) -> int:
        return len(self.ts)


def encode_events(events: pa.Table, timezone: str) -> EventArrays:
    """Numeric columns and instrument-scoped key strings of a validated events table.

    Times are seconds since the epoch: `ts` in UTC, `local_ts` on the wall clock of `timezone`.
    """
    inst = _strings(events, "instrument_id")
    trader = _strings(events, "trader_id")
    cp = _strings(events, "counterparty_id")
    order = _strings(events, "order_id")
    ts_us = pc.cast(events.column("timestamp"), pa.int64()).to_numpy()
    if events.num_rows <= SMALL_BATCH:  # a few rows: keys joined in Python, not by Arrow
        i, t, c, o = inst.to_pylist(), trader.to_pylist(), cp.to_pylist(), order.to_pylist()
        sep = KEY_SEPARATOR
        keys: tuple[KeyStrings, ...] = (
            i,
            [f"{a}{sep}{b}" if b is not None else None for a, b in zip(i, t, strict=True)],
            [f"{a}{sep}{b}" for a, b in zip(i, o, strict=True)],
            [
                f"{a}{sep}{b}{sep}{d}" if b is not None and d is not None else None
                for a, b, d in zip(i, t, c, strict=True)
            ],
        )
        trader_hash, cp_hash = stable_hashes(t), stable_hashes(c)
    else:
        keys = (
            inst,
            pc.binary_join_element_wise(inst, trader, _SEPARATOR),
            pc.binary_join_element_wise(inst, order, _SEPARATOR),
            pc.binary_join_element_wise(inst, trader, cp, _SEPARATOR),
        )
        trader_hash, cp_hash = stable_hashes(trader), stable_hashes(cp)
    return EventArrays(
        ts=ts_us.astype(np.float64) / 1e6,
        local_ts=_local_us(events.column("timestamp"), ts_us, timezone).astype(np.float64) / 1e6,
        status=_codes(events, "order_status", STATUS_CODES),
        side=_codes(events, "side", {"BUY": 1, "SELL": -1}),
        price=_floats(events, "price"),
        qty=_floats(events, "quantity"),
        bid=_floats(events, "bid_price"),
        ask=_floats(events, "ask_price"),
        bid_size=_floats(events, "bid_size"),
        ask_size=_floats(events, "ask_size"),
        trader_hash=trader_hash,
        counterparty_hash=cp_hash,
        instrument_keys=keys[0],
        trader_keys=keys[1],
        order_keys=keys[2],
        pair_keys=keys[3],
    )


def _local_us(stamps: pa.ChunkedArray | pa.Array, ts_us: I64, timezone: str) -> I64:
    """Wall-clock microseconds in `timezone` of UTC microseconds `ts_us`."""
    if len(ts_us):
        zone = zoneinfo.ZoneInfo(timezone)
        low, high = int(ts_us.min()), int(ts_us.max())
        offsets = {
            dt.datetime.fromtimestamp(us // 1_000_000, zone).utcoffset() for us in (low, high)
        }
        # within a day, one offset at both ends means no change of offset between them
        if high - low < DAY_US and len(offsets) == 1:
            (offset,) = offsets
            if offset is not None:
                shifted: I64 = ts_us + offset // dt.timedelta(microseconds=1)
                return shifted
    local = pc.local_timestamp(pc.cast(stamps, pa.timestamp("us", tz=timezone)))
    converted: I64 = pc.cast(local, pa.int64()).to_numpy()
    return converted


def stable_hashes(values: pa.Array | list[str | None]) -> I64:
    """A process-independent non-zero 63-bit hash per string; 0 for null."""
    return map_distinct(values, _hash, np.int64, missing=0)


def map_distinct(
    values: pa.Array | pa.ChunkedArray | list[str | None],
    fn: Callable[[str], int],
    dtype: type[np.integer[Any]],
    missing: int,
) -> npt.NDArray[Any]:
    """`fn` of each string (`missing` for null), called once per distinct value: one by
    one for a few values (or values given as a list), through Arrow's dictionary encoding
    for more (a fixed cost a call, cheaper only past SMALL_BATCH)."""
    if isinstance(values, list) or len(values) <= SMALL_BATCH:
        cells = values if isinstance(values, list) else values.to_pylist()
        return np.array([missing if v is None else fn(v) for v in cells], dtype)
    if isinstance(values, pa.ChunkedArray):
        values = single_array(values)
    encoded = pc.dictionary_encode(values)
    table = np.array([*(fn(v) for v in encoded.dictionary.to_pylist()), missing], dtype)
    mapped: npt.NDArray[Any] = table[
        encoded.indices.fill_null(len(table) - 1).to_numpy(zero_copy_only=False)
    ]
    return mapped


def _hash(value: str) -> int:
    return (
        int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "little") >> 1
    ) or 1


def _column(events: pa.Table, name: str) -> pa.Array | None:
    """A column as one array; None when the table lacks it."""
    if not has_column(events, name):
        return None
    return single_array(events.column(name))


def _strings(events: pa.Table, name: str) -> pa.Array:
    column = _column(events, name)
    return pa.nulls(events.num_rows, pa.string()) if column is None else column


def _floats(events: pa.Table, name: str) -> F64:
    column = _column(events, name)
    if column is None:
        return np.full(events.num_rows, np.nan)
    if column.type != pa.float64():
        column = pc.cast(column, pa.float64())
    # always a writable copy: Arrow hands out a read-only view when the column has no
    # nulls and a copy when it has some, and numba compiles the kernel anew (seconds, on
    # the live path) for each mix of read-only and writable arguments it meets
    return np.array(column.to_numpy(zero_copy_only=False), dtype=np.float64)


def _codes(events: pa.Table, name: str, codes: dict[str, int]) -> I8:
    # every value is one of `codes` (the events are validated): -1 never shows
    coded: I8 = map_distinct(events.column(name), codes.__getitem__, np.int8, missing=-1)
    return coded
