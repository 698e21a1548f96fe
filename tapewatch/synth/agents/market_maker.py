"""Market makers: two-sided quotes on a few levels, re-priced as the fair value moves, re-sized,
refreshed and sometimes pulled all at once."""

from __future__ import annotations

import math
from functools import partial

from tapewatch.synth.book import BUY, NO_PRICE, SELL, Order
from tapewatch.synth.sim import US, Sim
from tapewatch.synth.universe import HFT, Account


class MarketMaker:
    """Quotes around the fair value, skewed by inventory and imbalance; may snipe stale quotes."""

    def __init__(self, sim: Sim, acct: Account, rate: float) -> None:
        """Draw this maker's quoting style; ``rate`` is its refresh wake-ups per second."""
        r = sim.rand
        hs = sim.spec.half_spread
        self.sim = sim
        self.acct = acct
        self.rate = rate * (2.0 if acct.flags & HFT else 1.0)
        self.levels = r.randint(1, 3)
        self.half = hs * r.uniform(0.7, 1.6)
        self.gap = max(1, round(hs * r.uniform(0.3, 1.0)))
        self.size_mult = r.loguniform(1.0, 4.0)
        self.threshold = max(0.8, hs * r.uniform(0.4, 0.9))
        self.p_modify = r.uniform(0.2, 0.8)
        self.p_refresh = r.uniform(0.3, 0.9)
        self.pos_limit = r.uniform(5.0, 40.0)
        self.imb_skew = hs * r.uniform(0.5, 2.5)
        self.p_pull = r.uniform(0.3, 0.9)
        self.p_react = r.uniform(0.1, 0.6)
        self.p_cross = r.uniform(0.5, 1.0)
        self.cross_min = r.randint(0, 2)
        self.step_s = acct.latency_s * 0.05
        self.snipe = hs * r.uniform(0.6, 1.5) + 0.5 if acct.flags & HFT else math.inf
        self.quotes: list[Order | None] = [None] * (2 * self.levels)
        self.paused_until = 0
        self.pending = False
        self.anchor_fv = math.inf
        self.anchor = math.inf

    def start(self) -> None:
        """Post the first quotes shortly after the open and start listening to the market."""
        sim = self.sim
        sim.after(sim.rand.loguniform(0.0005, 3.0), self.requote)
        sim.after(sim.rand.exp() / self.rate, self.wake)
        sim.reactors.append(self.react)
        sim.fair_listeners.append(self.on_fair)

    # ----------------------------------------------------------- triggers
    def on_fair(self) -> None:
        """The fair value moved: re-quote (after our latency) once it moved far enough."""
        if not self.pending and abs(self.sim.fair() - self.anchor_fv) >= self.threshold:
            self._soon(1.0)

    def react(self) -> None:
        """A large order joined the book: maybe re-quote after our reaction time."""
        if not self.pending and self.sim.rand.u() < self.p_react:
            self._soon(3.0)

    def _soon(self, slowness: float) -> None:
        self.pending = True
        self.sim.after(self.sim.rand.lognormal(self.acct.latency_s * slowness, 0.5), self.requote)

    def wake(self) -> None:
        """Routine wake-up: refresh a quote, manage inventory, follow the book's lean."""
        sim = self.sim
        r = sim.rand
        sim.after(r.exp() / (self.rate * sim.rate_scale() * sim.vol_mult), self.wake)
        if sim.now < self.paused_until:
            return
        pos = sim.position.get(self.acct.index, 0) / sim.spec.typical
        if abs(pos) > self.pos_limit and r.u() < 0.3:
            self._unwind(pos)
        if abs(self._center() - self.anchor) >= self.threshold:
            self.requote()
        elif r.u() < self.p_refresh:
            self._refresh(r.randint(0, len(self.quotes) - 1))

    # ------------------------------------------------------------ quoting
    def _center(self) -> float:
        sim = self.sim
        pos = sim.position.get(self.acct.index, 0) / sim.spec.typical
        skew = max(-1.5, min(1.5, pos / self.pos_limit)) * self.half
        return sim.fair() - skew + self.imb_skew * sim.imbalance()

    def requote(self) -> None:
        """Move the quotes that are no longer where they should be, one message at a time."""
        sim = self.sim
        r = sim.rand
        self.pending = False
        if sim.now < self.paused_until:
            return
        fv = sim.fair()
        center = self._center()
        up = center >= self.anchor if self.anchor < math.inf else True
        self.anchor_fv = fv
        self.anchor = center
        half = self.half * math.sqrt(sim.vol_mult)
        bid0 = math.floor(center - half)
        ask0 = max(math.ceil(center + half), bid0 + 1)
        delay = 0.0
        for side in (SELL, BUY) if up else (BUY, SELL):
            for k in range(self.levels):
                px = bid0 - k * self.gap if side == BUY else ask0 + k * self.gap
                i = side * self.levels + k
                o = self.quotes[i]
                if o is not None and o.resting and abs(o.price - px) <= (self.gap if k else 0):
                    continue
                sim.after(delay, partial(self._quote, i, side, px))
                delay += r.exp() * self.step_s
        if self.snipe < math.inf:
            sim.after(delay, partial(self._snipe, fv))

    def _quote(self, i: int, side: int, px: int) -> None:
        sim = self.sim
        o = self.quotes[i]
        if o is not None and o.resting:
            if o.price == px:
                return
            if sim.rand.u() < self.p_modify and sim.modify(o, px, o.qty):
                return
            sim.cancel(o)
            sim.after(sim.rand.exp() * self.step_s, partial(self._post, i, side, px))
            return
        self._post(i, side, px)

    def _refresh(self, i: int) -> None:
        """Re-size a quote in place, or cancel and replace it."""
        sim = self.sim
        o = self.quotes[i]
        if o is None or not o.resting:
            return
        a = self.acct
        if sim.rand.u() < 0.5:
            sim.modify(o, o.price, sim.size(self.size_mult, a.round_pref))
        else:
            sim.cancel(o)
            sim.after(sim.rand.exp() * self.step_s, partial(self._post, i, o.side, o.price))

    def _post(self, i: int, side: int, px: int) -> None:
        sim = self.sim
        a = self.acct
        other = sim.book.best_ask() if side == BUY else sim.book.best_bid()
        if other != NO_PRICE and (px >= other if side == BUY else px <= other):
            # The quote would cross: trade through stale quotes, or stay passive.
            through = px - other if side == BUY else other - px
            if sim.rand.u() >= self.p_cross or through < self.cross_min:
                px = other - 1 if side == BUY else other + 1
        if px < 1:
            return
        qty = sim.size(self.size_mult, a.round_pref)
        self.quotes[i] = sim.limit(a, side, px, qty, notify=False)

    def _unwind(self, pos: float) -> None:
        """Too much inventory: trade part of it away at the other side's touch."""
        sim = self.sim
        a = self.acct
        side = SELL if pos > 0 else BUY
        price = sim.touch(BUY if side == SELL else SELL)
        if price > 0:
            qty = int(abs(pos) * sim.spec.typical * sim.rand.uniform(0.1, 0.4)) + 1
            sim.ioc(a, side, price, qty)

    def _snipe(self, fv: float) -> None:
        """Take a stale quote of somebody else when the fair value has moved through it."""
        sim = self.sim
        a = self.acct
        book = sim.book
        ask = book.best_ask()
        if ask != NO_PRICE and fv - ask > self.snipe:
            front = book.queue(SELL, ask)[0]
            if front.trader != a.index:
                qty = min(front.qty, sim.size(self.size_mult, a.round_pref))
                sim.ioc(a, BUY, ask, qty)
        bid = book.best_bid()
        if bid != NO_PRICE and bid - fv > self.snipe:
            front = book.queue(BUY, bid)[0]
            if front.trader != a.index:
                qty = min(front.qty, sim.size(self.size_mult, a.round_pref))
                sim.ioc(a, SELL, bid, qty)

    def shock(self) -> None:
        """A burst of volatility or news: maybe pull every quote at once and pause."""
        sim = self.sim
        r = sim.rand
        if r.u() >= self.p_pull:
            return
        delay = r.loguniform(0.0002, 0.05)
        for o in self.quotes:
            if o is not None:
                sim.after(delay, partial(sim.cancel, o))
                delay += r.loguniform(0.00002, 0.003)
        self.paused_until = sim.now + int(r.loguniform(0.3, 12.0) * US)
        self.anchor_fv = math.inf
        sim.at(self.paused_until, self.requote)
