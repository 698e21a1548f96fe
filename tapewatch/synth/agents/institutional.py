"""Institutional parent orders worked by an algorithm, and each desk's usual liquidity provider."""

from __future__ import annotations

from functools import partial

from tapewatch.synth.book import BUY, SELL, Order
from tapewatch.synth.sim import US, Sim
from tapewatch.synth.universe import Account


class ParentOrder:
    """A large order sliced into child orders over minutes (passive first, crossing when behind)."""

    def __init__(
        self, sim: Sim, desk: Account, lp: Account | None, side: int, start_us: int
    ) -> None:
        """Draw the parent's size, horizon and slicing; it starts at ``start_us``."""
        r = sim.rand
        self.sim = sim
        self.desk = desk
        self.lp = lp
        self.side = side
        self.total = sim.size(r.loguniform(15.0, 120.0), desk.round_pref)
        self.start_us = start_us
        duration = r.loguniform(300.0, 5400.0)
        self.end_us = min(start_us + int(duration * US), sim.end - int(r.uniform(5.0, 60.0) * US))
        self.n_children = r.randint(10, 60)
        self.p_cross = r.uniform(0.1, 0.4)
        self.p_lp = r.uniform(0.2, 0.7) if lp is not None else 0.0
        self.done = 0
        self.child: Order | None = None

    def start(self) -> None:
        """Schedule the first child."""
        self.sim.at(self.start_us, self.slice)

    def slice(self) -> None:
        """Send the next child order, sized and priced by how far behind schedule the parent is."""
        sim = self.sim
        r = sim.rand
        d = self.desk
        c = self.child
        if c is not None:
            self.done += c.filled
            if c.resting:
                sim.cancel(c)
            self.child = None
        left = self.total - self.done
        span = max(1, self.end_us - self.start_us)
        if left <= 0 or sim.now >= self.end_us:
            return
        elapsed = (sim.now - self.start_us) / span
        behind = elapsed * self.total - self.done > 0.15 * self.total
        qty = min(
            left, max(1, sim.size(self.total / self.n_children / sim.spec.typical, d.round_pref))
        )
        if behind or r.u() < self.p_cross:
            price = sim.through_price(self.side, 0)
        else:
            bid = sim.book.best_bid()
            ask = sim.book.best_ask()
            improve = bid > 0 and ask > 0 and ask - bid >= 2 and r.u() < 0.4
            price = sim.passive_price(self.side, -1 if improve else 0)
        child = sim.limit(d, self.side, price, qty)
        self.child = child
        if child.resting:
            sim.after(r.loguniform(3.0, 60.0), partial(self._repeg, child))
            if self.lp is not None and r.u() < self.p_lp:
                sim.after(r.loguniform(0.02, 0.8), partial(self._lp_take, child))
        else:
            self.done += child.filled
            self.child = None
        gap = span / self.n_children * r.uniform(0.5, 1.5)
        sim.at(min(sim.now + int(gap), self.end_us), self.slice)

    def _repeg(self, child: Order) -> None:
        sim = self.sim
        if not child.resting:
            return
        price = sim.passive_price(child.side, 0)
        if price != child.price and sim.rand.u() < 0.6 and sim.modify(child, price, child.qty):
            sim.after(sim.rand.loguniform(3.0, 60.0), partial(self._repeg, child))

    def _lp_take(self, child: Order) -> None:
        """The desk's usual liquidity provider takes the child when it stands first at the touch."""
        sim = self.sim
        lp = self.lp
        if lp is None or not child.resting or child.price != sim.touch(child.side):
            return
        queue = sim.book.queue(child.side, child.price)
        if not queue or queue[0] is not child:
            return
        qty = min(child.qty, sim.size(sim.rand.loguniform(0.5, 3.0), lp.round_pref))
        sim.ioc(lp, SELL if child.side == BUY else BUY, child.price, qty)
