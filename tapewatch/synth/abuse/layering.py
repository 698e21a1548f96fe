"""Layering: orders stacked on several consecutive price levels of one side, a genuine execution on
the other side, then every layer cancelled together."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from tapewatch.synth.abuse.base import EpisodeContext, Script
from tapewatch.synth.abuse.pressure import (
    PressureEpisode,
    await_genuine,
    await_opening,
    place_genuine,
    play_cycles,
)
from tapewatch.synth.book import BUY, SELL, Order
from tapewatch.synth.rng import Rand


@dataclass(frozen=True, slots=True)
class LayeringParams(PressureEpisode):
    """One layering episode's drawn parameters (sizes in typical sizes, times in seconds)."""

    cycles: int
    side: int
    n_levels: int
    start_dist: int
    step: int
    layer_mult: float
    thin_mult: float
    growth: float
    genuine_mult: float
    layer_gap: float
    max_wait: float
    cancel_delay: float
    cancel_gap: float
    pause: float

    def estimate(self) -> float:
        """Expected labelled events: each layer's NEW and CANCEL, the genuine order, its fills."""
        return self.cycles * (2.05 * self.n_levels + 3.0)

    def script(self, ctx: EpisodeContext) -> Script:
        """Play the episode."""
        return _play(ctx, self)


def draw(r: Rand) -> LayeringParams:
    """Draw a layering episode from the parameter ranges."""
    return LayeringParams(
        cycles=r.randint(1, 2),
        side=BUY if r.u() < 0.5 else SELL,
        n_levels=r.randint(3, 8),
        start_dist=r.randint(0, 2),
        step=1,
        layer_mult=r.loguniform(1.0, 5.0),
        thin_mult=r.loguniform(0.5, 3.0),
        growth=r.uniform(0.0, 0.3) if r.u() < 0.5 else 0.0,
        genuine_mult=r.loguniform(0.3, 2.0),
        layer_gap=r.loguniform(0.001, 0.3),
        max_wait=r.uniform(15.0, 120.0),
        cancel_delay=r.loguniform(0.05, 3.0),
        cancel_gap=r.loguniform(0.0001, 0.03),
        pause=r.loguniform(2.0, 60.0),
    )


def _cycle(ctx: EpisodeContext, p: LayeringParams, side: int) -> Script:
    sim = ctx.sim
    r = sim.rand
    other = SELL if side == BUY else BUY
    yield from await_opening(ctx, other, p.thin_mult, r.uniform(5.0, 60.0))
    layers: list[Order] = []
    base = sim.passive_price(side, p.start_dist)
    for k in range(p.n_levels):
        price = base - k * p.step if side == BUY else base + k * p.step
        if price < 1:
            break
        mult = p.layer_mult * (1.0 + p.growth * k) * r.uniform(0.8, 1.25)
        layers.append(ctx.limit(side, price, ctx.size(mult)))
        yield r.loguniform(p.layer_gap * 0.3, p.layer_gap * 2.0)
    genuine = place_genuine(ctx, other, p.genuine_mult)
    yield from await_genuine(ctx, genuine, layers, r.uniform(0.5, 1.0) * p.max_wait, pull_hit=False)
    if genuine.filled > 0:
        yield r.loguniform(p.cancel_delay * 0.5, p.cancel_delay * 2.0)
    order = (
        r.generator.permutation(len(layers)).tolist() if r.u() < 0.3 else list(range(len(layers)))
    )
    for k in order:
        sim.cancel(layers[k])
        yield r.loguniform(p.cancel_gap * 0.3, p.cancel_gap * 2.0)
    if genuine.resting:
        sim.cancel(genuine)


def _play(ctx: EpisodeContext, p: LayeringParams) -> Script:
    return play_cycles(ctx, p.cycles, p.pause, p.side, 0.3, partial(_cycle, ctx, p))
