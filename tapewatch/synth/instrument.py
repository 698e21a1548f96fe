"""Simulate one instrument's day: put its participants and episodes into a :class:`Sim` and run."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tapewatch.synth.abuse.base import Episode, EpisodeContext, Runner
from tapewatch.synth.agents.events import MarketEvents
from tapewatch.synth.agents.hft import HftTrader
from tapewatch.synth.agents.institutional import ParentOrder
from tapewatch.synth.agents.market_maker import MarketMaker
from tapewatch.synth.agents.momentum import MomentumFlow
from tapewatch.synth.agents.noise import NoiseFlow
from tapewatch.synth.book import BUY, SELL
from tapewatch.synth.rng import Rand
from tapewatch.synth.sim import Sim
from tapewatch.synth.universe import Account, InstrumentSpec, Participants

# Rough share of the normal events each kind of participant accounts for, and its events per
# wake-up; the volume controller in Sim corrects the total.
_MAKER_RATE = 0.2
_HFT_RATE = 0.1
_NOISE_RATE = 0.09
_MOMENTUM_RATE = 0.035
_EVENTS_PER_PARENT = 90.0
_PARENT_SHARE = 0.08


@dataclass(frozen=True, slots=True)
class InstrumentJob:
    """Everything one instrument's simulation needs (picklable, for a process pool)."""

    spec: InstrumentSpec
    participants: Participants
    accounts: tuple[Account, ...]
    episodes: tuple[Episode, ...]
    seed: np.random.SeedSequence
    session_us: int
    normal_target: int


def simulate(job: InstrumentJob) -> np.ndarray:
    """Run one instrument's day and return its rows (see ``recorder``) in causal order."""
    rand = Rand(np.random.default_rng(job.seed))
    sim = Sim(job.spec, rand, job.session_us, job.normal_target)
    acc = job.accounts
    part = job.participants
    per_s = max(job.normal_target, 50) / sim.session_s
    makers = [MarketMaker(sim, acc[i], _MAKER_RATE * per_s / len(part.makers)) for i in part.makers]
    for m in makers:
        m.start()
    for i in part.hft:
        HftTrader(sim, acc[i], _HFT_RATE * per_s / len(part.hft)).start()
    # Episode accounts trade here normally too: those whose role alone might leave them idle
    # today (desks without a parent order, momentum traders without a trend) also send
    # everyday orders.
    noise = list(part.noise)
    weights = list(part.noise_weights)
    top = max(weights)
    steady = set(part.makers + part.hft)
    for ep in job.episodes:
        for i in ep.accounts:
            if i in steady:
                continue
            w = top * rand.uniform(0.05, 0.2)
            if i in noise:
                k = noise.index(i)
                weights[k] = max(weights[k], w)
            else:
                noise.append(i)
                weights.append(w)
    NoiseFlow(sim, [acc[i] for i in noise], weights, _NOISE_RATE * per_s).start()
    MomentumFlow(sim, [acc[i] for i in part.momentum], _MOMENTUM_RATE * per_s).start()
    n_parents = int(rand.generator.poisson(_PARENT_SHARE * job.normal_target / _EVENTS_PER_PARENT))
    # Each desk mostly works one side of an instrument today (its clients' net interest).
    desk_side = [BUY if rand.u() < 0.5 else SELL for _ in part.institutions]
    for _ in range(n_parents):
        k = rand.randint(0, len(part.institutions) - 1)
        lp = acc[part.liquidity_provider[k]] if rand.u() < 0.7 else None
        side = desk_side[k] if rand.u() < 0.85 else SELL - desk_side[k]
        start = rand.randint(0, int(job.session_us * 0.95))
        ParentOrder(sim, acc[part.institutions[k]], lp, side, start).start()
    takers = [acc[i] for i in part.takers()]
    large = int(rand.generator.poisson(max(0.5, job.normal_target / 5000.0)))
    MarketEvents(sim, makers, takers).start(large)
    for ep in job.episodes:
        ctx = EpisodeContext(sim, [acc[i] for i in ep.accounts], ep)
        Runner(ctx, ep.params.script(ctx)).start(ep.start_us)
    sim.run()
    return sim.rec.to_array()
