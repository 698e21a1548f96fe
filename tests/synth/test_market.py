"""The generated day: contract, determinism, a tape the book can replay, and sound labels."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tapewatch.schema.columns import LABELLED_EVENT_SCHEMA
from tapewatch.schema.enums import ManipulationType
from tapewatch.schema.raw import RawTable
from tapewatch.schema.validate import validate_events
from tapewatch.synth import AbuseMix, MarketConfig, generate_market, summarize
from tapewatch.synth.book import BUY, LIMIT, MARKET, NO_PRICE, SELL, Order, OrderBook

TYPES = [t for t in ManipulationType if t is not ManipulationType.NONE]


def _ipc_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())


def test_schema_sorted_and_inside_session(day: pa.Table, day_config: MarketConfig) -> None:
    assert day.schema.equals(LABELLED_EVENT_SCHEMA)
    ts = day.column("timestamp").cast(pa.int64()).to_numpy()
    assert np.all(np.diff(ts) >= 0)
    open_us = int(day_config.open_utc.timestamp() * 1e6)
    close_us = int(day_config.close_utc.timestamp() * 1e6)
    assert ts[0] >= open_us
    assert ts[-1] < close_us
    assert day_config.open_utc.hour == 14  # 09:30 New York is 14:30 UTC on 2026-03-02
    assert 0.93 * day_config.n_events <= day.num_rows <= 1.07 * day_config.n_events


def test_same_config_gives_byte_identical_table(
    small: pa.Table, small_config: MarketConfig
) -> None:
    again = generate_market(small_config)
    assert _ipc_bytes(again) == _ipc_bytes(small)
    other = generate_market(dataclasses.replace(small_config, seed=small_config.seed + 1))
    assert _ipc_bytes(other) != _ipc_bytes(small)


def test_process_pool_does_not_change_the_result(
    small: pa.Table, small_config: MarketConfig
) -> None:
    pooled = generate_market(small_config, workers=2)
    assert _ipc_bytes(pooled) == _ipc_bytes(small)


def test_progress_reports_growing_counts() -> None:
    seen: list[int] = []
    table = generate_market(MarketConfig(n_events=5_000, seed=1), progress=seen.append)
    assert seen == sorted(seen)
    assert seen[-1] == table.num_rows


def _ticks(x: float | None) -> int:
    return NO_PRICE if x is None else round(x * 10_000)


def test_tape_replays_through_the_book(small: pa.Table) -> None:
    """Feed each instrument's orders to a fresh book: the fills it makes are the tape's
    EXECUTED rows, and every row's bid/ask is the book just before that row."""
    cols = small.to_pydict()
    by_inst: dict[str, list[int]] = defaultdict(list)
    for i, inst in enumerate(cols["instrument_id"]):
        by_inst[inst].append(i)

    def top_of(i: int) -> tuple[int, int, int, int]:
        return (
            _ticks(cols["bid_price"][i]),
            int(cols["bid_size"][i] or 0),
            _ticks(cols["ask_price"][i]),
            int(cols["ask_size"][i] or 0),
        )

    for rows in by_inst.values():
        book = OrderBook()
        orders: dict[str, Order] = {}
        k = 0
        while k < len(rows):
            i = rows[k]
            status, oid = cols["order_status"][i], cols["order_id"][i]
            qty = int(cols["quantity"][i])
            assert top_of(i) == book.top(), f"row {i}: bid/ask differ from the book"
            k += 1
            if status == "NEW":
                side = BUY if cols["side"][i] == "BUY" else SELL
                market = cols["order_type"][i] == "MARKET"
                o = Order(
                    len(orders) + 1,
                    0,
                    side,
                    _ticks(cols["price"][i]),
                    qty,
                    otype=MARKET if market else LIMIT,
                )
                orders[oid] = o
                fills = book.market(o) if market else book.add(o)
                for f in fills:
                    a, p = rows[k], rows[k + 1]
                    assert cols["order_status"][a] == cols["order_status"][p] == "EXECUTED"
                    assert cols["order_id"][a] == oid
                    assert orders[cols["order_id"][p]] is f.passive
                    assert int(cols["quantity"][a]) == int(cols["quantity"][p]) == f.qty
                    assert _ticks(cols["price"][a]) == _ticks(cols["price"][p]) == f.price
                    assert top_of(a) == top_of(p) == f.top
                    k += 2
                if market and o.qty > 0:
                    c = rows[k]
                    assert cols["order_status"][c] == "CANCELLED"
                    assert int(cols["quantity"][c]) == o.qty
                    assert top_of(c) == book.top()
                    k += 1
            elif status == "MODIFIED":
                assert book.modify(orders[oid], _ticks(cols["price"][i]), qty)
            elif status == "CANCELLED":
                assert book.cancel(orders[oid], qty) == qty
            else:
                raise AssertionError(f"row {i}: an EXECUTED row that no order entry explains")


def test_fills_are_twin_rows(day: pa.Table) -> None:
    ex = day.filter(pc.equal(day.column("order_status"), "EXECUTED")).to_pydict()
    n = len(ex["order_id"])
    assert n % 2 == 0
    for i in range(0, n, 2):
        for col in ("timestamp", "price", "quantity", "instrument_id"):
            assert ex[col][i] == ex[col][i + 1]
        assert ex["side"][i] != ex["side"][i + 1]
        assert ex["counterparty_id"][i] == ex["trader_id"][i + 1]
        assert ex["counterparty_id"][i + 1] == ex["trader_id"][i]


def test_ids_unique_and_orders_coherent(day: pa.Table) -> None:
    tx = day.column("transaction_id")
    assert pc.count_distinct(tx).as_py() == day.num_rows
    d = day.select(
        ["order_id", "trader_id", "instrument_id", "side", "manipulation_type"]
    ).to_pydict()
    seen: dict[str, tuple[str, str, str, str]] = {}
    for oid, *rest in zip(*d.values(), strict=True):
        key = tuple(rest)
        assert seen.setdefault(oid, key) == key, "an order changed owner, instrument, side or label"


def test_labels_are_consistent(day: pa.Table) -> None:
    d = day.select(["is_manipulation", "manipulation_type", "scenario_id"]).to_pydict()
    kinds: dict[str, set[str]] = defaultdict(set)
    for flag, kind, scen in zip(*d.values(), strict=True):
        assert flag == (kind != "NONE")
        assert (scen is None) == (kind == "NONE")
        if scen is not None:
            kinds[scen].add(kind)
    assert kinds
    assert all(len(k) == 1 for k in kinds.values())


def test_typology_shares_follow_the_mix(day: pa.Table, day_config: MarketConfig) -> None:
    rows = {s.manipulation_type: s for s in summarize(day)}
    assert sum(s.events for s in rows.values()) == day.num_rows
    for t in TYPES:
        target = day_config.mix.share(t)
        share = rows[t].share
        assert target / 1.5 <= share <= target * 1.5, f"{t}: {share:.4f} vs {target}"
        assert rows[t].episodes >= 1
    assert 0.07 <= 1 - rows[ManipulationType.NONE].share <= 0.14


@pytest.mark.parametrize("off", TYPES)
def test_each_typology_can_be_turned_off(off: ManipulationType) -> None:
    mix = dataclasses.replace(AbuseMix(), **{off.value.lower(): 0.0})
    table = generate_market(MarketConfig(n_events=10_000, seed=5, mix=mix))
    kinds = set(table.column("manipulation_type").to_pylist())
    assert off.value not in kinds
    assert len(kinds) >= 4


def test_clean_market_has_no_labels() -> None:
    table = generate_market(MarketConfig(n_events=5_000, seed=2, mix=AbuseMix.off()))
    assert not pc.any(table.column("is_manipulation")).as_py()


def test_abusers_also_trade_normally(day: pa.Table) -> None:
    d = day.select(["trader_id", "is_manipulation"]).to_pydict()
    abusers = {t for t, m in zip(d["trader_id"], d["is_manipulation"], strict=True) if m}
    normal = {t for t, m in zip(d["trader_id"], d["is_manipulation"], strict=True) if not m}
    assert abusers
    assert abusers <= normal


def test_only_wash_trades_pair_an_episode_with_itself(day: pa.Table) -> None:
    ex = day.filter(pc.equal(day.column("order_status"), "EXECUTED")).to_pydict()
    wash_pairs = own_pairs = 0
    for i in range(0, len(ex["order_id"]), 2):
        s1, s2 = ex["scenario_id"][i], ex["scenario_id"][i + 1]
        kind = ex["manipulation_type"][i]
        if kind == "WASH_TRADING" or ex["manipulation_type"][i + 1] == "WASH_TRADING":
            wash_pairs += 1
        if s1 is not None and s1 == s2:
            own_pairs += 1
            assert kind == "WASH_TRADING"
    assert wash_pairs
    assert own_pairs >= 0.8 * wash_pairs


def test_summary_lists_every_typology(day: pa.Table) -> None:
    rows = summarize(day)
    assert [r.manipulation_type for r in rows] == list(ManipulationType)
    assert rows[0].episodes == 0
    assert abs(sum(r.share for r in rows) - 1.0) < 1e-9


@pytest.mark.parametrize(
    "bad",
    [
        {"n_events": 10},
        {"n_events": 10.5},
        {"seed": -1},
        {"date": dt.datetime(2026, 3, 2, 9, 30)},
        {"session_open": dt.time(16, 0), "session_close": dt.time(9, 30)},
        {"timezone": "Mars/Olympus"},
        {"venues": ()},
        {"venues": ("xnas",)},
        {"n_traders": 10},
        {"illiquid_share": 0.9},
    ],
)
def test_config_rejects_bad_values(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        MarketConfig(**bad)  # type: ignore[arg-type]


def test_mix_rejects_bad_shares() -> None:
    with pytest.raises(ValueError, match="spoofing"):
        AbuseMix(spoofing=-0.1)
    with pytest.raises(ValueError, match="add up"):
        AbuseMix(spoofing=0.6)


def test_config_scales_with_size() -> None:
    small, big = MarketConfig(n_events=20_000), MarketConfig(n_events=1_000_000)
    assert small.instrument_count == 4
    assert big.instrument_count == 66
    assert small.trader_count < big.trader_count
    # Scaled defaults follow n_events through dataclasses.replace too.
    assert dataclasses.replace(small, n_events=1_000_000).instrument_count == 66
    assert MarketConfig(n_instruments=7, n_traders=99).instrument_count == 7


def test_every_row_passes_contract_validation(day: pa.Table) -> None:
    result = validate_events(RawTable(day, 1, "row"))
    assert not result.bad
    assert result.good.num_rows == day.num_rows
