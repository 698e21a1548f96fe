"""Marking the close: in the last minutes of the session, aggressive orders from one account that
push the last traded price its way, often after it built a position earlier in the day."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from tapewatch.synth.abuse.base import EpisodeContext, Script
from tapewatch.synth.book import BUY, SELL
from tapewatch.synth.rng import Rand
from tapewatch.synth.sim import US


@dataclass(frozen=True, slots=True)
class MarkingParams:
    """One marking-the-close episode's parameters (sizes in typical sizes, times in seconds)."""

    window_s: float
    up: bool
    n_orders: int
    gamma: float
    last_s: float
    through: int
    market_p: float
    size_mult: float
    escalate: float
    pre_position: int
    passive_p: float

    def estimate(self) -> float:
        """Expected labelled events: each aggressive order's NEW and its (often several) fills."""
        return self.n_orders * (3.2 + 0.5 * self.through) + 1.5 * self.n_orders * self.passive_p

    def accounts_needed(self) -> int:
        """A single account runs it."""
        return 1

    def window(self, session_s: float) -> tuple[float, float]:
        """Start the day's position building (if any) early, otherwise start at the window."""
        mark_start = session_s - self.window_s
        if self.pre_position:
            return 600.0, max(900.0, mark_start - 1800.0)
        return mark_start - 1.0, mark_start

    def script(self, ctx: EpisodeContext) -> Script:
        """Play the episode."""
        return _play(ctx, self)


def draw(r: Rand) -> MarkingParams:
    """Draw a marking-the-close episode from the parameter ranges."""
    return MarkingParams(
        window_s=r.uniform(60.0, 600.0),
        up=r.u() < 0.7,
        n_orders=r.randint(3, 25),
        gamma=r.uniform(1.0, 3.0),
        last_s=r.loguniform(0.5, 30.0),
        through=r.randint(0, 4),
        market_p=r.uniform(0.05, 0.25),
        size_mult=r.loguniform(0.5, 4.0),
        escalate=r.uniform(0.0, 0.5),
        pre_position=r.randint(1, 4) if r.u() < 0.6 else 0,
        passive_p=r.uniform(0.0, 0.3),
    )


def _play(ctx: EpisodeContext, p: MarkingParams) -> Script:
    sim = ctx.sim
    r = sim.rand
    a = ctx.accounts[0]
    side = BUY if p.up else SELL
    close_us = sim.end
    mark_start = close_us - int(p.window_s * US)
    if p.pre_position:
        # Genuine position building earlier in the day: ordinary, unlabelled trading.
        for _ in range(p.pre_position):
            qty = sim.size(r.loguniform(1.0, 5.0), a.round_pref)
            o = sim.limit(a, side, sim.passive_price(side, r.randint(-1, 1)), qty)
            if o.resting:
                sim.after(r.loguniform(30.0, 900.0), partial(sim.cancel, o))
            yield max(1.0, (mark_start - sim.now) / US * r.uniform(0.05, 0.4))
        if sim.now < mark_start:
            yield (mark_start - sim.now) / US
    offsets = sorted((p.window_s * r.u() ** p.gamma for _ in range(p.n_orders)), reverse=True)
    offsets[-1] = min(offsets[-1], p.last_s)
    for k, off in enumerate(offsets):
        t = close_us - int(off * US)
        if t > sim.now:
            yield (t - sim.now) / US
        qty = ctx.size(p.size_mult * (1.0 + p.escalate * k))
        if r.u() < p.market_p:
            ctx.market(side, qty)
        else:
            o = ctx.limit(side, sim.through_price(side, r.randint(0, p.through)), qty)
            if o.resting:
                sim.after(r.loguniform(0.05, 5.0), partial(sim.cancel, o))
        if r.u() < p.passive_p:
            yield ctx.beat()
            # Support under the marked price, and no interest in the other side.
            ctx.limit(side, sim.passive_price(side, r.randint(0, 1)), ctx.size(p.size_mult))
