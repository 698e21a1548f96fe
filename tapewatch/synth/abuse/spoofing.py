"""Spoofing: large orders near the touch that make a small genuine order on the other side trade,
then are cancelled soon after that fill."""

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
class SpoofingParams(PressureEpisode):
    """One spoofing episode's drawn parameters (sizes in typical sizes, times in seconds)."""

    cycles: int
    side: int
    flip_p: float
    n_spoof: int
    spoof_mult: float
    depth_mult: float
    thin_mult: float
    spoof_dist: int
    spoof_spread: int
    genuine_mult: float
    genuine_first: bool
    place_gap: float
    max_wait: float
    cancel_delay: float
    modify_p: float
    pause: float

    def estimate(self) -> float:
        """Expected labelled events: spoof NEW/CANCEL (+ a modify), genuine NEW and its fills."""
        return self.cycles * (self.n_spoof * (2.1 + self.modify_p / self.n_spoof) + 3.0)

    def script(self, ctx: EpisodeContext) -> Script:
        """Play the episode."""
        return _play(ctx, self)


def draw(r: Rand) -> SpoofingParams:
    """Draw a spoofing episode from the parameter ranges."""
    return SpoofingParams(
        cycles=r.randint(1, 3),
        side=BUY if r.u() < 0.5 else SELL,
        flip_p=r.uniform(0.0, 0.6),
        n_spoof=min(r.randint(1, 4), r.randint(1, 4)),
        spoof_mult=r.loguniform(3.0, 15.0),
        depth_mult=r.uniform(1.0, 4.0),
        thin_mult=r.loguniform(0.5, 3.0),
        spoof_dist=r.pick_cum((0.15, 0.5, 0.8, 1.0)),
        spoof_spread=r.randint(0, 1),
        genuine_mult=r.loguniform(0.3, 1.5),
        genuine_first=r.u() < 0.3,
        place_gap=r.loguniform(0.005, 2.0),
        max_wait=r.uniform(15.0, 120.0),
        cancel_delay=r.loguniform(0.1, 5.0),
        modify_p=r.uniform(0.0, 0.6),
        pause=r.loguniform(1.0, 40.0),
    )


def _cycle(ctx: EpisodeContext, p: SpoofingParams, side: int) -> Script:
    sim = ctx.sim
    r = sim.rand
    book = sim.book
    other = SELL if side == BUY else BUY
    typical = sim.spec.typical
    yield from await_opening(ctx, other, p.thin_mult, r.uniform(5.0, 60.0))
    spoofs: list[Order] = []
    genuine: Order | None = None
    if p.genuine_first:
        genuine = place_genuine(ctx, other, p.genuine_mult)
        yield r.loguniform(p.place_gap * 0.3, p.place_gap * 2.0)
    # As large as the typical-size range says, more if the other side is deep (up to 3x).
    base = p.spoof_mult * typical
    total = base * min(3.0, max(1.0, p.depth_mult * book.depth(other, 3) / base))
    for k in range(p.n_spoof):
        dist = min(p.spoof_dist + k * p.spoof_spread, 3)
        qty = ctx.size(total / p.n_spoof / typical * r.uniform(0.7, 1.3))
        spoofs.append(ctx.limit(side, sim.passive_price(side, dist), qty))
        if k + 1 < p.n_spoof:
            yield r.loguniform(0.0005, 0.3)
    if genuine is None:
        yield r.loguniform(p.place_gap * 0.3, p.place_gap * 2.0)
        genuine = place_genuine(ctx, other, p.genuine_mult)
    wait = r.uniform(0.5, 1.0) * p.max_wait
    if r.u() < p.modify_p and spoofs:
        # Nudge one spoof part-way through the wait: resize it or follow the touch.
        first = r.uniform(0.1, 0.6) * wait
        yield from await_genuine(ctx, genuine, spoofs, first, pull_hit=True)
        s = spoofs[r.randint(0, len(spoofs) - 1)]
        if genuine.qty > 0 and s.resting:
            if r.u() < 0.5:
                sim.modify(s, s.price, max(1, int(s.qty * r.uniform(0.6, 1.5))))
            else:
                sim.modify(s, sim.passive_price(side, p.spoof_dist), s.qty)
        wait -= first
    yield from await_genuine(ctx, genuine, spoofs, wait, pull_hit=True)
    if genuine.filled > 0:
        yield r.loguniform(p.cancel_delay * 0.5, p.cancel_delay * 2.0)
    for s in r.generator.permutation(len(spoofs)).tolist():
        sim.cancel(spoofs[s])
        yield r.loguniform(0.00005, 0.05)
    if genuine.resting:
        sim.cancel(genuine)


def _play(ctx: EpisodeContext, p: SpoofingParams) -> Script:
    return play_cycles(ctx, p.cycles, p.pause, p.side, p.flip_p, partial(_cycle, ctx, p))
