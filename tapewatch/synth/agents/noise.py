"""Noise traders: many accounts sending limit orders near the touch, some market orders, cancels."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from itertools import accumulate

from tapewatch.synth.book import BUY, SELL, Order
from tapewatch.synth.sim import Sim
from tapewatch.synth.universe import Account


class NoiseFlow:
    """Poisson arrivals of orders from a weighted pool of accounts, leaning with book pressure."""

    def __init__(
        self, sim: Sim, accounts: Sequence[Account], weights: Sequence[float], rate: float
    ) -> None:
        """Draw the instrument's noise-flow style; ``rate`` is orders per second."""
        r = sim.rand
        self.sim = sim
        self.accounts = tuple(accounts)
        self.cum = list(accumulate(weights))
        self.rate = rate
        self.p_market = r.uniform(0.03, 0.1)
        self.p_cross = r.uniform(0.05, 0.15)
        self.p_inside = r.uniform(0.05, 0.2)
        self.p_join = r.uniform(0.25, 0.45)
        self.depth = max(1.0, sim.spec.half_spread * r.uniform(0.8, 2.5))
        self.p_cancel = r.uniform(0.5, 0.8)
        self.life = r.loguniform(4.0, 60.0)
        self.p_reprice = r.uniform(0.05, 0.2)
        self.pressure = r.uniform(0.1, 0.3)
        self.take_pressure = r.uniform(0.5, 0.9)
        self.value = r.uniform(0.05, 0.25)

    def start(self) -> None:
        """Schedule the first arrival."""
        self.sim.after(self.sim.rand.exp() / self.rate, self.wake)

    def side(self, pressure: float) -> int:
        """Buy or sell, leaning with depth imbalance and towards the fair value."""
        sim = self.sim
        hs = sim.spec.half_spread
        lean = (sim.fair() - sim.mid()) / (2.0 * hs)
        lean = max(-1.0, min(1.0, lean))
        p_buy = 0.5 + pressure * sim.imbalance() + self.value * lean
        return BUY if sim.rand.u() < p_buy else SELL

    def wake(self) -> None:
        """One order from one noise account."""
        sim = self.sim
        r = sim.rand
        sim.after(r.exp() / (self.rate * sim.rate_scale()), self.wake)
        acct = self.accounts[r.pick_cum(self.cum)]
        qty = sim.size(r.lognormal(0.8, 0.5), acct.round_pref)
        u = r.u()
        if u < self.p_market + self.p_cross:
            # Takers read the book: they lean harder with its imbalance.
            side = self.side(self.take_pressure)
        else:
            side = self.side(self.pressure)
        if u < self.p_market:
            sim.market(acct, side, qty)
            return
        u -= self.p_market
        if u < self.p_cross:
            price = sim.through_price(side, r.randint(0, 2))
        elif u < self.p_cross + self.p_inside:
            price = sim.passive_price(side, -r.randint(1, 2))
        elif u < self.p_cross + self.p_inside + self.p_join:
            price = sim.passive_price(side, 0)
        else:
            price = sim.passive_price(side, 1 + int(r.exp() * self.depth))
        o = sim.limit(acct, side, price, qty)
        if o.resting:
            self.follow_up(o)

    def follow_up(self, o: Order) -> None:
        """Schedule a resting order's fate: a cancel, a partial cancel or a re-price."""
        sim = self.sim
        r = sim.rand
        u = r.u()
        if u < self.p_reprice:
            sim.after(r.lognormal(self.life * 0.3, 1.0), partial(self._reprice, o))
        elif u < self.p_reprice + self.p_cancel:
            sim.after(r.lognormal(self.life, 1.3), partial(self._cancel, o))

    def _cancel(self, o: Order) -> None:
        sim = self.sim
        if sim.rand.u() < 0.12 and o.qty > 1:
            sim.cancel(o, max(1, int(o.qty * sim.rand.uniform(0.2, 0.8))))
            sim.after(sim.rand.lognormal(self.life, 1.0), partial(sim.cancel, o))
        else:
            sim.cancel(o)

    def _reprice(self, o: Order) -> None:
        sim = self.sim
        if not o.resting:
            return
        price = sim.passive_price(o.side, 0)
        if price != o.price and sim.modify(o, price, o.qty):
            self.follow_up(o)
        else:
            sim.cancel(o)
