"""Turn a contract events table into the numeric arrays the kernel reads."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from tapewatch.features.keys import SMALL_BATCH
from tapewatch.schema.columns import has_column, single_array

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]

STATUS_CODES = {"NEW": 0, "MODIFIED": 1, "CANCELLED": 2, "EXECUTED": 3}
KEY_SEPARATOR = "\x1f"
_SEPARATOR = pa.scalar(KEY_SEPARATOR)


@dataclass(frozen=True)
class EventArrays:
    """Columns of a batch of events as numpy arrays (keys still as Arrow strings)."""

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
    instrument_keys: pa.Array
    trader_keys: pa.Array
    order_keys: pa.Array
    pair_keys: pa.Array

    def __len__(self) -> int:
        return len(self.ts)


def encode_events(events: pa.Table, timezone: str) -> EventArrays:
    """Numeric columns and instrument-scoped key strings of a validated events table.

    Times are seconds since the epoch: `ts` in UTC, `local_ts` on the wall clock of `timezone`.
    """
    inst = _strings(events, "instrument_id")
    trader = _strings(events, "trader_id")
    cp = _strings(events, "counterparty_id")
    stamps = events.column("timestamp")
    ts_us = pc.cast(stamps, pa.int64()).to_numpy()
    local = pc.local_timestamp(pc.cast(stamps, pa.timestamp("us", tz=timezone)))
    local_us = pc.cast(local, pa.int64()).to_numpy()
    return EventArrays(
        ts=ts_us.astype(np.float64) / 1e6,
        local_ts=local_us.astype(np.float64) / 1e6,
        status=_codes(events, "order_status", STATUS_CODES),
        side=_codes(events, "side", {"BUY": 1, "SELL": -1}),
        price=_floats(events, "price"),
        qty=_floats(events, "quantity"),
        bid=_floats(events, "bid_price"),
        ask=_floats(events, "ask_price"),
        bid_size=_floats(events, "bid_size"),
        ask_size=_floats(events, "ask_size"),
        trader_hash=stable_hashes(trader),
        counterparty_hash=stable_hashes(cp),
        instrument_keys=inst,
        trader_keys=pc.binary_join_element_wise(inst, trader, _SEPARATOR),
        order_keys=pc.binary_join_element_wise(inst, _strings(events, "order_id"), _SEPARATOR),
        pair_keys=pc.binary_join_element_wise(inst, trader, cp, _SEPARATOR),
    )


def stable_hashes(values: pa.Array) -> I64:
    """A process-independent non-zero 63-bit hash per string; 0 for null."""
    if len(values) <= SMALL_BATCH:  # a few values: hashed one by one, without Arrow
        return np.array([0 if v is None else _hash(v) for v in values.to_pylist()], np.int64)
    encoded = pc.dictionary_encode(values)
    uniques = encoded.dictionary.to_pylist()
    table = np.fromiter((_hash(u) for u in uniques), dtype=np.int64, count=len(uniques))
    idx = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    if len(table) == 0:
        return np.zeros(len(idx), dtype=np.int64)
    out: I64 = table[np.maximum(idx, 0)]
    out[idx < 0] = 0
    return out


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
    column = events.column(name)
    if len(column) <= SMALL_BATCH:  # a few values: looked up one by one, without Arrow
        return np.array([codes[v] for v in column.to_pylist()], dtype=np.int8)
    encoded = pc.dictionary_encode(column.combine_chunks())
    lookup = np.array([codes[v] for v in encoded.dictionary.to_pylist()], dtype=np.int8)
    if len(lookup) == 0:
        return np.zeros(0, dtype=np.int8)
    coded: I8 = lookup[encoded.indices.to_numpy(zero_copy_only=False)]
    return coded
