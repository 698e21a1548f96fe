"""Plan the day's abuse: how many episodes of each typology, where, when and by whom.

Episodes are drawn one at a time, each from its typology's parameter ranges, until their
expected labelled events fill the typology's share of the day. Accounts are recruited from
the instrument's regular participants, so every abuser also trades normally.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from itertools import accumulate
from types import MappingProxyType

from tapewatch.schema.enums import ManipulationType
from tapewatch.synth.abuse import layering, marking, pump, spoofing, stuffing, wash
from tapewatch.synth.abuse.base import RECRUITS, Episode, EpisodeParams
from tapewatch.synth.config import MarketConfig
from tapewatch.synth.rng import Rand
from tapewatch.synth.sim import US
from tapewatch.synth.universe import Participants, Role, Universe

DRAWS: Mapping[ManipulationType, Callable[[Rand], EpisodeParams]] = MappingProxyType(
    {
        ManipulationType.SPOOFING: spoofing.draw,
        ManipulationType.LAYERING: layering.draw,
        ManipulationType.WASH_TRADING: wash.draw,
        ManipulationType.PUMP_AND_DUMP: pump.draw,
        ManipulationType.QUOTE_STUFFING: stuffing.draw,
        ManipulationType.MARKING_THE_CLOSE: marking.draw,
    }
)

_FIT_TRIES = 25
_OVERSHOOT = 1.2

#: Labelled events per estimated event, measured over several 100k-event days (seeds 1-4).
_CALIBRATION: Mapping[ManipulationType, float] = MappingProxyType(
    {
        ManipulationType.SPOOFING: 0.93,
        ManipulationType.LAYERING: 1.0,
        ManipulationType.WASH_TRADING: 0.83,
        ManipulationType.PUMP_AND_DUMP: 0.8,
        ManipulationType.QUOTE_STUFFING: 0.97,
        ManipulationType.MARKING_THE_CLOSE: 0.85,
    }
)


def _instrument_weights(kind: ManipulationType, universe: Universe) -> list[float]:
    specs = universe.instruments
    if kind is ManipulationType.PUMP_AND_DUMP:
        w = [1.0 if s.illiquid else 0.0 for s in specs]
        if not any(w):
            least = min(range(len(specs)), key=lambda i: specs[i].weight)
            w[least] = 1.0
        return w
    if kind in (
        ManipulationType.SPOOFING,
        ManipulationType.LAYERING,
        ManipulationType.QUOTE_STUFFING,
    ):
        return [0.0 if s.illiquid else s.weight for s in specs]
    if kind is ManipulationType.WASH_TRADING:
        return [math.sqrt(s.weight) * min(1.0, s.half_spread) for s in specs]
    return [1.0 for _ in specs]


def _recruit(
    kind: ManipulationType, part: Participants, n: int, busy: set[int], r: Rand
) -> tuple[int, ...]:
    """``n`` distinct regular participants of the instrument, roles drawn by the typology's mix,
    all of them busy in a liquid instrument too (so they surely also trade normally)."""
    pools: dict[Role, tuple[int, ...]] = {
        Role.MAKER: part.makers,
        Role.HFT: part.hft,
        Role.INSTITUTION: part.institutions,
        Role.MOMENTUM: part.momentum,
        Role.NOISE: part.busy_noise(),
    }
    for role, pool in pools.items():
        pools[role] = tuple(a for a in pool if a in busy) or pool
    chosen: list[int] = []
    for _ in range(n):
        options = [
            (role, [a for a in pools[role] if a not in chosen], w)
            for role, w in RECRUITS[kind].items()
        ]
        options = [(role, members, w) for role, members, w in options if members]
        if not options:
            rest = [a for a in part.regulars() if a not in chosen]
            chosen.append(rest[r.randint(0, len(rest) - 1)])
            continue
        cum = list(accumulate(w for _, _, w in options))
        _, members, _ = options[r.pick_cum(cum)]
        chosen.append(members[r.randint(0, len(members) - 1)])
    return tuple(chosen)


def _start_time(window: tuple[float, float], session_s: float, r: Rand) -> float:
    """A start in ``window``, drawn with the day's U-shaped activity (busier near open/close)."""
    lo, hi = window[0], max(window)

    def busy(t: float) -> float:
        return 1.0 + 1.4 * math.exp(-t / 1200.0) + 1.2 * math.exp(-(session_s - t) / 1000.0)

    top = max(busy(lo), busy(hi), busy(0.0), busy(session_s))
    t = r.uniform(lo, hi)
    for _ in range(_FIT_TRIES):
        if r.u() * top <= busy(t):
            break
        t = r.uniform(lo, hi)
    return t


def expected_events(episode: Episode) -> float:
    """The labelled events an episode is expected to produce."""
    return episode.params.estimate() * _CALIBRATION[episode.typology]


def plan_episodes(cfg: MarketConfig, universe: Universe, r: Rand) -> list[Episode]:
    """Draw every episode of the day (in no particular order)."""
    session_s = cfg.session_seconds
    plans: list[tuple[ManipulationType, int, int, tuple[int, ...], EpisodeParams]] = []
    busy = {
        a
        for spec, part in zip(universe.instruments, universe.participants, strict=True)
        if not spec.illiquid
        for a in part.regulars()
    }
    for kind, draw in DRAWS.items():
        budget = cfg.mix.share(kind) * cfg.n_events
        if budget <= 0:
            continue
        weights = _instrument_weights(kind, universe)
        cum = [sum(weights[: i + 1]) for i in range(len(weights))]
        total = 0.0
        while total < budget:
            # Draw until an episode fits the rest of the budget (give up after a few tries).
            for _ in range(_FIT_TRIES):
                params = draw(r)
                est = params.estimate() * _CALIBRATION[kind]
                if total + est <= budget * _OVERSHOOT:
                    break
            else:
                break
            inst = r.pick_cum(cum)
            part = universe.participants[inst]
            accounts = _recruit(kind, part, params.accounts_needed(), busy, r)
            start = int(_start_time(params.window(session_s), session_s, r) * US)
            plans.append((kind, inst, start, accounts, params))
            total += est
    ids = r.generator.permutation(len(plans)).tolist()
    return [
        Episode(ids[k], kind, inst, start, accounts, params)
        for k, (kind, inst, start, accounts, params) in enumerate(plans)
    ]
