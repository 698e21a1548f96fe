"""What spoofing and layering share: a small genuine order on one side that the fake pressure on
the other side is meant to get filled."""

from __future__ import annotations

from collections.abc import Callable

from tapewatch.synth.abuse.base import EpisodeContext, Script
from tapewatch.synth.book import BUY, SELL, Order
from tapewatch.synth.sim import US


def await_opening(ctx: EpisodeContext, side: int, thin_mult: float, patience_s: float) -> Script:
    """Wait (at most ``patience_s``) until a genuine order on ``side`` could stand first in line:
    the spread is open, or the queue at that side's touch is thin."""
    sim = ctx.sim
    r = sim.rand
    book = sim.book
    deadline = sim.now + int(patience_s * US)
    while sim.now < deadline:
        bid, ask = book.best_bid(), book.best_ask()
        touch = bid if side == BUY else ask
        if bid > 0 and ask > 0 and ask - bid >= 2:
            return
        if touch > 0 and book.level_size(side, touch) <= thin_mult * sim.spec.typical:
            return
        yield r.loguniform(0.05, 2.0)


def place_genuine(ctx: EpisodeContext, side: int, mult: float) -> Order:
    """The genuine order: inside the spread when it is open, else joining the touch."""
    sim = ctx.sim
    r = sim.rand
    bid, ask = sim.book.best_bid(), sim.book.best_ask()
    inside = r.randint(1, ask - bid - 1) if bid > 0 and ask - bid >= 2 and r.u() < 0.9 else 0
    return ctx.limit(side, sim.passive_price(side, -inside), ctx.size(mult))


def await_genuine(
    ctx: EpisodeContext, genuine: Order, fakes: list[Order], seconds: float, pull_hit: bool
) -> Script:
    """Wait for the genuine order to fill, keeping it at the front: re-peg it when the market
    leaves it behind, step inside when the spread opens; optionally pull fakes that get hit."""
    sim = ctx.sim
    r = sim.rand
    deadline = sim.now + int(seconds * US)
    for o in (genuine, *fakes):
        ctx.watch(o)
    while genuine.qty > 0 and genuine.resting and sim.now < deadline:
        yield min((deadline - sim.now) / US, r.loguniform(0.2, 5.0))
        if genuine.qty == 0 or not genuine.resting:
            break
        if pull_hit:
            for f in fakes:
                if f.resting and f.filled > 0:
                    sim.cancel(f)
        bid, ask = sim.book.best_bid(), sim.book.best_ask()
        touch = bid if genuine.side == BUY else ask
        if (
            touch > 0
            and genuine.price != touch
            and (touch > genuine.price) == (genuine.side == BUY)
        ):
            sim.modify(genuine, touch, genuine.qty)
        elif bid > 0 and ask - bid >= 2 and genuine.price == touch:
            sim.modify(genuine, touch - 1 if genuine.side == SELL else touch + 1, genuine.qty)
    ctx.unwatch(genuine, *fakes)


class PressureEpisode:
    """What spoofing and layering parameters share: one account, cycles that fit in the day."""

    __slots__ = ()
    cycles: int
    max_wait: float
    cancel_delay: float
    pause: float

    def accounts_needed(self) -> int:
        """A single account runs it."""
        return 1

    def window(self, session_s: float) -> tuple[float, float]:
        """Any time of the day that leaves room to finish."""
        span = self.cycles * (self.max_wait + self.cancel_delay + self.pause) + 5.0
        return 60.0, max(120.0, session_s - span)


def play_cycles(
    ctx: EpisodeContext,
    cycles: int,
    pause: float,
    side: int,
    flip_p: float,
    cycle: Callable[[int], Script],
) -> Script:
    """Run pressure cycles with a drawn pause between them, flipping side with probability flip_p."""
    r = ctx.sim.rand
    for c in range(cycles):
        if c:
            yield r.loguniform(pause * 0.5, pause * 2.0)
            if r.u() < flip_p:
                side = SELL if side == BUY else BUY
        yield from cycle(side)
