"""Quote stuffing: one account floods the book with orders it cancels within milliseconds, tens
to hundreds of messages in a second or two, at or away from the touch."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from tapewatch.synth.abuse.base import EpisodeContext, Script
from tapewatch.synth.book import BUY, SELL, Order
from tapewatch.synth.rng import Rand

_AWAY = 0
_TOUCH = 1
_MIXED = 2


@dataclass(frozen=True, slots=True)
class StuffingParams:
    """One quote-stuffing episode's drawn parameters (times in seconds)."""

    bursts: int
    orders: int
    duration: float
    mode: int
    far: int
    cancel_latency: float
    size_mult: float
    modify_p: float
    one_side_p: float
    gap: float

    def estimate(self) -> float:
        """Expected labelled events: every order's NEW and CANCEL, plus modifies."""
        return self.bursts * self.orders * (2.0 + self.modify_p)

    def accounts_needed(self) -> int:
        """A single account runs it."""
        return 1

    def window(self, session_s: float) -> tuple[float, float]:
        """Any time of the day."""
        return 30.0, max(60.0, session_s - self.bursts * (self.duration + self.gap * 2.0) - 5.0)

    def script(self, ctx: EpisodeContext) -> Script:
        """Play the episode."""
        return _play(ctx, self)


def draw(r: Rand) -> StuffingParams:
    """Draw a quote-stuffing episode from the parameter ranges."""
    u = r.u()
    return StuffingParams(
        bursts=r.randint(1, 3),
        orders=int(r.loguniform(10.0, 200.0)),
        duration=r.uniform(0.5, 3.0),
        mode=_AWAY if u < 0.4 else (_TOUCH if u < 0.7 else _MIXED),
        far=r.randint(3, 12),
        cancel_latency=r.loguniform(0.0001, 0.02),
        size_mult=r.loguniform(0.1, 1.0),
        modify_p=r.uniform(0.0, 0.3),
        one_side_p=r.uniform(0.0, 1.0),
        gap=r.loguniform(1.0, 30.0),
    )


def _dist(r: Rand, p: StuffingParams) -> int:
    mode = p.mode if p.mode != _MIXED else (_AWAY if r.u() < 0.5 else _TOUCH)
    return r.randint(2, p.far) if mode == _AWAY else r.randint(-1, 1)


def _jiggle(ctx: EpisodeContext, p: StuffingParams, o: Order) -> None:
    """Re-price a stuffed order once before it is pulled."""
    sim = ctx.sim
    if o.resting:
        sim.modify(o, sim.passive_price(o.side, _dist(sim.rand, p)), o.qty)


def _play(ctx: EpisodeContext, p: StuffingParams) -> Script:
    sim = ctx.sim
    r = sim.rand
    side = BUY if r.u() < 0.5 else SELL
    for b in range(p.bursts):
        if b:
            yield r.loguniform(p.gap * 0.5, p.gap * 2.0)
        n = max(5, int(p.orders * r.uniform(0.7, 1.3)))
        step = p.duration * r.uniform(0.7, 1.3) / n
        for _ in range(n):
            if r.u() >= p.one_side_p:
                side = BUY if r.u() < 0.5 else SELL
            o = ctx.limit(side, sim.passive_price(side, _dist(r, p)), ctx.size(p.size_mult))
            if o.resting:
                life = r.lognormal(p.cancel_latency, 0.6)
                if r.u() < p.modify_p:
                    sim.after(life * r.uniform(0.2, 0.8), partial(_jiggle, ctx, p, o))
                sim.after(life, partial(sim.cancel, o))
            yield r.exp() * step
