"""A clean-room simulated market day: a test market tapewatch's models never saw.

Written from the data contract (``docs/data-contract.md``, the Arrow schemas in
``tapewatch/schema``) and plain descriptions of the market and of the abuse typologies
only; never from ``tapewatch/synth`` (nor tapewatch's features or detectors), which were
neither read nor imported. Only ``LABELLED_EVENT_SCHEMA`` is imported, to cast the output.

The market
    A fixed universe of 14 instruments on several European venues (MICs), priced from
    about 2 to 2,000, each with its own tick size, lot size and activity (a few busy names,
    many slow ones). One continuous session (13:30 to 20:00 UTC by default) ending at the
    close. Each instrument has a price-time-priority limit order book with self-trade
    prevention (an aggressor meeting its own resting order has its residual cancelled).
    Some resting orders are carried over from earlier days (good-till-cancelled), so their
    fills and cancels have no ``NEW`` row in the file, which the contract allows.

    A latent value per instrument follows a random walk with calm / turbulent volatility
    regimes and rare news jumps. Activity follows a Cox process: an intraday shape (busy
    open, quiet midday, strong ramp into the close) times a random log-normal envelope,
    so flow comes in bursts.

Normal agents (accounts ``FIRM-nnnn`` of some 40 member firms, roles hidden in the ids)
    * market makers (algo, HFT): one quote per side each, re-centred on the mid skewed by
      visible depth imbalance, their inventory and a little toward value; they re-price by
      ``MODIFIED`` or cancel-and-replace and often pull quotes (high cancel ratios);
    * directional takers (prop and agency accounts, Zipf-distributed activity): mixing
      value, momentum and noise; marketable limit orders (mostly immediate-or-cancel, the
      residual cancelled), some resting residuals, some ``MARKET`` orders; heavy-tailed sizes;
    * slow investors: passive orders at or behind the touch, left for long, later cancelled
      (wholly or partly) or re-priced;
    * occasional block trades between two investors.

Abuse schemes (every row of the scheme's own orders is labelled, one ``scenario_id`` each)
    * SPOOFING: 1-3 large orders at or a few ticks behind the best on one side, a genuine
      order (aggressive or passive) on the other side, the large orders cancelled within
      milliseconds to seconds; sometimes repeated.
    * LAYERING: a ladder of 3-8 orders on consecutive or spaced ticks, a genuine trade on
      the other side, the ladder cancelled at once; one to three cycles.
    * WASH_TRADING: two or three colluding accounts cross with each other inside the spread,
      at similar size and price, passing the position round and back.
    * PUMP_AND_DUMP: one trader or a small group sweeps the ask for several minutes, then
      sells the position passively into the rise and by hitting bids.
    * QUOTE_STUFFING: bursts of tens to hundreds of small orders within a second or two,
      each cancelled within milliseconds.
    * MARKING_THE_CLOSE: in the last minutes, one to six aggressive clips sweeping one to
      three levels, the last just before the close.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import math
from collections import defaultdict, deque
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from tapewatch.schema.columns import LABELLED_EVENT_SCHEMA

BUY, SELL = 0, 1
NEW, MODIFIED, CANCELLED, EXECUTED = 0, 1, 2, 3
STATUS = ("NEW", "MODIFIED", "CANCELLED", "EXECUTED")
SIDES = ("BUY", "SELL")
LIMIT, MARKET = 0, 1
ORDER_TYPES = ("LIMIT", "MARKET")
TYPOLOGIES = (
    "NONE",
    "SPOOFING",
    "LAYERING",
    "WASH_TRADING",
    "PUMP_AND_DUMP",
    "QUOTE_STUFFING",
    "MARKING_THE_CLOSE",
)
US = 1_000_000
#: episodes of each typology in a 300,000-event day (scaled with the day's size)
EPISODES_PER_300K = {
    "SPOOFING": 30,
    "LAYERING": 24,
    "WASH_TRADING": 20,
    "PUMP_AND_DUMP": 8,
    "QUOTE_STUFFING": 14,
    "MARKING_THE_CLOSE": 8,
}
#: rows a normal action produces on average (measured), to size the day
ROWS_PER_ACTION = 1.55
UNIVERSE_SEED = 20_260_504

Step = Generator[int, None, None]


class Trader:
    __slots__ = ("algo", "hft", "tid")

    def __init__(self, tid: str, algo: bool, hft: bool) -> None:
        self.tid = tid
        self.algo = algo
        self.hft = hft


class Order:
    __slots__ = ("alive", "filled", "label", "oid", "otype", "qty", "side", "tick", "trader")

    def __init__(
        self, oid: str, trader: Trader, side: int, tick: int, qty: int, label: int, otype: int
    ) -> None:
        self.oid = oid
        self.trader = trader
        self.side = side
        self.tick = tick
        self.qty = qty
        self.label = label
        self.otype = otype
        self.filled = 0
        self.alive = True


@dataclass(frozen=True)
class Instrument:
    isin: str
    venue: str
    price: float
    tick_size: float
    lot: int
    activity: float
    half_spread: float  # market makers' base half spread, in ticks
    daily_vol: float


# ---------------------------------------------------------------------------- the book


class Book:
    """One instrument's limit order book, its event rows and its scheduler."""

    def __init__(self, index: int, inst: Instrument) -> None:
        self.inst = inst
        self.prefix = f"{inst.venue[1:]}{index:02d}-"
        self.seq = 0
        self.levels: tuple[dict[int, list[Any]], dict[int, list[Any]]] = ({}, {})
        self.ticks: tuple[list[int], list[int]] = ([], [])
        self.now = 0
        self.last_tick = -1
        self.pos: defaultdict[str, int] = defaultdict(int)
        self.heap: list[tuple[int, int, Step]] = []
        self.heap_seq = 0
        self.cols: list[list[Any]] = [[] for _ in range(15)]

    # -- scheduler
    def spawn(self, at: int, steps: Step) -> None:
        heapq.heappush(self.heap, (at, self.heap_seq, steps))
        self.heap_seq += 1

    # -- queries
    def best(self, side: int) -> int | None:
        ticks = self.ticks[side]
        if not ticks:
            return None
        return ticks[-1] if side == BUY else ticks[0]

    def level_size(self, side: int, tick: int) -> int:
        level = self.levels[side].get(tick)
        return 0 if level is None else level[1]

    def top_levels(self, side: int, k: int) -> list[int]:
        ticks = self.ticks[side]
        return ticks[::-1][:k] if side == BUY else ticks[:k]

    def depth(self, side: int, k: int) -> int:
        levels = self.levels[side]
        return sum(levels[t][1] for t in self.top_levels(side, k))

    # -- rows
    def _emit(self, o: Order, status: int, tick: int, qty: int, cp: str | None) -> None:
        c = self.cols
        bids, asks = self.ticks
        c[0].append(self.now)
        c[1].append(o.oid)
        c[2].append(status)
        c[3].append(o.trader)
        c[4].append(o.side)
        c[5].append(tick)
        c[6].append(qty)
        c[7].append(o.otype)
        c[8].append(cp)
        if bids:
            bt = bids[-1]
            c[9].append(bt)
            c[11].append(self.levels[BUY][bt][1])
        else:
            c[9].append(-1)
            c[11].append(-1)
        if asks:
            at = asks[0]
            c[10].append(at)
            c[12].append(self.levels[SELL][at][1])
        else:
            c[10].append(-1)
            c[12].append(-1)
        c[13].append(o.label)

    # -- book mechanics
    def _rest(self, o: Order) -> None:
        levels = self.levels[o.side]
        level = levels.get(o.tick)
        if level is None:
            level = [deque(), 0]
            levels[o.tick] = level
            bisect.insort(self.ticks[o.side], o.tick)
        level[0].append(o)
        level[1] += o.qty

    def _take(self, o: Order, q: int) -> None:
        """Take q off a resting order (and off its level)."""
        level = self.levels[o.side][o.tick]
        level[1] -= q
        o.qty -= q
        if o.qty <= 0:
            o.alive = False
        if level[1] <= 0:
            del self.levels[o.side][o.tick]
            ticks = self.ticks[o.side]
            del ticks[bisect.bisect_left(ticks, o.tick)]

    def _match(self, o: Order, limit: int | None) -> bool:
        """Fill an aggressor against the other side; True if stopped by its own order."""
        opp = 1 - o.side
        ticks = self.ticks[opp]
        levels = self.levels[opp]
        while o.qty > 0 and ticks:
            bt = ticks[0] if opp == SELL else ticks[-1]
            if limit is not None and (bt > limit if o.side == BUY else bt < limit):
                break
            queue = levels[bt][0]
            while not queue[0].alive:
                queue.popleft()
            p = queue[0]
            if p.trader is o.trader:
                return True
            q = min(o.qty, p.qty)
            self._emit(o, EXECUTED, bt, q, p.trader.tid)
            self._emit(p, EXECUTED, bt, q, o.trader.tid)
            o.qty -= q
            o.filled += q
            p.filled += q
            signed = q if o.side == BUY else -q
            self.pos[o.trader.tid] += signed
            self.pos[p.trader.tid] -= signed
            self._take(p, q)
            self.last_tick = bt
        return False

    def place(
        self,
        trader: Trader,
        side: int,
        tick: int | None,
        qty: int,
        label: int = 0,
        *,
        ioc: bool = False,
    ) -> Order:
        """A NEW order (tick None: a MARKET order), matched, then rested or cancelled."""
        self.seq += 1
        otype = MARKET if tick is None else LIMIT
        o = Order(f"{self.prefix}{self.seq:07d}", trader, side, tick or 0, qty, label, otype)
        self._emit(o, NEW, -1 if tick is None else tick, qty, None)
        stopped = self._match(o, tick)
        if o.qty > 0:
            if tick is None or ioc or stopped:
                price = tick if tick is not None else self._reference_tick(side)
                o.tick = price
                self._emit(o, CANCELLED, price, o.qty, None)
                o.qty = 0
                o.alive = False
            else:
                self._rest(o)
        else:
            o.alive = False
        return o

    def _reference_tick(self, side: int) -> int:
        for t in (self.last_tick, self.best(1 - side), self.best(side)):
            if t is not None and t > 0:
                return t
        return max(1, round(self.inst.price / self.inst.tick_size))

    def seed(self, o: Order) -> None:
        """A resting order carried over from an earlier day: no NEW row in this file."""
        self.seq += 1
        o.oid = f"{self.prefix}G{self.seq:06d}"
        self._rest(o)

    def cancel(self, o: Order, qty: int | None = None) -> None:
        if not o.alive:
            return
        q = o.qty if qty is None else max(1, min(qty, o.qty))
        self._emit(o, CANCELLED, o.tick, q, None)
        self._take(o, q)

    def passive_tick(self, side: int, tick: int) -> int:
        """The nearest tick to `tick` that does not cross the other side."""
        opp = self.best(1 - side)
        if side == BUY and opp is not None and tick >= opp:
            tick = opp - 1
        if side == SELL and opp is not None and tick <= opp:
            tick = opp + 1
        return max(1, tick)

    def modify(self, o: Order, tick: int, qty: int) -> Order:
        """MODIFIED: new open size (and maybe price); returns the live order."""
        if not o.alive:
            return o
        tick = self.passive_tick(o.side, tick)
        qty = max(1, qty)
        level = self.levels[o.side][o.tick]
        # the row shows the order's new state; the book before the event
        old_tick = o.tick
        o.tick = tick
        self._emit(o, MODIFIED, tick, qty, None)
        o.tick = old_tick
        if tick == o.tick and qty <= o.qty:
            level[1] -= o.qty - qty
            o.qty = qty
            return o
        self._take(o, o.qty)
        moved = Order(o.oid, o.trader, o.side, tick, qty, o.label, o.otype)
        moved.filled = o.filled
        self._rest(moved)
        return moved


# ------------------------------------------------------------------------- normal flow


class Flow:
    """The normal participants of one instrument."""

    def __init__(
        self,
        bk: Book,
        rng: np.random.Generator,
        makers: list[Trader],
        takers: list[Trader],
        taker_weights: np.ndarray,
        investors: list[Trader],
    ) -> None:
        inst = bk.inst
        self.bk = bk
        self.rng = rng
        self.inst = inst
        self.lot = inst.lot
        self.makers = makers
        self.maker_width = rng.uniform(0.9, 2.2, len(makers))
        self.maker_size = rng.integers(2, 12, len(makers))
        self.maker_modify = rng.uniform(0.2, 0.7, len(makers))
        self.maker_orders: list[list[Order | None]] = [[None, None] for _ in makers]
        self.takers = takers
        self.taker_cdf = np.cumsum(taker_weights) / np.sum(taker_weights)
        self.investors = investors
        self.inv_orders: list[Order] = []
        start = inst.price * math.exp(rng.normal(0, 0.01))
        self.logv = math.log(start / inst.tick_size)
        self.sigma = inst.daily_vol / math.sqrt(23_400)
        self.turbulent = False
        self.t_value = bk.now
        self.ema = self.logv
        self.t_ema = bk.now
        self.h0 = inst.half_spread
        share_mm = rng.uniform(0.48, 0.6)
        share_tk = rng.uniform(0.13, 0.2)
        share_in = rng.uniform(0.1, 0.14)
        self.cuts = np.cumsum([share_mm, share_tk, share_in, 0.0012])
        self.cuts /= self.cuts[-1] + rng.uniform(0.09, 0.12)

    # -- value and reference prices (in ticks)
    def value(self) -> float:
        now = self.bk.now
        dt_s = (now - self.t_value) / US
        if dt_s > 0:
            rng = self.rng
            if rng.random() < 1 - math.exp(-dt_s / (300 if self.turbulent else 1_200)):
                self.turbulent = not self.turbulent
            sig = self.sigma * (2.8 if self.turbulent else 1.0)
            self.logv += sig * math.sqrt(dt_s) * rng.standard_normal()
            if rng.random() < dt_s * 3 / 23_400:
                self.logv += rng.choice((-1.0, 1.0)) * rng.uniform(0.003, 0.012)
            self.t_value = now
        return math.exp(self.logv)

    def mid(self) -> float:
        b, a = self.bk.best(BUY), self.bk.best(SELL)
        if b is not None and a is not None:
            return (a + b) / 2
        if b is not None:
            return b + self.h0
        if a is not None:
            return a - self.h0
        return self.value()

    def momentum(self, mid: float) -> float:
        now = self.bk.now
        alpha = 1 - math.exp(-(now - self.t_ema) / (90 * US))
        self.ema += alpha * (mid - self.ema)
        self.t_ema = now
        return mid - self.ema

    def typical(self) -> int:
        return self.lot * int(self.rng.integers(1, 6))

    # -- dispatch
    def act(self, u: float) -> None:
        cuts = self.cuts
        if u < cuts[0]:
            self.maker()
        elif u < cuts[1]:
            self.taker()
        elif u < cuts[2]:
            self.investor_new()
        elif u < cuts[3]:
            self.bk.spawn(self.bk.now, self.block())
        else:
            self.investor_maintain()

    def maker(self) -> None:
        rng, bk = self.rng, self.bk
        k = int(rng.integers(len(self.makers)))
        mm = self.makers[k]
        mid = self.mid()
        b_depth, a_depth = bk.depth(BUY, 3), bk.depth(SELL, 3)
        imb = (b_depth - a_depth) / (b_depth + a_depth) if b_depth + a_depth else 0.0
        inv = bk.pos[mm.tid] / (self.lot * self.maker_size[k] * 6)
        ref = mid + 0.04 * (self.value() - mid) + 0.8 * self.h0 * imb - max(-2.0, min(2.0, inv))
        hs = self.h0 * self.maker_width[k] * (1.7 if self.turbulent else 1.0) + rng.random()
        side = int(rng.integers(2))
        target = math.floor(ref - hs) if side == BUY else math.ceil(ref + hs)
        target = bk.passive_tick(side, target)
        q = self.lot * int(self.maker_size[k]) * int(rng.integers(1, 4))
        orders = self.maker_orders[k]
        o = orders[side]
        if o is None or not o.alive:
            orders[side] = bk.place(mm, side, target, q)
        elif o.tick == target:
            if rng.random() < 0.5 and q != o.qty:
                orders[side] = bk.modify(o, target, q)
            else:
                bk.cancel(o)
                orders[side] = None
        elif rng.random() < self.maker_modify[k]:
            orders[side] = bk.modify(o, target, q)
        else:
            bk.cancel(o)
            orders[side] = bk.place(mm, side, target, q)

    def taker(self) -> None:
        rng, bk = self.rng, self.bk
        b, a = bk.best(BUY), bk.best(SELL)
        if b is None or a is None:
            self.investor_new()
            return
        pick = int(np.searchsorted(self.taker_cdf, rng.random()))
        trader = self.takers[min(pick, len(self.takers) - 1)]
        mid = (a + b) / 2
        scale = max(1.0, self.h0)
        z = 0.6 * (self.value() - mid) / scale + 0.5 * self.momentum(mid) / scale
        side = BUY if z + rng.normal() > 0 else SELL
        q = self.lot * min(80, int(rng.pareto(1.5) * 2) + 1)
        u = rng.random()
        if u < 0.1:
            q = min(q, bk.depth(1 - side, 8))
            if q > 0:
                bk.place(trader, side, None, q)
            return
        reach = int(rng.integers(0, 3))
        tick = a + reach if side == BUY else max(1, b - reach)
        bk.place(trader, side, tick, q, ioc=rng.random() < 0.65)

    def investor_new(self) -> None:
        rng, bk = self.rng, self.bk
        trader = self.investors[int(rng.integers(len(self.investors)))]
        mid = self.mid()
        side = BUY if rng.random() < 0.5 + 0.1 * math.tanh(self.value() - mid) else SELL
        best = bk.best(side)
        if best is None:
            best = math.floor(mid - self.h0) if side == BUY else math.ceil(mid + self.h0)
        back = int(rng.geometric(0.3)) - 1
        tick = best - back if side == BUY else best + back
        b, a = bk.best(BUY), bk.best(SELL)
        if b is not None and a is not None and a - b >= 2 and rng.random() < 0.1:
            tick = b + 1 if side == BUY else a - 1
        tick = bk.passive_tick(side, tick)
        q = self.lot * (int(rng.lognormal(2.0, 1.0)) + 1)
        self.inv_orders.append(bk.place(trader, side, tick, q))

    def investor_maintain(self) -> None:
        rng, bk = self.rng, self.bk
        orders = self.inv_orders
        while orders:
            i = int(rng.integers(len(orders)))
            o = orders[i]
            if o.alive:
                break
            orders[i] = orders[-1]
            orders.pop()
        else:
            self.investor_new()
            return
        u = rng.random()
        if u < 0.5:
            bk.cancel(o)
        elif u < 0.65:
            bk.cancel(o, int(o.qty * rng.uniform(0.2, 0.8)))
        else:
            best = bk.best(o.side)
            tick = o.tick if best is None else (o.tick + best) // 2 + (o.side == BUY)
            orders[i] = bk.modify(
                o, tick, max(self.lot, o.qty + self.lot * int(rng.integers(-3, 4)))
            )

    def block(self) -> Step:
        rng, bk = self.rng, self.bk
        i, j = rng.choice(len(self.investors), 2, replace=False)
        poster, crosser = self.investors[int(i)], self.investors[int(j)]
        side = int(rng.integers(2))
        b, a = bk.best(BUY), bk.best(SELL)
        if b is None or a is None:
            return
        tick = (b + 1 if side == BUY else a - 1) if a - b >= 2 else (b if side == BUY else a)
        q = self.lot * int(rng.integers(60, 400))
        o = bk.place(poster, side, tick, q)
        yield int(rng.integers(5_000, 2_000_000))
        if o.alive:
            ahead = sum(
                bk.level_size(side, t)
                for t in bk.top_levels(side, 50)
                if (t > o.tick if side == BUY else t < o.tick)
            )
            bk.place(crosser, 1 - side, o.tick, ahead + bk.level_size(side, o.tick), ioc=True)


# ------------------------------------------------------------------------ abuse schemes


def _aggressive(bk: Book, trader: Trader, side: int, qty: int, label: int) -> Order | None:
    """A marketable limit at the other side's best, immediate-or-cancel."""
    opp = bk.best(1 - side)
    if opp is None:
        return None
    return bk.place(trader, side, opp, qty, label, ioc=True)


def _behind(bk: Book, side: int, back: int) -> int:
    best = bk.best(side)
    if best is None:
        best = bk._reference_tick(side)
    return bk.passive_tick(side, best - back if side == BUY else best + back)


def spoofing(bk: Book, fl: Flow, rng: np.random.Generator, label: int, trader: Trader) -> Step:
    fake_side = int(rng.integers(2))
    for _cycle in range(1 + int(rng.random() < 0.3)):
        fakes = []
        for _ in range(int(rng.integers(1, 4))):
            back = int(rng.choice((0, 0, 1, 1, 2, 3)))
            q = fl.typical() * int(rng.integers(6, 30))
            fakes.append(bk.place(trader, fake_side, _behind(bk, fake_side, back), q, label))
            yield int(rng.choice((0, int(rng.integers(100, 300_000)))))
        yield int(rng.exponential(1_200_000)) + 30_000
        genuine_q = fl.typical() * int(rng.integers(1, 5))
        genuine = None
        if rng.random() < 0.65:
            _aggressive(bk, trader, 1 - fake_side, genuine_q, label)
        else:
            genuine = bk.place(
                trader, 1 - fake_side, _behind(bk, 1 - fake_side, 0), genuine_q, label
            )
            yield int(rng.exponential(1_500_000)) + 100_000
        yield int(rng.exponential(400_000))
        for o in fakes:
            bk.cancel(o)
            yield int(rng.choice((0, int(rng.integers(50, 40_000)))))
        if genuine is not None:
            bk.cancel(genuine)
        yield int(rng.integers(2, 30)) * US


def layering(bk: Book, fl: Flow, rng: np.random.Generator, label: int, trader: Trader) -> Step:
    side = int(rng.integers(2))
    n_levels = int(rng.integers(3, 9))
    step = int(rng.choice((1, 1, 1, 2)))
    grow = rng.random() < 0.5
    for _cycle in range(int(rng.integers(1, 4))):
        start = int(rng.integers(0, 2))
        base = fl.typical() * int(rng.integers(2, 8))
        ladder = []
        gap = int(rng.choice((0, 2_000, 60_000)))
        for i in range(n_levels):
            q = base * (1 + i // 2) if grow else base
            ladder.append(bk.place(trader, side, _behind(bk, side, start + i * step), q, label))
            yield int(rng.integers(0, gap + 1))
        yield int(rng.exponential(2_000_000)) + 200_000
        if rng.random() < 0.3:  # nudge the ladder toward the touch
            for j, o in enumerate(ladder):
                if o.alive:
                    ladder[j] = bk.modify(o, o.tick + (1 if side == BUY else -1), o.qty)
            yield int(rng.integers(10_000, 500_000))
        _aggressive(bk, trader, 1 - side, fl.typical() * int(rng.integers(1, 6)), label)
        yield int(rng.integers(0, 300_000))
        for o in ladder:
            bk.cancel(o)
            yield int(rng.integers(0, 3_000))
        yield int(rng.integers(5, 60)) * US


def wash_trading(
    bk: Book, fl: Flow, rng: np.random.Generator, label: int, accounts: list[Trader]
) -> Step:
    size = fl.lot * int(rng.integers(2, 40))
    m = len(accounts)
    mean_gap = rng.uniform(5, 60) * US
    for k in range(int(rng.integers(8, 30))):
        seller, buyer = accounts[k % m], accounts[(k + 1) % m]
        for _ in range(60):
            b, a = bk.best(BUY), bk.best(SELL)
            if b is not None and a is not None and a - b >= 2:
                break
            yield int(rng.integers(200_000, 3_000_000))
        else:
            continue
        tick = int(rng.integers(b + 1, a))
        q = max(fl.lot, size + fl.lot * int(rng.integers(-1, 2)))
        poster_side = int(rng.integers(2))
        poster, taker = (seller, buyer) if poster_side == SELL else (buyer, seller)
        o = bk.place(poster, poster_side, tick, q, label)
        yield int(rng.choice((0, int(rng.integers(1_000, 400_000)))))
        if o.alive:
            bk.place(taker, 1 - poster_side, o.tick, o.qty, label, ioc=True)
            bk.cancel(o)
        yield int(rng.exponential(mean_gap)) + 1_000_000


def pump_and_dump(
    bk: Book, fl: Flow, rng: np.random.Generator, label: int, group: list[Trader]
) -> Step:
    start = {t.tid: bk.pos[t.tid] for t in group}
    n_buys = int(rng.integers(12, 45))
    spacing = rng.uniform(3, 15) * 60 * US / n_buys
    resting = []
    for _ in range(n_buys):
        trader = group[int(rng.integers(len(group)))]
        levels = bk.top_levels(SELL, int(rng.integers(1, 4)))
        if levels:
            q = int(bk.depth(SELL, len(levels)) * rng.uniform(0.7, 1.3))
            q = max(fl.lot, q - q % fl.lot)
            ioc = rng.random() < 0.7
            resting.append(bk.place(trader, BUY, levels[-1], q, label, ioc=ioc))
        if rng.random() < 0.25:  # a supporting bid at the touch
            resting.append(bk.place(trader, BUY, _behind(bk, BUY, 0), fl.typical(), label))
        yield int(rng.exponential(spacing)) + 50_000
    yield int(rng.uniform(1, 30) * US)
    for o in resting:
        bk.cancel(o)
    passive_share = rng.uniform(0.3, 0.8)
    for trader in group:
        held = bk.pos[trader.tid] - start[trader.tid]
        clip_size = max(fl.lot, held // int(rng.integers(3, 10)))
        for _ in range(40):
            left = bk.pos[trader.tid] - start[trader.tid]
            if left <= 0:
                break
            clip = min(left, clip_size)
            if rng.random() < passive_share:
                o = bk.place(trader, SELL, _behind(bk, SELL, 0), clip, label)
                yield int(rng.uniform(1, 12) * US)
                bk.cancel(o)
            else:
                _aggressive(bk, trader, SELL, clip, label)
            yield int(rng.exponential(6 * US)) + 100_000


def quote_stuffing(
    bk: Book, fl: Flow, rng: np.random.Generator, label: int, trader: Trader
) -> Step:
    for _burst in range(int(rng.integers(1, 4))):
        n = int(rng.integers(25, 220))
        spacing = rng.uniform(0.15, 2.0) * US / n
        mode = int(rng.integers(3))
        max_off = int(rng.integers(1, 8))
        live: deque[tuple[int, Order]] = deque()
        for i in range(n):
            side = mode if mode < 2 else i % 2
            tick = _behind(bk, side, int(rng.integers(0, max_off)))
            o = bk.place(trader, side, tick, fl.lot * int(rng.integers(1, 4)), label)
            live.append((bk.now + int(rng.integers(100, 50_000)), o))
            yield int(rng.exponential(spacing))
            while live and live[0][0] <= bk.now:
                bk.cancel(live.popleft()[1])
        while live:
            due, o = live.popleft()
            yield max(0, due - bk.now)
            bk.cancel(o)
        yield int(rng.uniform(1, 20) * US)


def marking_the_close(
    bk: Book, fl: Flow, rng: np.random.Generator, label: int, trader: Trader, close_us: int
) -> Step:
    side = int(rng.integers(2))
    n = int(rng.integers(1, 7))
    for i in range(n):
        levels = bk.top_levels(1 - side, int(rng.integers(1, 4)))
        if levels:
            q = sum(bk.level_size(1 - side, t) for t in levels)
            if rng.random() < 0.2:
                bk.place(trader, side, None, q, label)
            else:
                bk.place(trader, side, levels[-1], q, label, ioc=rng.random() < 0.8)
        left = close_us - bk.now - 200_000
        if left <= 0:
            return
        yield int(left / (n - i) * rng.uniform(0.5, 1.0))


# ----------------------------------------------------------------------------- the day


def _universe() -> tuple[list[Instrument], dict[str, list[Trader]]]:
    rng = np.random.default_rng(UNIVERSE_SEED)
    venues = ("XPAR", "XETR", "XAMS", "XMIL", "XMAD", "XBRU")
    letters = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"))
    instruments = []
    for i in range(14):
        price = float(np.exp(rng.uniform(math.log(2), math.log(2_000))))
        tick = (
            0.002
            if price < 5
            else 0.01
            if price < 40
            else 0.05
            if price < 200
            else 0.1
            if price < 600
            else 0.5
        )
        lot = 500 if price < 5 else 100 if price < 40 else 10 if price < 300 else 1
        price = round(price / tick) * tick
        code = "".join(rng.choice(letters, 9))
        instruments.append(
            Instrument(
                isin=f"QX{code}{i % 10}",
                venue=venues[i % len(venues)],
                price=price,
                tick_size=tick,
                lot=lot,
                activity=float(rng.pareto(1.2) + 0.15),
                half_spread=float(rng.uniform(0.6, 3.0)),
                daily_vol=float(rng.uniform(0.01, 0.035)),
            )
        )
    firms = ["".join(rng.choice(letters[:24], 4)) for _ in range(40)]
    roles: dict[str, list[Trader]] = {"maker": [], "taker": [], "investor": []}
    seen: set[str] = set()
    for role, count in (("maker", 30), ("taker", 650), ("investor", 1_100)):
        for _ in range(count):
            while True:
                tid = f"{firms[int(rng.integers(40))]}-{int(rng.integers(10_000)):04d}"
                if tid not in seen:
                    break
            seen.add(tid)
            algo = (
                role == "maker" or (role == "taker" and rng.random() < 0.55) or rng.random() < 0.15
            )
            hft = role == "maker" or (role == "taker" and rng.random() < 0.08)
            roles[role].append(Trader(tid, bool(algo), bool(hft)))
    return instruments, roles


def _action_times(rng: np.random.Generator, n: int, open_us: int, close_us: int) -> np.ndarray:
    """Cox process: intraday shape times a random log-normal envelope, n sorted times."""
    secs = (close_us - open_us) // US
    x = np.arange(secs + 1) / secs
    shape = (
        1.0
        + 1.4 * np.exp(-x / 0.05)
        - 0.35 * np.exp(-(((x - 0.45) / 0.12) ** 2))
        + 2.5 * x**8
        + 1.5 * (x > 0.97)
    )
    coarse = np.zeros(secs // 30 + 2)
    phi = math.exp(-30 / 300)
    for i in range(1, len(coarse)):
        coarse[i] = phi * coarse[i - 1] + math.sqrt(1 - phi * phi) * 0.55 * rng.standard_normal()
    intensity = shape * np.exp(np.repeat(coarse, 30)[: secs + 1])
    cum = np.concatenate([[0.0], np.cumsum(intensity[:-1])])
    u = np.sort(rng.uniform(0, cum[-1], n))
    t = np.interp(u, cum, np.arange(secs + 1, dtype=float))
    times: np.ndarray = open_us + (t * US).astype(np.int64)
    return times


def _seed_book(bk: Book, fl: Flow, rng: np.random.Generator) -> None:
    centre = fl.value()
    h = max(1, round(fl.h0))
    for side in (BUY, SELL):
        for lvl in range(int(rng.integers(5, 12))):
            tick = math.floor(centre) - h - lvl if side == BUY else math.ceil(centre) + h + lvl
            for _ in range(int(rng.integers(1, 4))):
                trader = fl.investors[int(rng.integers(len(fl.investors)))]
                o = Order(
                    "",
                    trader,
                    side,
                    max(1, tick),
                    fl.lot * (int(rng.lognormal(2, 1)) + 1),
                    0,
                    LIMIT,
                )
                bk.seed(o)
                fl.inv_orders.append(o)


@dataclass
class _Scenarios:
    kinds: list[int]
    ids: list[str]

    def new(self, kind: str, date: dt.date) -> int:
        self.kinds.append(TYPOLOGIES.index(kind))
        self.ids.append(f"CR{date:%Y%m%d}-{len(self.ids):04d}-{kind[:4]}")
        return len(self.ids) - 1


def _schedule_abuse(
    books: list[Book],
    flows: list[Flow],
    roles: dict[str, list[Trader]],
    rng: np.random.Generator,
    n_events: int,
    scen: _Scenarios,
    date: dt.date,
    session: tuple[int, int],
) -> None:
    open_us, close_us = session
    act = np.array([b.inst.activity for b in books])
    w_any = np.sqrt(act) / np.sqrt(act).sum()
    w_thin = (1 / act) / (1 / act).sum()
    wide = np.array([b.inst.half_spread >= 1.3 for b in books]) * w_any
    w_wide = wide / wide.sum() if wide.sum() > 0 else w_any
    takers, investors, makers = roles["taker"], roles["investor"], roles["maker"]
    fast = [t for t in takers if t.algo] + makers

    def pick(pool: list[Trader], k: int = 1) -> list[Trader]:
        return [pool[int(i)] for i in rng.choice(len(pool), k, replace=False)]

    def when(lo_min: float, hi_min: float) -> int:
        return int(rng.uniform(open_us + lo_min * 60 * US, close_us - hi_min * 60 * US))

    makers_of: dict[str, Callable[[Book, Flow, int], Step]] = {
        "SPOOFING": lambda b, f, lab: spoofing(b, f, rng, lab, pick(fast)[0]),
        "LAYERING": lambda b, f, lab: layering(b, f, rng, lab, pick(fast)[0]),
        "WASH_TRADING": lambda b, f, lab: wash_trading(
            b, f, rng, lab, pick(takers + investors, int(rng.choice((2, 2, 3))))
        ),
        "PUMP_AND_DUMP": lambda b, f, lab: pump_and_dump(
            b, f, rng, lab, pick(takers + investors, int(rng.choice((1, 1, 2, 3))))
        ),
        "QUOTE_STUFFING": lambda b, f, lab: quote_stuffing(b, f, rng, lab, pick(fast)[0]),
        "MARKING_THE_CLOSE": lambda b, f, lab: marking_the_close(
            b, f, rng, lab, pick(takers + investors)[0], close_us
        ),
    }
    for kind, per in EPISODES_PER_300K.items():
        count = max(2, round(per * n_events / 300_000))
        weights = {"PUMP_AND_DUMP": w_thin, "WASH_TRADING": w_wide}.get(kind, w_any)
        for _ in range(count):
            i = int(rng.choice(len(books), p=weights))
            label = scen.new(kind, date)
            if kind == "MARKING_THE_CLOSE":
                at = close_us - int(rng.uniform(0.5, 10) * 60 * US)
            elif kind == "PUMP_AND_DUMP":
                at = when(15, 60)
            else:
                at = when(5, 10)
            books[i].spawn(at, makers_of[kind](books[i], flows[i], label))


def _run(bk: Book, fl: Flow, times: np.ndarray, kinds: np.ndarray, close_us: int) -> None:
    heap = bk.heap
    n = len(times)
    i = 0
    inf = close_us + 1
    while True:
        tn = int(times[i]) if i < n else inf
        if heap and heap[0][0] <= tn:
            t, _, steps = heapq.heappop(heap)
            if t >= close_us:
                continue
            bk.now = t
            delay = next(steps, None)
            if delay is not None:
                bk.spawn(t + max(0, int(delay)), steps)
        elif i < n:
            bk.now = tn
            fl.act(float(kinds[i]))
            i += 1
        else:
            break


def _to_us(date: dt.date, hhmm: tuple[int, int]) -> int:
    moment = dt.datetime(date.year, date.month, date.day, *hhmm, tzinfo=dt.UTC)
    return int(moment.timestamp()) * US


def generate_cleanroom_day(
    n_events: int,
    seed: int,
    date: dt.date = dt.date(2026, 5, 4),
    *,
    session_open: tuple[int, int] = (13, 30),
    session_close: tuple[int, int] = (20, 0),
) -> pa.Table:
    """One labelled day of about ``n_events`` events, in time order, deterministic per seed."""
    rng = np.random.default_rng(seed)
    instruments, roles = _universe()
    open_us, close_us = _to_us(date, session_open), _to_us(date, session_close)
    act = np.array([inst.activity for inst in instruments]) * rng.uniform(
        0.7, 1.4, len(instruments)
    )
    share = act / act.sum()
    n_actions = np.maximum(200, (n_events * 0.965 / ROWS_PER_ACTION * share).astype(int))
    takers = roles["taker"]
    taker_base = np.minimum(rng.pareto(1.1, len(takers)) + 0.05, 12.0)
    books, flows, plans = [], [], []
    for i, inst in enumerate(instruments):
        bk = Book(i, inst)
        bk.now = open_us
        mm_idx = rng.choice(len(roles["maker"]), int(rng.integers(2, 6)), replace=False)
        sub = rng.choice(len(takers), 260, replace=False)
        inv = rng.choice(len(roles["investor"]), 220, replace=False)
        fl = Flow(
            bk,
            rng,
            [roles["maker"][int(k)] for k in mm_idx],
            [takers[int(k)] for k in sub],
            taker_base[sub],
            [roles["investor"][int(k)] for k in inv],
        )
        _seed_book(bk, fl, rng)
        plans.append(
            (
                _action_times(rng, int(n_actions[i]), open_us, close_us),
                rng.random(int(n_actions[i])),
            )
        )
        books.append(bk)
        flows.append(fl)
    scen = _Scenarios([0], [""])
    _schedule_abuse(books, flows, roles, rng, n_events, scen, date, (open_us, close_us))
    for bk, fl, (times, kinds) in zip(books, flows, plans, strict=True):
        _run(bk, fl, times, kinds, close_us)
    return _assemble(books, scen, date)


def _assemble(books: list[Book], scen: _Scenarios, date: dt.date) -> pa.Table:
    parts: dict[str, list[np.ndarray]] = defaultdict(list)
    for bk in books:
        c = bk.cols
        n = len(c[0])
        ts = bk.inst.tick_size
        decimals = 6
        trader = c[3]
        parts["ts"].append(np.array(c[0], dtype=np.int64))
        parts["order_id"].append(np.array(c[1], dtype=object))
        parts["status"].append(np.array(c[2], dtype=np.int8))
        parts["trader_id"].append(np.array([t.tid for t in trader], dtype=object))
        parts["algo"].append(np.array([t.algo for t in trader], dtype=bool))
        parts["hft"].append(np.array([t.hft for t in trader], dtype=bool))
        parts["instrument_id"].append(np.full(n, bk.inst.isin, dtype=object))
        parts["venue"].append(np.full(n, bk.inst.venue, dtype=object))
        parts["side"].append(np.array(c[4], dtype=np.int8))
        for key, col in (("price", 5), ("bid_price", 9), ("ask_price", 10)):
            ticks = np.array(c[col], dtype=np.float64)
            parts[key].append(np.where(ticks > 0, np.round(ticks * ts, decimals), np.nan))
        parts["quantity"].append(np.array(c[6], dtype=np.float64))
        parts["otype"].append(np.array(c[7], dtype=np.int8))
        parts["cp"].append(np.array(c[8], dtype=object))
        for key, col, side_col in (("bid_size", 11, 9), ("ask_size", 12, 10)):
            size = np.array(c[col], dtype=np.float64)
            parts[key].append(np.where(np.array(c[side_col]) > 0, size, np.nan))
        parts["label"].append(np.array(c[13], dtype=np.int32))
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    order = np.argsort(cat["ts"], kind="stable")
    cat = {k: v[order] for k, v in cat.items()}
    n = len(order)
    kinds = np.array(scen.kinds, dtype=np.int32)[cat["label"]]
    scenario = np.array(scen.ids, dtype=object)[cat["label"]]
    scenario[kinds == 0] = None

    def floats(a: np.ndarray) -> pa.Array:
        return pa.array(a, type=pa.float64(), mask=np.isnan(a))

    def text(a: np.ndarray) -> pa.Array:
        return pa.array(a, type=pa.string())

    columns = {
        "transaction_id": text(
            np.array([f"T{date:%y%m%d}{i:09d}" for i in range(n)], dtype=object)
        ),
        "timestamp": pa.array(cat["ts"], type=pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        "order_id": text(cat["order_id"]),
        "order_status": text(np.array(STATUS, dtype=object)[cat["status"]]),
        "trader_id": text(cat["trader_id"]),
        "instrument_id": text(cat["instrument_id"]),
        "trading_venue": text(cat["venue"]),
        "side": text(np.array(SIDES, dtype=object)[cat["side"]]),
        "price": floats(cat["price"]),
        "quantity": pa.array(cat["quantity"], type=pa.float64()),
        "order_type": text(np.array(ORDER_TYPES, dtype=object)[cat["otype"]]),
        "counterparty_id": text(cat["cp"]),
        "is_algo_trade": pa.array(cat["algo"]),
        "is_hft": pa.array(cat["hft"]),
        "bid_price": floats(cat["bid_price"]),
        "ask_price": floats(cat["ask_price"]),
        "bid_size": floats(cat["bid_size"]),
        "ask_size": floats(cat["ask_size"]),
        "is_manipulation": pa.array(kinds > 0),
        "manipulation_type": text(np.asarray(np.array(TYPOLOGIES, dtype=object)[kinds])),
        "scenario_id": text(scenario),
    }
    table = pa.Table.from_pydict(columns)
    return table.select(LABELLED_EVENT_SCHEMA.names).cast(LABELLED_EVENT_SCHEMA)


if __name__ == "__main__":
    import sys
    import time

    n_arg = int(sys.argv[1]) if len(sys.argv) > 1 else 300_000
    seed_arg = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    began = time.perf_counter()
    day = generate_cleanroom_day(n_arg, seed_arg)
    took = time.perf_counter() - began
    print(f"{day.num_rows} events in {took:.1f} s")
    kinds_col = day.column("manipulation_type").to_pylist()
    sids = day.column("scenario_id").to_pylist()
    for kind in TYPOLOGIES:
        rows = [s for k, s in zip(kinds_col, sids, strict=True) if k == kind]
        print(f"{kind:18s} events {len(rows):7d} episodes {len({s for s in rows if s})}")
    abusive = sum(k != "NONE" for k in kinds_col)
    print(f"abusive share {abusive / day.num_rows:.2%}")
