"""The feature engine: batch = stream, no look-ahead, partition by instrument, bounded state."""

from __future__ import annotations

import pickle

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kit import T0_US, random_events

from tapewatch.features.catalog import FEATURE_NAMES, N_FEATURES, TRADER_FEATURES, feature_index
from tapewatch.features.config import FeatureConfig
from tapewatch.features.engine import FeatureEngine, compute_features_table

EVENTS = random_events(3000, seed=1)
WHOLE = compute_features_table(EVENTS)


def test_one_row_per_event_with_every_feature() -> None:
    assert WHOLE.shape == (EVENTS.num_rows, N_FEATURES)
    assert N_FEATURES >= 30
    # every feature takes more than one value on varied input: none is a constant stub
    for j, name in enumerate(FEATURE_NAMES):
        if name in {"day_of_week", "in_session"}:  # one day, all in session
            continue
        if name == "matched_cross":  # random rows hold no prearranged cross: tested below
            continue
        col = WHOLE[:, j]
        assert len(np.unique(col[np.isfinite(col)])) > 1, name


def test_every_feature_of_every_row_is_written() -> None:
    engine = FeatureEngine()
    out = engine.transform(EVENTS.slice(0, 500))
    # np.empty leaves whatever was in memory: a cell the kernel skipped would differ
    assert np.array_equal(out, WHOLE[:500], equal_nan=True)
    np.testing.assert_array_equal(np.isnan(out).all(axis=0), np.zeros(N_FEATURES, dtype=bool))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=12))
def test_any_batch_split_gives_the_same_features(sizes: list[int]) -> None:
    engine = FeatureEngine()
    parts = []
    start = 0
    for size in sizes:
        parts.append(engine.transform(EVENTS.slice(start, size)))
        start += size
    parts.append(engine.transform(EVENTS.slice(start)))
    assert np.array_equal(np.vstack(parts), WHOLE, equal_nan=True)


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=1, max_value=2999), st.integers(min_value=0, max_value=10_000))
def test_changing_a_later_event_never_changes_an_earlier_feature(cut: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    later = EVENTS.slice(cut)
    index = later.schema.get_field_index("quantity")
    changed = later.set_column(
        index,
        later.schema.field(index),
        pa.array(rng.integers(1, 10_000, later.num_rows).astype(float)),
    )
    features = compute_features_table(pa.concat_tables([EVENTS.slice(0, cut), changed]))
    assert np.array_equal(features[:cut], WHOLE[:cut], equal_nan=True)


def test_partitioning_by_instrument_gives_the_single_process_result() -> None:
    rebuilt = np.full_like(WHOLE, np.nan)
    for inst in pc.unique(EVENTS.column("instrument_id")).to_pylist():
        rows = np.flatnonzero(
            pc.equal(EVENTS.column("instrument_id"), inst).to_numpy(zero_copy_only=False)
        )
        rebuilt[rows] = compute_features_table(EVENTS.take(pa.array(rows)))
    assert np.array_equal(rebuilt, WHOLE, equal_nan=True)


def test_state_survives_a_pickle_round_trip() -> None:
    engine = FeatureEngine()
    first = engine.transform(EVENTS.slice(0, 1500))
    restored = pickle.loads(pickle.dumps(engine))
    rest = restored.transform(EVENTS.slice(1500))
    assert np.array_equal(np.vstack([first, rest]), WHOLE, equal_nan=True)


def test_idle_keys_are_evicted_and_memory_stays_bounded() -> None:
    config = FeatureConfig(evict_idle_seconds=60.0, evict_order_idle_seconds=60.0)
    engine = FeatureEngine(config)
    # 20 waves of fresh traders, each wave 10 minutes after the previous one
    for wave in range(20):
        batch = random_events(500, seed=wave, n_traders=50, mean_gap_us=1000)
        shifted = pc.add(pc.cast(batch.column("timestamp"), pa.int64()), (wave * 600_000_000)).cast(
            pa.timestamp("us", tz="UTC")
        )
        batch = batch.set_column(1, "timestamp", shifted)
        traders = pc.binary_join_element_wise(batch.column("trader_id"), f"-w{wave}", "")
        batch = batch.set_column(batch.schema.get_field_index("trader_id"), "trader_id", traders)
        engine.transform(batch)
    # only the last wave's traders (3 instruments x 50) can still be live
    assert engine.n_keys["traders"] <= 150
    assert engine.traders.capacity <= 2 * 150 + 64


def test_eviction_does_not_change_features() -> None:
    config = FeatureConfig(evict_idle_seconds=5.0, evict_order_idle_seconds=5.0)
    whole = compute_features_table(EVENTS, config)
    engine = FeatureEngine(config)
    parts = [engine.transform(EVENTS.slice(i, 100)) for i in range(0, EVENTS.num_rows, 100)]
    distinct_orders = pc.count_distinct(EVENTS.column("order_id")).as_py()
    assert engine.orders.capacity < distinct_orders / 2  # idle orders' slots were reused
    assert np.array_equal(np.vstack(parts), whole, equal_nan=True)


def _table(rows: list[dict[str, object]]) -> pa.Table:
    base = random_events(1).to_pylist()[0]
    return pa.Table.from_pylist([{**base, **r} for r in rows], schema=random_events(1).schema)


def test_orders_no_longer_resting_are_forgotten_a_minute_after_their_last_event() -> None:
    t, s = T0_US, 1_000_000
    rows = [
        {"order_id": "filled", "order_status": "NEW", "timestamp": t},
        {"order_id": "filled", "order_status": "EXECUTED", "timestamp": t + s,
         "counterparty_id": "B"},
        {"order_id": "cancelled", "order_status": "NEW", "timestamp": t},
        {"order_id": "cancelled", "order_status": "CANCELLED", "timestamp": t + s},
        {"order_id": "resting", "order_status": "NEW", "timestamp": t},
        {"order_id": "cancelled", "order_status": "CANCELLED", "timestamp": t + 30 * s},
        {"order_id": "late", "order_status": "NEW", "timestamp": t + 92 * s},
        {"order_id": "filled", "order_status": "CANCELLED", "timestamp": t + 92 * s},
    ]  # fmt: skip
    base = {"instrument_id": "INST0", "trader_id": "A", "quantity": 100.0}
    table = _table([{"transaction_id": f"tx{i}", **base, **r} for i, r in enumerate(rows)])
    engine = FeatureEngine()
    features = engine.transform(table)
    age = features[:, feature_index("log_order_age")]
    assert age[5] == pytest.approx(np.log1p(30.0))  # closed 29 s before: still known
    assert np.isnan(age[7])  # closed 91 s before: forgotten, as if placed before the file
    engine.evict_idle()
    # "cancelled" was last seen 62 s ago; the resting order stays however long it rests
    assert sorted(engine.orders._slot_of) == [
        "INST0\x1ffilled",
        "INST0\x1flate",
        "INST0\x1fresting",
    ]
    whole = compute_features_table(table)
    split = FeatureEngine()
    parts = [split.transform(table.slice(i, 1)) for i in range(table.num_rows)]
    assert np.array_equal(np.vstack(parts), whole, equal_nan=True)


def test_self_trade_and_pair_round_trip() -> None:
    t = T0_US
    rows = [
        {"transaction_id": "a", "timestamp": t, "order_id": "1", "order_status": "EXECUTED",
         "trader_id": "A", "counterparty_id": "A", "side": "BUY", "quantity": 100.0},
        {"transaction_id": "b", "timestamp": t + 1_000_000, "order_id": "2", "order_status": "EXECUTED",
         "trader_id": "A", "counterparty_id": "B", "side": "BUY", "quantity": 100.0},
        {"transaction_id": "c", "timestamp": t + 2_000_000, "order_id": "3", "order_status": "EXECUTED",
         "trader_id": "A", "counterparty_id": "B", "side": "SELL", "quantity": 100.0},
    ]  # fmt: skip
    f = compute_features_table(_table(rows))
    assert f[0, feature_index("self_trade")] == 1.0
    assert f[1, feature_index("self_trade")] == 0.0
    assert f[1, feature_index("pair_round_trip")] == 0.0
    assert f[2, feature_index("pair_round_trip")] > 0.99  # bought 100 from B, sold ~100 back


def test_a_fill_reversing_the_pair_s_last_fill_is_marked() -> None:
    t = T0_US
    fills = [  # (seconds, counterparty, side, quantity)
        (0, "B", "BUY", 100.0),
        (6, "B", "SELL", 100.0),  # sells back to B what it bought from B 6 s before
        (7, "C", "SELL", 100.0),  # a first fill with C: nothing to reverse
        (30, "B", "BUY", 50.0),  # buys back half of what it last sold to B
    ]
    rows = [
        {"transaction_id": f"x{i}", "timestamp": t + s * 1_000_000, "order_id": f"o{i}",
         "order_status": "EXECUTED", "trader_id": "A", "counterparty_id": cp, "side": side,
         "quantity": q}
        for i, (s, cp, side, q) in enumerate(fills)
    ]  # fmt: skip
    f = compute_features_table(_table(rows))
    recency, match = (
        feature_index("pair_reversal_recency"),
        feature_index("pair_reversal_size_match"),
    )
    np.testing.assert_array_equal(
        f[:, recency], np.float32([0.0, np.exp(-6 / 300), 0.0, np.exp(-24 / 300)])
    )
    np.testing.assert_array_equal(f[:, match], np.float32([np.nan, 1.0, np.nan, 0.5]))


def _cross(
    t: int, tag: str, resting: tuple[str, float], taker: tuple[str, float], qty: float
) -> list[dict[str, object]]:
    """An order resting at resting[1] (in a 10.00 / 10.10 market) taken by `taker`, whose
    order of `qty` arrives 0.5 s later at taker[1], with both EXECUTED rows of the fill."""
    (rest_who, rest_px), (take_who, take_px) = resting, taker
    book = {"bid_price": 10.0, "ask_price": 10.1, "bid_size": 300.0, "ask_size": 300.0}
    late = t + 500_000
    return [
        {"transaction_id": f"{tag}0", "timestamp": t, "order_id": f"{tag}r", "order_status": "NEW",
         "trader_id": rest_who, "side": "BUY", "price": rest_px, "quantity": 400.0, **book},
        {"transaction_id": f"{tag}1", "timestamp": late, "order_id": f"{tag}t", "order_status": "NEW",
         "trader_id": take_who, "side": "SELL", "price": take_px, "quantity": qty,
         **book, "bid_price": rest_px},
        {"transaction_id": f"{tag}2", "timestamp": late, "order_id": f"{tag}t",
         "order_status": "EXECUTED", "trader_id": take_who, "counterparty_id": rest_who,
         "side": "SELL", "price": rest_px, "quantity": min(qty, 400.0), **book},
        {"transaction_id": f"{tag}3", "timestamp": late, "order_id": f"{tag}r",
         "order_status": "EXECUTED", "trader_id": rest_who, "counterparty_id": take_who,
         "side": "BUY", "price": rest_px, "quantity": min(qty, 400.0), **book},
    ]  # fmt: skip


def test_a_one_to_one_cross_of_an_order_placed_inside_the_spread_is_matched() -> None:
    us = 1_000_000
    rows = (
        _cross(T0_US, "a", ("A", 10.05), ("B", 10.05), 400.0)  # inside, one to one: matched
        + _cross(T0_US + 60 * us, "b", ("C", 10.0), ("D", 10.0), 400.0)  # joined the bid
        + _cross(T0_US + 120 * us, "c", ("E", 10.05), ("F", 10.05), 600.0)  # taker wants more
    )
    f = compute_features_table(_table(rows))[:, feature_index("matched_cross")]
    expected = np.float32(np.exp(-0.5 / 2.0))
    np.testing.assert_array_equal(f[0:4], np.float32([np.nan, np.nan, expected, expected]))
    np.testing.assert_array_equal(f[6:8], np.float32([0.0, 0.0]))
    np.testing.assert_array_equal(f[10:12], np.float32([0.0, 0.0]))


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([10.0, 10.05]), st.sampled_from([400.0, 600.0])),
        min_size=1,
        max_size=6,
    ),
    st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=5),
)
def test_matched_crosses_are_the_same_whatever_the_batches(
    crosses: list[tuple[float, float]], sizes: list[int]
) -> None:
    rows = []
    for k, (price, qty) in enumerate(crosses):
        rows += _cross(T0_US + k * 3_000_000, f"x{k}", ("A", price), ("B", price), qty)
    table = _table(rows)
    whole = compute_features_table(table)[:, feature_index("matched_cross")]
    engine, parts, start = FeatureEngine(), [], 0
    for size in sizes:
        parts.append(engine.transform(table.slice(start, size)))
        start += size
    parts.append(engine.transform(table.slice(start)))
    split = np.vstack(parts)[:, feature_index("matched_cross")]
    np.testing.assert_array_equal(split, whole)
    # matched exactly where the resting order improved the bid and the taker took it all
    fills = whole.reshape(-1, 4)[:, 2:]
    for (price, qty), got in zip(crosses, fills, strict=True):
        matched = price > 10.0 and qty == 400.0
        np.testing.assert_array_equal(got > 0, [matched, matched])


def test_aggressive_impact_counts_only_the_fills_the_trader_took() -> None:
    t = T0_US
    us = 1_000_000
    rows = [
        # someone else's trade at 100 sets the last price
        {"transaction_id": "p0", "timestamp": t, "order_id": "z", "order_status": "NEW",
         "trader_id": "Z", "side": "SELL", "price": 100.0},
        {"transaction_id": "p1", "timestamp": t, "order_id": "z", "order_status": "EXECUTED",
         "trader_id": "Z", "counterparty_id": "Y", "side": "SELL", "price": 100.0},
        # A buys on arrival at 101: it took liquidity and moved the price up 100 bp its way
        {"transaction_id": "a0", "timestamp": t + us, "order_id": "a", "order_status": "NEW",
         "trader_id": "A", "side": "BUY", "price": 101.0},
        {"transaction_id": "a1", "timestamp": t + us, "order_id": "a", "order_status": "EXECUTED",
         "trader_id": "A", "counterparty_id": "Y", "side": "BUY", "price": 101.0},
        # A's resting sell is lifted at 102 a second later: a passive fill, not A's push
        {"transaction_id": "b0", "timestamp": t + 2 * us, "order_id": "b", "order_status": "NEW",
         "trader_id": "A", "side": "SELL", "price": 102.0},
        {"transaction_id": "b1", "timestamp": t + 3 * us, "order_id": "b", "order_status": "EXECUTED",
         "trader_id": "A", "counterparty_id": "Y", "side": "SELL", "price": 102.0},
    ]  # fmt: skip
    f = compute_features_table(_table(rows))
    aggressive, overall = (
        feature_index("trader_aggressive_impact_bps"),
        feature_index("trader_price_impact_bps"),
    )
    assert f[3, aggressive] == np.float32(100.0)
    # two seconds of one-minute decay later, the passive fill left it as it was
    assert f[5, aggressive] == np.float32(100.0 * np.exp(-2 / 60))
    assert f[5, overall] < f[5, aggressive]  # the passive fill counts against A there


def test_three_party_cycle_is_detected() -> None:
    t = T0_US
    trades = [("A", "B"), ("B", "C"), ("C", "A")]  # seller → buyer
    rows = []
    for i, (seller, buyer) in enumerate(trades):
        ts = t + i * 1_000_000
        rows.append(
            {
                "transaction_id": f"s{i}",
                "timestamp": ts,
                "order_id": f"s{i}",
                "order_status": "EXECUTED",
                "trader_id": seller,
                "counterparty_id": buyer,
                "side": "SELL",
            }
        )
        rows.append({"transaction_id": f"b{i}", "timestamp": ts, "order_id": f"b{i}",
                     "order_status": "EXECUTED", "trader_id": buyer, "counterparty_id": seller,
                     "side": "BUY"})  # fmt: skip
    f = compute_features_table(_table(rows))
    cycle = f[:, feature_index("trade_cycle")]
    assert cycle[:4].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert cycle[4] == 1.0
    assert cycle[5] == 1.0


def test_cancel_right_after_an_opposite_fill_is_counted() -> None:
    t = T0_US
    rows = [
        {"transaction_id": "n", "timestamp": t, "order_id": "spoof", "order_status": "NEW",
         "trader_id": "S", "side": "BUY", "quantity": 5000.0, "counterparty_id": None},
        {"transaction_id": "f", "timestamp": t + 500_000, "order_id": "real", "order_status": "EXECUTED",
         "trader_id": "S", "counterparty_id": "X", "side": "SELL", "quantity": 100.0},
        {"transaction_id": "c", "timestamp": t + 800_000, "order_id": "spoof", "order_status": "CANCELLED",
         "trader_id": "S", "side": "BUY", "quantity": 5000.0, "counterparty_id": None},
    ]  # fmt: skip
    f = compute_features_table(_table(rows))
    assert f[2, feature_index("cancels_after_opposite_fill")] == 1.0
    assert f[2, feature_index("opposite_fill_recency")] > 0.7
    assert abs(f[2, feature_index("log_order_age")] - np.log1p(0.8)) < 1e-5
    assert f[0, feature_index("open_orders_same_side")] == 1.0
    assert f[2, feature_index("open_orders_same_side")] == 0.0


def test_rows_without_a_known_trader_get_trader_features_missing_and_nothing_else() -> None:
    ids = EVENTS.column("trader_id").to_numpy(zero_copy_only=False).astype(str)
    anonymised = EVENTS.set_column(
        EVENTS.schema.get_field_index("trader_id"),
        EVENTS.schema.field("trader_id"),
        pa.array(np.where(ids == ids[0], "UNKNOWN", ids)),
    )
    features = compute_features_table(anonymised)
    hidden = ids == ids[0]
    cps = EVENTS.column("counterparty_id").to_pylist()
    hidden |= np.array([cp == "UNKNOWN" for cp in cps])
    trader_cols = [feature_index(n) for n in TRADER_FEATURES]
    other_cols = [j for j in range(N_FEATURES) if j not in trader_cols]
    assert hidden.any()
    assert np.isnan(features[np.ix_(hidden, trader_cols)]).all()
    # market and order features are still there for those rows
    assert np.isfinite(features[np.ix_(hidden, [feature_index("spread_bps")])]).all()
    assert np.isfinite(features[np.ix_(~hidden, trader_cols)]).any()
    # order, market and time features never depend on who traded
    assert np.array_equal(features[:, other_cols], WHOLE[:, other_cols], equal_nan=True)


def test_trader_features_are_catalogued_features() -> None:
    assert set(FEATURE_NAMES) >= TRADER_FEATURES
