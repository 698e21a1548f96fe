"""Wash trading: one account trading with itself, or a ring of 2-3 colluding accounts passing the
same size around (A->B->A, A->B->C->A), repeated over minutes near the touch with no net change."""

from __future__ import annotations

from dataclasses import dataclass

from tapewatch.synth.abuse.base import EpisodeContext, Script
from tapewatch.synth.book import BUY, SELL, Order
from tapewatch.synth.rng import Rand
from tapewatch.synth.sim import US


@dataclass(frozen=True, slots=True)
class WashParams:
    """One wash-trading episode's drawn parameters (sizes in typical sizes, times in seconds)."""

    n_accounts: int
    rounds: int
    size_mult: float
    gap: float
    cross_delay: float
    patience: float

    def trades(self) -> int:
        """Number of crossing trades: each round passes the size once around the ring."""
        return self.rounds * max(2, self.n_accounts)

    def estimate(self) -> float:
        """Expected labelled events: both orders' NEW and both EXECUTED rows per trade."""
        return 4.1 * self.trades()

    def accounts_needed(self) -> int:
        """One (self-trades), two or three colluders."""
        return self.n_accounts

    def window(self, session_s: float) -> tuple[float, float]:
        """Any time of the day that leaves room to finish."""
        return 60.0, max(120.0, session_s - self.trades() * self.gap * 2.0 - 60.0)

    def script(self, ctx: EpisodeContext) -> Script:
        """Play the episode."""
        return _play(ctx, self)


def draw(r: Rand) -> WashParams:
    """Draw a wash-trading episode from the parameter ranges."""
    u = r.u()
    n = 1 if u < 0.35 else (2 if u < 0.8 else 3)
    return WashParams(
        n_accounts=n,
        rounds=r.randint(1, 4) if n > 1 else r.randint(1, 3),
        size_mult=r.loguniform(0.5, 4.0),
        gap=r.loguniform(3.0, 90.0),
        cross_delay=r.loguniform(0.001, 2.0),
        patience=r.uniform(10.0, 90.0),
    )


def _inside_price(ctx: EpisodeContext) -> int:
    """A price strictly inside the spread, or -1 when the spread is a single tick."""
    book = ctx.sim.book
    bid, ask = book.best_bid(), book.best_ask()
    if bid <= 0 or ask <= 0 or ask - bid < 2:
        return -1
    return ctx.sim.rand.randint(bid + 1, ask - 1)


def _trade(ctx: EpisodeContext, p: WashParams, seller: int, buyer: int, qty: int) -> Script:
    """Cross ``qty`` from ``seller`` to ``buyer``: one rests inside the spread, one hits it."""
    sim = ctx.sim
    r = sim.rand
    deadline = sim.now + int(p.patience * US)
    price = _inside_price(ctx)
    while price < 0 and sim.now < deadline:
        yield r.loguniform(0.05, 3.0)
        price = _inside_price(ctx)
    if price < 0:
        return
    seller_rests = r.u() < 0.5
    rest_who, rest_side = (seller, SELL) if seller_rests else (buyer, BUY)
    hit_who, hit_side = (buyer, BUY) if seller_rests else (seller, SELL)
    resting = ctx.limit(rest_side, price, qty, rest_who)
    yield r.loguniform(p.cross_delay * 0.3, p.cross_delay * 2.0)
    if not resting.resting:
        return
    hit: Order = ctx.limit(hit_side, resting.price, resting.qty, hit_who)
    if hit.resting:
        # Somebody else got in first: withdraw the leftover after a moment.
        yield ctx.reaction(hit_who)
        sim.cancel(hit)
        yield ctx.beat()
    if resting.resting:
        sim.cancel(resting)


def _play(ctx: EpisodeContext, p: WashParams) -> Script:
    r = ctx.sim.rand
    n = p.n_accounts
    first = True
    for _ in range(p.rounds):
        qty = ctx.size(p.size_mult)
        step = 1 if r.u() < 0.5 else n - 1
        legs = [(0, 0), (0, 0)] if n == 1 else [(k, (k + step) % n) for k in range(n)]
        start = r.randint(0, len(legs) - 1)
        legs = legs[start:] + legs[:start]
        for seller, buyer in legs:
            if not first:
                yield r.loguniform(p.gap * 0.4, p.gap * 2.0)
            first = False
            yield from _trade(ctx, p, seller, buyer, qty)
