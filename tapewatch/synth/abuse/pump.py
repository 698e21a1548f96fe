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
        pump_market_p=r.uniform(0.05, 0.3),
        support_p=r.uniform(0.0, 0.4),
        dump_orders=r.randint(5, 25),
        dump_duration=r.uniform(180.0, 900.0),
        dump_passive_p=r.uniform(0.3, 0.8),
        pause=r.loguniform(10.0, 300.0),
    )


def _gap(r: Rand, duration: float, n: int) -> float:
    return duration / max(1, n) * r.uniform(0.3, 1.7)


def _withdraw(ctx: EpisodeContext, orders: list[Order]) -> Script:
    """Cancel whatever is still open, one message after the other."""
    for o in orders:
        if o.resting:
            ctx.sim.cancel(o)
            yield ctx.beat()


def _accumulate(ctx: EpisodeContext, p: PumpParams, bought: list[Order]) -> Script:
    """Quiet buying: passive bids, re-pegged to the touch or withdrawn when they go stale."""
    sim = ctx.sim
    r = sim.rand
    open_bids: list[tuple[Order, int]] = []
    for _ in range(p.acc_orders):
        who = r.randint(0, p.n_accounts - 1)
        for o, born in list(open_bids):
            if o.resting and sim.now - born > p.acc_life * US:
                if r.u() < 0.5 and sim.modify(o, sim.passive_price(BUY, 0), o.qty):
                    open_bids.remove((o, born))
                    open_bids.append((o, sim.now))
                else:
                    sim.cancel(o)
                yield ctx.beat()
        if r.u() < 0.2:
            price, mult = sim.through_price(BUY, 0), p.acc_mult * 0.5
        else:
            price, mult = sim.passive_price(BUY, r.randint(0, 2)), p.acc_mult
        o = ctx.limit(BUY, price, ctx.size(mult, who), who)
        if o.resting:
            open_bids.append((o, sim.now))
        bought.append(o)
        yield _gap(r, p.acc_duration, p.acc_orders)
    yield from _withdraw(ctx, [o for o, _ in open_bids])


def _pump(ctx: EpisodeContext, p: PumpParams, bought: list[Order]) -> Script:
    """Aggressive buying in turns, with the odd supporting bid under the market."""
    sim = ctx.sim
    r = sim.rand
    supports: list[Order] = []
    for _ in range(p.pump_orders):
        who = r.randint(0, p.n_accounts - 1)
        qty = ctx.size(p.pump_mult, who)
        if r.u() < p.pump_market_p:
            bought.append(ctx.market(BUY, qty, who))
        else:
            o = ctx.limit(BUY, sim.through_price(BUY, r.randint(0, 3)), qty, who)
            bought.append(o)
            supports.append(o)
        if r.u() < p.support_p:
            yield ctx.beat()
            price = sim.passive_price(BUY, r.randint(0, 2))
            supports.append(ctx.limit(BUY, price, ctx.size(p.pump_mult, who), who))
        yield _gap(r, p.pump_duration, p.pump_orders)
    yield from _withdraw(ctx, supports)


def _dump(ctx: EpisodeContext, p: PumpParams, holding: int) -> Script:
    """Sell the position into the demand the rise attracted."""
    sim = ctx.sim
    r = sim.rand
    sold: list[Order] = []
    per = max(1, holding // max(1, p.dump_orders))
    for k in range(p.dump_orders):
        if holding - sum(o.filled for o in sold) <= 0:
            break
        qty = max(1, int(per * r.uniform(0.6, 1.4)))
        if r.u() < p.dump_passive_p:
            price = sim.passive_price(SELL, r.randint(-1, 1))
        else:
            price = sim.through_price(SELL, r.randint(0, 1))
        sold.append(ctx.limit(SELL, price, qty, k % p.n_accounts))
        yield _gap(r, p.dump_duration, p.dump_orders)
    yield r.uniform(10.0, 120.0)
    yield from _withdraw(ctx, sold)


def _play(ctx: EpisodeContext, p: PumpParams) -> Script:
    r = ctx.sim.rand
    bought: list[Order] = []
    yield from _accumulate(ctx, p, bought)
    yield r.loguniform(p.pause * 0.5, p.pause * 2.0)
    yield from _pump(ctx, p, bought)
    yield from _dump(ctx, p, sum(o.filled for o in bought))
