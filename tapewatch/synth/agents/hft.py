"""High-frequency traders: small orders at the touch, cancelled within milliseconds; snipes."""

from __future__ import annotations

from functools import partial

from tapewatch.synth.book import BUY, NO_PRICE, SELL, Order
from tapewatch.synth.sim import Sim
from tapewatch.synth.universe import Account


class HftTrader:
    """One HFT account in one instrument: quotes at the touch briefly and chases the fair value."""

    def __init__(self, sim: Sim, acct: Account, rate: float) -> None:
        """Draw this account's speed and habits; ``rate`` is wake-ups per second."""
        r = sim.rand
        self.sim = sim
        self.acct = acct
        self.rate = rate
        self.life = r.loguniform(0.002, 0.3)
        self.size_mult = r.loguniform(0.2, 1.0)
        self.p_flicker = r.uniform(0.05, 0.3)
        self.flicker_len = r.randint(3, 12)
        self.snipe = sim.spec.half_spread * r.uniform(0.8, 2.0) + 0.5
        self.imb_trigger = r.uniform(0.35, 0.7)
        self.p_take = r.uniform(0.2, 0.6)
        self.p_react = r.uniform(0.2, 0.7)
        self.order: Order | None = None
        self.last_fv = float(sim.spec.p0)

    def start(self) -> None:
        """Schedule the first wake-up and listen for large orders."""
        self.sim.after(self.sim.rand.exp() / self.rate, self.wake)
        self.sim.reactors.append(self.react)

    def react(self) -> None:
        """A large order joined the book: maybe look again after our reaction time."""
        r = self.sim.rand
        if r.u() < self.p_react:
            self.sim.after(r.lognormal(self.acct.latency_s, 0.5), self._look)

    def _look(self) -> None:
        """Take liquidity if the book leans hard one way."""
        sim = self.sim
        imb = sim.imbalance()
        if abs(imb) > self.imb_trigger and sim.rand.u() < self.p_take * 1.5:
            side = BUY if imb > 0 else SELL
            price = sim.touch(SELL if side == BUY else BUY)
            if price > 0:
                self._take(side, price)

    def wake(self) -> None:
        """Snipe a stale quote, refresh the touch order, or flicker when the fair value moved."""
        sim = self.sim
        r = sim.rand
        sim.after(r.exp() / (self.rate * sim.rate_scale() * sim.vol_mult), self.wake)
        fv = sim.fair()
        moved = abs(fv - self.last_fv) >= 1.0
        self.last_fv = fv
        book = sim.book
        ask = book.best_ask()
        bid = book.best_bid()
        imb = sim.imbalance()
        if ask != NO_PRICE and (
            fv - ask > self.snipe or (imb > self.imb_trigger and r.u() < self.p_take)
        ):
            self._take(BUY, ask)
            return
        if bid != NO_PRICE and (
            bid - fv > self.snipe or (-imb > self.imb_trigger and r.u() < self.p_take)
        ):
            self._take(SELL, bid)
            return
        o = self.order
        if o is not None and o.resting:
            if o.price != sim.touch(o.side) or r.u() < 0.5:
                sim.cancel(o)
            return
        if moved and r.u() < self.p_flicker:
            self._flicker(r.randint(2, self.flicker_len))
            return
        self.order = self._post()
        if self.order.resting:
            sim.after(r.lognormal(self.life, 1.0), partial(self._expire, self.order))

    def _take(self, side: int, price: int) -> None:
        """Hit the other side's best level, after pulling our own resting order."""
        sim = self.sim
        own = self.order
        if own is not None and own.resting:
            sim.cancel(own)
        level = sim.book.level_size(SELL if side == BUY else BUY, price)
        if level > 0:
            sim.ioc(self.acct, side, price, min(level, self._qty() * sim.rand.randint(1, 3)))

    def _qty(self) -> int:
        return self.sim.size(self.size_mult, self.acct.round_pref)

    def _post(self) -> Order:
        sim = self.sim
        r = sim.rand
        lean = (sim.fair() - sim.mid()) / sim.spec.half_spread + sim.imbalance()
        side = BUY if r.u() < 0.5 + 0.3 * max(-1.0, min(1.0, lean)) else SELL
        bid = sim.book.best_bid()
        ask = sim.book.best_ask()
        improve = bid != NO_PRICE and ask != NO_PRICE and ask - bid >= 3 and r.u() < 0.3
        price = sim.passive_price(side, -1 if improve else 0)
        return sim.limit(self.acct, side, price, self._qty(), notify=False)

    def _expire(self, o: Order) -> None:
        if o.resting and self.sim.rand.u() < 0.8:
            self.sim.cancel(o)

    def _flicker(self, left: int) -> None:
        """Post and pull at the touch a few times in quick succession."""
        sim = self.sim
        r = sim.rand
        o = self._post()
        if o.resting:
            sim.after(r.loguniform(0.0003, 0.02), partial(sim.cancel, o))
        if left > 1:
            sim.after(r.loguniform(0.001, 0.08), partial(self._flicker, left - 1))
