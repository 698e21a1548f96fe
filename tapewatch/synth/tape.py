"""Merge the instruments' rows into one time-ordered contract table with ids that reveal nothing.

Transaction ids are sequential in the final time order; order ids are numbered in order of
first appearance in the merged file from a random base. Neither depends on who placed an
order or why.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tapewatch.schema.columns import LABELLED_EVENT_SCHEMA
from tapewatch.schema.enums import TYPOLOGIES, OrderType, Side
from tapewatch.synth import recorder as R
from tapewatch.synth.universe import Universe

_SIDES = pa.array([Side.BUY.value, Side.SELL.value])
_TYPES = pa.array([OrderType.LIMIT.value, OrderType.MARKET.value])
_STATUS = pa.array(list(R.STATUS_NAMES))
_LABELS = pa.array([t.value for t in TYPOLOGIES])


def _take(values: pa.Array, idx: np.ndarray) -> pa.Array:
    """``values[idx]``, null where ``idx`` is negative."""
    mask = idx < 0
    indices = pa.array(np.where(mask, 0, idx), mask=mask if mask.any() else None)
    return pc.take(values, indices)


def _prices(ticks: np.ndarray, tick: np.ndarray) -> pa.Array:
    mask = ticks < 0
    values = np.round(ticks * tick, 6)
    return pa.array(values, type=pa.float64(), mask=mask if mask.any() else None)


def _sizes(size: np.ndarray, price_ticks: np.ndarray) -> pa.Array:
    mask = price_ticks < 0
    return pa.array(size.astype(np.float64), type=pa.float64(), mask=mask if mask.any() else None)


def build_table(
    parts: Sequence[np.ndarray],
    universe: Universe,
    open_epoch_us: int,
    scenario_ids: Sequence[str],
    id_base: int,
    date_prefix: int,
) -> pa.Table:
    """One LABELLED_EVENT_SCHEMA table from the instruments' row arrays (index = instrument)."""
    lens = np.array([len(p) for p in parts], dtype=np.int64)
    rows = np.concatenate([p for p in parts]) if parts else np.zeros((0, R.N_COLS), dtype=np.int64)
    inst = np.repeat(np.arange(len(parts), dtype=np.int64), lens)
    order = np.argsort(rows[:, R.C_TS], kind="stable")
    rows = rows[order]
    inst = inst[order]
    n = len(rows)

    # Order ids: numbered by first appearance in the merged file.
    key = inst * (1 << 40) + rows[:, R.C_OID]
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first), dtype=np.int64)
    order_num = id_base + rank[inverse]
    tx_num = date_prefix * 10_000_000_000 + np.arange(1, n + 1, dtype=np.int64)

    specs = universe.instruments
    tick = np.array([s.tick for s in specs], dtype=np.float64)[inst]
    instrument_ids = pa.array([s.instrument_id for s in specs])
    venues = pa.array([s.venue for s in specs])
    traders = pa.array(list(universe.trader_ids))
    scen_ids = pa.array(list(scenario_ids), type=pa.string())
    flags = rows[:, R.C_FLAGS]
    label = rows[:, R.C_LABEL]
    inst_idx = pa.array(inst)

    columns = {
        "transaction_id": pc.cast(pa.array(tx_num), pa.string()),
        "timestamp": pa.array(open_epoch_us + rows[:, R.C_TS], type=pa.int64()).cast(
            LABELLED_EVENT_SCHEMA.field("timestamp").type
        ),
        "order_id": pc.cast(pa.array(order_num), pa.string()),
        "order_status": pc.take(_STATUS, pa.array(rows[:, R.C_STATUS])),
        "trader_id": pc.take(traders, pa.array(rows[:, R.C_TRADER])),
        "instrument_id": pc.take(instrument_ids, inst_idx),
        "trading_venue": pc.take(venues, inst_idx),
        "side": pc.take(_SIDES, pa.array(rows[:, R.C_SIDE])),
        "price": _prices(rows[:, R.C_PRICE], tick),
        "quantity": pa.array(rows[:, R.C_QTY].astype(np.float64)),
        "order_type": pc.take(_TYPES, pa.array(rows[:, R.C_OTYPE])),
        "counterparty_id": _take(traders, rows[:, R.C_CPTY]),
        "is_algo_trade": pa.array((flags & 1).astype(bool)),
        "is_hft": pa.array((flags & 2).astype(bool)),
        "bid_price": _prices(rows[:, R.C_BID], tick),
        "ask_price": _prices(rows[:, R.C_ASK], tick),
        "bid_size": _sizes(rows[:, R.C_BIDSZ], rows[:, R.C_BID]),
        "ask_size": _sizes(rows[:, R.C_ASKSZ], rows[:, R.C_ASK]),
        "is_manipulation": pa.array(label > 0),
        "manipulation_type": pc.take(_LABELS, pa.array(label)),
        "scenario_id": _take(scen_ids, rows[:, R.C_SCEN]),
    }
    arrays = [columns[f.name].cast(f.type) for f in LABELLED_EVENT_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=LABELLED_EVENT_SCHEMA)
