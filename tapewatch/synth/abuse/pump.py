"""Pump and dump in an illiquid instrument: quiet accumulation, aggressive buying by one or more
colluders that pushes the price up over minutes, then selling into the rise."""

from __future__ import annotations

from dataclasses import dataclass

from tapewatch.synth.abuse.base import EpisodeContext, Script
from tapewatch.synth.book import BUY, SELL, Order
from tapewatch.synth.rng import Rand
from tapewatch.synth.sim import US


@dataclass(frozen=True, slots=True)
class PumpParams:
    """One pump-and-dump episode's drawn parameters (sizes in typical sizes, times in seconds)."""

    n_accounts: int
    acc_orders: int
    acc_duration: float
    acc_mult: float
    acc_life: float
    pump_orders: int
    pump_duration: float
    pump_mult: float
    pump_market_p: float
    support_p: float
    dump_orders: int
    dump_duration: float
    dump_passive_p: float
    pause: float

    def estimate(self) -> float:
        """Expected labelled events over the three phases."""
        return (
            2.6 * self.acc_orders
            + 3.4 * self.pump_orders
            + 2.8 * self.dump_orders
            + 0.4 * self.pump_orders
        )

    def accounts_needed(self) -> int:
        """One to four colluders."""
        return self.n_accounts

    def window(self, session_s: float) -> tuple[float, float]:
        """Start early enough for all three phases to end before the close."""
        span = self.acc_duration + self.pump_duration + self.dump_duration + self.pause + 120.0
        return 300.0, max(600.0, session_s - span)

    def script(self, ctx: EpisodeContext) -> Script:
        """Play the episode."""
        return _play(ctx, self)


def draw(r: Rand) -> PumpParams:
    """Draw a pump-and-dump episode from the parameter ranges."""
    return PumpParams(
        n_accounts=r.randint(1, 4),
        acc_orders=r.randint(4, 15),
        acc_duration=r.uniform(600.0, 3600.0),
        acc_mult=r.loguniform(0.5, 2.0),
        acc_life=r.loguniform(30.0, 300.0),
        pump_orders=r.randint(8, 40),
        pump_duration=r.uniform(180.0, 1200.0),
        pump_mult=r.loguniform(0.5, 3.0),
        pump_market_p=r.uniform(0.1, 0.5),
        support_p=r.uniform(0.0, 0.4),
        dump_orders=r.randint(5, 25),
        dump_duration=r.uniform(180.0, 900.0),
        dump_passive_p=r.uniform(0.3, 0.8),
        pause=r.loguniform(10.0, 300.0),
    )


def _gap(r: Rand, duration: float, n: int) -> float:
    return duration / max(1, n) * r.uniform(0.3, 1.7)


def _play(ctx: EpisodeContext, p: PumpParams) -> Script:
    sim = ctx.sim
    r = sim.rand
    n = p.n_accounts
    bought: list[Order] = []
    sold: list[Order] = []
    # Accumulate quietly: passive bids, re-pegged to the touch or withdrawn when they go stale.
    open_bids: list[tuple[Order, int]] = []
    for _ in range(p.acc_orders):
        who = r.randint(0, n - 1)
        for o, born in list(open_bids):
            if o.resting and sim.now - born > p.acc_life * US:
                if r.u() < 0.5 and sim.modify(o, sim.passive_price(BUY, 0), o.qty):
                    open_bids.remove((o, born))
                    open_bids.append((o, sim.now))
                else:
                    sim.cancel(o)
        if r.u() < 0.2:
            o = ctx.limit(BUY, sim.through_price(BUY, 0), ctx.size(p.acc_mult * 0.5, who), who)
        else:
            o = ctx.limit(
                BUY, sim.passive_price(BUY, r.randint(0, 2)), ctx.size(p.acc_mult, who), who
            )
            open_bids.append((o, sim.now))
        bought.append(o)
        yield _gap(r, p.acc_duration, p.acc_orders)
    for o, _ in open_bids:
        sim.cancel(o)
    yield r.loguniform(p.pause * 0.5, p.pause * 2.0)
    # Pump: aggressive buying in turns, with the odd supporting bid under the market.
    supports: list[Order] = []
    for _ in range(p.pump_orders):
        who = r.randint(0, n - 1)
        qty = ctx.size(p.pump_mult, who)
        if r.u() < p.pump_market_p:
            bought.append(ctx.market(BUY, qty, who))
        else:
            o = ctx.limit(BUY, sim.through_price(BUY, r.randint(0, 3)), qty, who)
            bought.append(o)
            if o.resting:
                supports.append(o)
        if r.u() < p.support_p:
            supports.append(
                ctx.limit(
                    BUY, sim.passive_price(BUY, r.randint(0, 2)), ctx.size(p.pump_mult, who), who
                )
            )
        yield _gap(r, p.pump_duration, p.pump_orders)
    # Dump: sell the position into the demand the rise attracted.
    for o in supports:
        sim.cancel(o)
    holding = sum(o.filled for o in bought)
    per = max(1, holding // max(1, p.dump_orders))
    for k in range(p.dump_orders):
        who = k % n
        if holding - sum(o.filled for o in sold) <= 0:
            break
        qty = max(1, int(per * r.uniform(0.6, 1.4)))
        if r.u() < p.dump_passive_p:
            price = sim.passive_price(SELL, r.randint(-1, 1))
        else:
            price = sim.through_price(SELL, r.randint(0, 1))
        sold.append(ctx.limit(SELL, price, qty, who))
        yield _gap(r, p.dump_duration, p.dump_orders)
    yield r.uniform(10.0, 120.0)
    for o in sold:
        sim.cancel(o)
