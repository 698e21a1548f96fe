"""The matching engine against a naive reference book, driven by random order flow."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tapewatch.synth import recorder as R
from tapewatch.synth.book import BUY, NO_PRICE, SELL, Order
from tapewatch.synth.rng import Rand
from tapewatch.synth.sim import Sim
from tapewatch.synth.universe import Account, InstrumentSpec, Role

SPEC = InstrumentSpec(0, "XX0000000000", "XNAS", 0.01, 100, 100, 0.02, 1.0, 0.0, False, 1.0)


class RefBook:
    """The obvious book: a list of resting orders, matched by scanning for the best one."""

    def __init__(self) -> None:
        self.orders: dict[int, list[int]] = {}  # oid -> [side, price, qty, seq]
        self.seq = 0

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def match(
        self, side: int, limit: int | None, qty: int
    ) -> tuple[list[tuple[int, int, int]], int]:
        fills = []
        while qty > 0:
            best = None
            for oid, (s, p, q, seq) in self.orders.items():
                if s == side or q == 0:
                    continue
                if limit is not None and (p > limit if side == BUY else p < limit):
                    continue
                key = (p if side == BUY else -p, seq)
                if best is None or key < best[0]:
                    best = (key, oid)
            if best is None:
                break
            oid = best[1]
            o = self.orders[oid]
            q = min(qty, o[2])
            fills.append((oid, o[1], q))
            o[2] -= q
            qty -= q
            if o[2] == 0:
                del self.orders[oid]
        return fills, qty

    def add(self, oid: int, side: int, price: int, qty: int) -> list[tuple[int, int, int]]:
        fills, left = self.match(side, price, qty)
        if left:
            self.orders[oid] = [side, price, left, self._next()]
        return fills

    def top(self) -> tuple[int, int, int, int]:
        bids: dict[int, int] = defaultdict(int)
        asks: dict[int, int] = defaultdict(int)
        for s, p, q, _ in self.orders.values():
            (bids if s == BUY else asks)[p] += q
        b = max(bids) if bids else NO_PRICE
        a = min(asks) if asks else NO_PRICE
        return (b, bids.get(b, 0), a, asks.get(a, 0))


OPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("limit"),
            st.sampled_from([BUY, SELL]),
            st.integers(90, 110),
            st.integers(1, 400),
        ),
        st.tuples(
            st.just("market"), st.sampled_from([BUY, SELL]), st.integers(0, 0), st.integers(1, 600)
        ),
        st.tuples(
            st.just("cancel"), st.integers(0, 10_000), st.integers(0, 100), st.integers(0, 100)
        ),
        st.tuples(
            st.just("modify"), st.integers(0, 10_000), st.integers(90, 110), st.integers(1, 400)
        ),
    ),
    min_size=1,
    max_size=120,
)


ACCOUNTS = [Account(i, Role.NOISE, 0, 0.5, 0.1, stp=False) for i in range(8)]


def _sim() -> Sim:
    return Sim(SPEC, Rand(np.random.default_rng(0)), 3_600_000_000, 1000)


@settings(max_examples=150, deadline=None)
@given(OPS)
def test_book_matches_reference_and_keeps_invariants(ops: list[tuple[str, int, int, int]]) -> None:
    sim = _sim()
    ref = RefBook()
    live: list[Order] = []
    for step, (kind, a, b, c) in enumerate(ops):
        sim.now = step * 1000
        trader = ACCOUNTS[step % 7]
        n_before = len(sim.rec)
        if kind == "limit":
            o = sim.limit(trader, a, b, c)
            expected = ref.add(o.oid, a, b, c)
            live.append(o)
        elif kind == "market":
            o = sim.market(trader, a, c)
            expected, _ = ref.match(a, None, c)
        elif kind == "cancel":
            if not live:
                continue
            o = live[a % len(live)]
            qty = max(1, o.qty * b // 100) if o.qty else 1
            done = sim.cancel(o, qty)
            if o.oid in ref.orders:
                ref_o = ref.orders[o.oid]
                assert done == min(qty, ref_o[2])
                ref_o[2] -= done
                if ref_o[2] == 0:
                    del ref.orders[o.oid]
            else:
                assert done == 0
            expected = []
        else:
            if not live:
                continue
            o = live[a % len(live)]
            ok = sim.modify(o, b, c)
            if o.oid in ref.orders and ok:
                ref_o = ref.orders[o.oid]
                if b != ref_o[1] or c > ref_o[2]:
                    ref_o[3] = ref._next()  # loses time priority
                ref_o[1], ref_o[2] = b, c
            elif ok:
                raise AssertionError("modified an order that is not resting")
            expected = []
        rows = sim.rec.rows[n_before:]
        got = [(r[R.C_OID], r[R.C_PRICE], r[R.C_QTY]) for r in rows if r[R.C_STATUS] == R.EXECUTED][
            1::2
        ]
        assert got == expected, "fills must follow price-time priority"
        bid, _, ask, _ = sim.book.top()
        assert bid == NO_PRICE or ask == NO_PRICE or bid < ask, "book crossed after matching"
        assert sim.book.top() == ref.top()
    _check_rows(sim)


def _check_rows(sim: Sim) -> None:
    rows = sim.rec.rows
    # Every fill is two EXECUTED rows: same time, price and size, opposite sides, naming each other.
    i = 0
    while i < len(rows):
        r = rows[i]
        if r[R.C_STATUS] == R.EXECUTED:
            t = rows[i + 1]
            assert t[R.C_STATUS] == R.EXECUTED
            assert (t[R.C_TS], t[R.C_PRICE], t[R.C_QTY]) == (r[R.C_TS], r[R.C_PRICE], r[R.C_QTY])
            assert t[R.C_SIDE] != r[R.C_SIDE]
            assert t[R.C_CPTY] == r[R.C_TRADER]
            assert r[R.C_CPTY] == t[R.C_TRADER]
            assert t[R.C_BID] == r[R.C_BID]
            assert t[R.C_ASK] == r[R.C_ASK]
            i += 2
        else:
            i += 1
    # Quantities conserve: NEW (or the last MODIFIED) size = executions + cancels + open size.
    size: dict[int, int] = {}
    for r in rows:
        oid, status, qty = r[R.C_OID], r[R.C_STATUS], r[R.C_QTY]
        if status in (R.NEW, R.MODIFIED):
            size[oid] = qty
        else:
            size[oid] -= qty
            assert size[oid] >= 0
    open_now = {
        o.oid: o.qty
        for lv in (BUY, SELL)
        for p, _ in sim.book.levels(lv)
        for o in sim.book.queue(lv, p)
    }
    for oid, left in size.items():
        assert left == open_now.get(oid, 0)


def test_price_time_priority_simple() -> None:
    sim = _sim()
    first = sim.limit(ACCOUNTS[1], SELL, 101, 50)
    second = sim.limit(ACCOUNTS[2], SELL, 101, 50)
    better = sim.limit(ACCOUNTS[3], SELL, 100, 30)
    sim.limit(ACCOUNTS[4], BUY, 101, 60)
    assert better.qty == 0
    assert first.qty == 20
    assert second.qty == 50
    # A size decrease keeps priority, a size increase loses it.
    assert sim.modify(first, 101, 10)
    sim.market(ACCOUNTS[5], BUY, 5)
    assert first.qty == 5
    assert second.qty == 50
    assert sim.modify(first, 101, 40)
    sim.market(ACCOUNTS[5], BUY, 10)
    assert second.qty == 40
    assert first.qty == 40


def test_modify_never_crosses_and_market_rest_is_cancelled() -> None:
    sim = _sim()
    bid = sim.limit(ACCOUNTS[1], BUY, 99, 10)
    sim.limit(ACCOUNTS[2], SELL, 101, 10)
    assert not sim.modify(bid, 101, 10)
    assert bid.price == 99
    n = len(sim.rec)
    sim.market(ACCOUNTS[3], BUY, 25)
    statuses = [r[R.C_STATUS] for r in sim.rec.rows[n:]]
    assert statuses == [R.NEW, R.EXECUTED, R.EXECUTED, R.CANCELLED]
    assert sim.rec.rows[n][R.C_PRICE] == NO_PRICE
    assert sim.rec.rows[-1][R.C_QTY] == 15
    assert sim.rec.rows[-1][R.C_PRICE] > 0
