"""Market-wide happenings that look like abuse and are not: news jumps, volatility bursts,
large genuine orders cancelled after the price moves away, and heavy flow into the close."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial

from tapewatch.synth.agents.market_maker import MarketMaker
from tapewatch.synth.book import BUY, SELL, Order
from tapewatch.synth.sim import US, Sim
from tapewatch.synth.universe import Account

# Closing flow: orders per second rise as 1 + RAMP / (seconds left + LAG).
_CLOSE_RAMP = 60.0
_CLOSE_LAG = 20.0
_ROWS_PER_CLOSING_ORDER = 6.0  # its own rows and the makers re-quoting around them


class MarketEvents:
    """Schedules one instrument's news, volatility bursts, large orders and closing flow."""

    def __init__(self, sim: Sim, makers: Sequence[MarketMaker], traders: Sequence[Account]) -> None:
        """``traders`` are the accounts that may place large orders and trade into the close."""
        self.sim = sim
        self.makers = tuple(makers)
        self.traders = tuple(traders)
        r = sim.rand
        self.close_bias = r.uniform(-0.25, 0.25)
        self.close_rate = 0.0

    def start(self, large_orders: int) -> None:
        """Draw today's times for every happening and schedule them."""
        sim = self.sim
        r = sim.rand
        gen = r.generator
        day = sim.end
        for _ in range(int(gen.poisson(3.0))):
            sim.at(r.randint(0, day - 1), self._vol_burst)
        for _ in range(int(gen.poisson(1.2))):
            sim.at(r.randint(int(0.02 * day), day - 1), self._news)
        for _ in range(large_orders):
            sim.at(r.randint(0, day - 1), self._large_order)
        window = r.uniform(3.0, 12.0) * 60.0
        self.close_rate = r.uniform(0.1, 0.4) * max(0.02, sim.normal_target / sim.session_s)
        orders = self.close_rate * (
            window + _CLOSE_RAMP * math.log((window + _CLOSE_LAG) / _CLOSE_LAG)
        )
        sim.reserve(orders * _ROWS_PER_CLOSING_ORDER)
        sim.at(day - int(window * US), self._closing_flow)

    def _shock(self) -> None:
        for m in self.makers:
            m.shock()

    def _vol_burst(self) -> None:
        sim = self.sim
        r = sim.rand
        sim.vol_mult = r.uniform(1.5, 2.5)
        self._shock()
        sim.after(r.uniform(60.0, 600.0), self._calm)

    def _calm(self) -> None:
        self.sim.vol_mult = 1.0

    def _news(self) -> None:
        """A jump in the fair value followed by heavy two-sided trading."""
        sim = self.sim
        r = sim.rand
        jump = sim.spec.sigma * r.uniform(15.0, 60.0) * r.sign()
        sim.shift_fair(jump, permanent=1.0)
        sim.excite(r.uniform(3.0, 8.0), r.uniform(30.0, 180.0))
        sim.vol_mult = r.uniform(1.3, 2.0)
        self._shock()
        sim.after(r.uniform(60.0, 300.0), self._calm)

    def _large_order(self) -> None:
        """A genuine large order near the touch, cancelled once the price runs away from it."""
        sim = self.sim
        r = sim.rand
        a = self.traders[r.randint(0, len(self.traders) - 1)]
        side = BUY if r.u() < 0.5 else SELL
        qty = sim.size(r.loguniform(4.0, 25.0), a.round_pref)
        o = sim.limit(a, side, sim.passive_price(side, r.randint(0, 3)), qty)
        if o.resting:
            limit_s = r.loguniform(60.0, 1800.0)
            away = max(2, int(sim.spec.half_spread * r.uniform(1.5, 5.0)))
            sim.after(
                r.uniform(1.0, 10.0),
                partial(self._watch_large, o, sim.now + int(limit_s * US), away),
            )

    def _watch_large(self, o: Order, deadline: int, away: int) -> None:
        sim = self.sim
        if not o.resting:
            return
        touch = sim.touch(o.side)
        gone = touch > 0 and (touch - o.price if o.side == BUY else o.price - touch) >= away
        if gone or sim.now >= deadline:
            sim.cancel(o)
            return
        sim.after(sim.rand.uniform(0.5, 10.0), partial(self._watch_large, o, deadline, away))

    def _closing_flow(self) -> None:
        """Many accounts trade into the close, both sides, with a mild imbalance."""
        sim = self.sim
        r = sim.rand
        left = (sim.end - sim.now) / US
        rate = self.close_rate * (1.0 + _CLOSE_RAMP / (left + _CLOSE_LAG))
        sim.after(r.exp() / rate, self._closing_flow)
        a = self.traders[r.randint(0, len(self.traders) - 1)]
        side = BUY if r.u() < 0.5 + self.close_bias else SELL
        qty = sim.size(r.loguniform(0.5, 4.0), a.round_pref)
        if r.u() < 0.4:
            sim.market(a, side, qty)
            return
        o = sim.limit(a, side, sim.through_price(side, r.randint(-1, 1)), qty)
        if o.resting and r.u() < 0.5:
            sim.after(r.loguniform(1.0, 60.0), partial(sim.cancel, o))
