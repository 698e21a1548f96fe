"""The market's cast: instruments (tick, price level, liquidity) and accounts (roles, styles).

Everything here is drawn once per day from the planning random stream, before any book runs,
so every instrument's simulation can run on its own (in another process) and still agree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import IntEnum
from types import MappingProxyType

import numpy as np

from tapewatch.synth.config import MarketConfig
from tapewatch.synth.ids import isin, lei
from tapewatch.synth.rng import Rand

ALGO = 1
HFT = 2


class Role(IntEnum):
    """What an account does in normal trading."""

    MAKER = 0
    HFT = 1
    INSTITUTION = 2
    MOMENTUM = 3
    NOISE = 4


@dataclass(frozen=True, slots=True)
class Account:
    """One trading account: its role and the style every one of its orders shares."""

    index: int
    role: Role
    flags: int
    round_pref: float
    latency_s: float
    stp: bool


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    """One instrument: identity, tick grid, price level, typical size, volatility, activity."""

    index: int
    instrument_id: str
    venue: str
    tick: float
    p0: int
    typical: int
    daily_vol: float
    half_spread: float
    impact: float
    illiquid: bool
    weight: float

    @property
    def sigma(self) -> float:
        """Fair-value volatility in ticks per square-root second."""
        return self.p0 * self.daily_vol / math.sqrt(23_400.0)


@dataclass(frozen=True, slots=True)
class Participants:
    """Who trades one instrument, by role; noise traders carry activity weights."""

    makers: tuple[int, ...]
    hft: tuple[int, ...]
    institutions: tuple[int, ...]
    momentum: tuple[int, ...]
    noise: tuple[int, ...]
    noise_weights: tuple[float, ...]
    liquidity_provider: tuple[int, ...]

    def busy_noise(self) -> tuple[int, ...]:
        """The most active third of the noise traders."""
        ranked = sorted(zip(self.noise_weights, self.noise, strict=True), reverse=True)
        return tuple(a for _, a in ranked[: max(3, len(ranked) // 3)])

    def takers(self) -> tuple[int, ...]:
        """Accounts that trade directionally here: institutions, momentum, busy noise traders."""
        return self.institutions + self.momentum + self.busy_noise()

    def regulars(self) -> tuple[int, ...]:
        """Accounts sure to trade normally here: all but the least active noise traders."""
        return self.makers + self.hft + self.takers()


@dataclass(frozen=True, slots=True)
class Universe:
    """All instruments, accounts and per-instrument participants of one day."""

    instruments: tuple[InstrumentSpec, ...]
    accounts: tuple[Account, ...]
    trader_ids: tuple[str, ...]
    participants: tuple[Participants, ...]


_ROLE_SHARES = (
    (Role.MAKER, 0.05),
    (Role.HFT, 0.04),
    (Role.INSTITUTION, 0.06),
    (Role.MOMENTUM, 0.10),
)
#: Share of accounts that use the venue's self-trade prevention, by role.
_STP_SHARE: Mapping[Role, float] = MappingProxyType(
    {
        Role.MAKER: 0.95,
        Role.HFT: 0.95,
        Role.INSTITUTION: 0.9,
        Role.MOMENTUM: 0.6,
        Role.NOISE: 0.2,
    }
)
_TICKS = (0.0001, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25)


def _account(index: int, role: Role, rand: Rand) -> Account:
    if role is Role.MAKER:
        flags = ALGO | (HFT if rand.chance(0.6) else 0)
        latency = rand.loguniform(0.0002, 0.01)
    elif role is Role.HFT:
        flags = ALGO | HFT
        latency = rand.loguniform(0.00005, 0.002)
    elif role is Role.INSTITUTION:
        flags = ALGO
        latency = rand.loguniform(0.01, 0.5)
    elif role is Role.MOMENTUM:
        flags = ALGO if rand.chance(0.5) else 0
        if flags and rand.chance(0.25):
            flags |= HFT
        latency = rand.loguniform(0.001, 0.5) if flags else rand.loguniform(0.2, 2.0)
    else:
        flags = ALGO if rand.chance(0.08) else 0
        latency = rand.loguniform(0.05, 0.5) if flags else rand.loguniform(0.3, 3.0)
    stp = rand.chance(_STP_SHARE[role])
    return Account(index, role, flags, rand.uniform(0.3, 0.9), latency, stp)


def _accounts(n: int, rand: Rand) -> tuple[Account, ...]:
    roles: list[Role] = []
    for role, share in _ROLE_SHARES:
        roles += [role] * max(4, round(n * share))
    roles += [Role.NOISE] * max(0, n - len(roles))
    roles = roles[:n]
    order = rand.generator.permutation(n).tolist()
    return tuple(_account(i, roles[order[i]], rand) for i in range(n))


def _instrument(
    index: int, cfg: MarketConfig, rand: Rand, illiquid: bool, weight: float, events: float
) -> InstrumentSpec:
    """Draw one instrument; its tick grid is coarse enough for its activity.

    A day's range in ticks grows like the square root of the number of events (a busy book
    moves tick by tick, a quiet one jumps), so the price level in ticks follows from the
    event budget and a daily volatility, and the tick size from the price level.
    """
    venue = cfg.venues[rand.randint(0, len(cfg.venues) - 1)]
    daily_vol = rand.uniform(0.02, 0.05) if illiquid else rand.uniform(0.008, 0.03)
    day_ticks = rand.uniform(0.12, 0.4) * math.sqrt(max(events, 300.0))
    p0 = max(60, round(day_ticks / daily_vol))
    ticks = [t for t in _TICKS if 3.0 <= p0 * t <= 400.0] or [0.01]
    tick = 0.01 if 0.01 in ticks and rand.chance(0.5) else ticks[rand.randint(0, len(ticks) - 1)]
    p0 = max(60, round(p0 * rand.uniform(0.8, 1.25)))
    notional = rand.loguniform(4_000.0, 60_000.0)
    typical = max(100, int(round(notional / (p0 * tick), -2)))
    half_spread = rand.loguniform(0.6, 3.5)
    if illiquid:
        half_spread *= rand.uniform(1.5, 3.0)
    impact = half_spread * rand.uniform(0.15, 0.4) * (2.0 if illiquid else 1.0)
    ident = isin(rand, venue)
    return InstrumentSpec(
        index, ident, venue, tick, p0, typical, daily_vol, half_spread, impact, illiquid, weight
    )


def _pick(rand: Rand, pool: list[int], k: int) -> tuple[int, ...]:
    k = max(0, min(k, len(pool)))
    chosen = rand.generator.choice(len(pool), size=k, replace=False).tolist()
    return tuple(pool[i] for i in sorted(chosen))


def _participants(
    spec: InstrumentSpec, by_role: dict[Role, list[int]], n_noise: int, rand: Rand
) -> Participants:
    il = spec.illiquid
    makers = _pick(rand, by_role[Role.MAKER], rand.randint(1, 2) if il else rand.randint(2, 5))
    hft = () if il else _pick(rand, by_role[Role.HFT], rand.randint(1, 3))
    inst = _pick(rand, by_role[Role.INSTITUTION], rand.randint(1, 2) if il else rand.randint(2, 5))
    mom = _pick(rand, by_role[Role.MOMENTUM], rand.randint(2, 4) if il else rand.randint(3, 8))
    noise = _pick(rand, by_role[Role.NOISE], n_noise)
    zipf = rand.uniform(0.7, 1.2)
    ranks = rand.generator.permutation(len(noise)).tolist()
    weights = tuple(1.0 / (1 + r) ** zipf for r in ranks)
    # Each agency desk streams its child orders to one usual liquidity provider (a maker).
    lp = tuple(makers[rand.randint(0, len(makers) - 1)] for _ in inst)
    return Participants(makers, hft, inst, mom, noise, weights, lp)


def build_universe(cfg: MarketConfig, rand: Rand) -> Universe:
    """Draw the instruments, the account pool and who trades what."""
    n = cfg.instrument_count
    n_illiquid = min(n - 1, max(1, round(n * cfg.illiquid_share))) if cfg.illiquid_share > 0 else 0
    raw = rand.generator.lognormal(0.0, 0.7, size=n).tolist()
    weights = [
        raw[i] * (rand.uniform(0.04, 0.12) if i >= n - n_illiquid else 1.0) for i in range(n)
    ]
    total = sum(weights)
    instruments = [
        _instrument(i, cfg, rand, i >= n - n_illiquid, w, cfg.n_events * w / total)
        for i, w in enumerate(weights)
    ]
    taken: set[str] = set()
    for i, spec in enumerate(instruments):
        while spec.instrument_id in taken:
            spec = replace(spec, instrument_id=isin(rand, spec.venue))
        taken.add(spec.instrument_id)
        instruments[i] = spec
    accounts = _accounts(cfg.trader_count, rand)
    by_role: dict[Role, list[int]] = {r: [] for r in Role}
    for a in accounts:
        by_role[a.role].append(a.index)
    n_noise_pool = len(by_role[Role.NOISE])
    parts = []
    for spec in instruments:
        base = n_noise_pool * (0.1 if spec.illiquid else 0.35) * min(1.0, 4.0 / math.sqrt(n))
        k = int(np.clip(base, 8 if spec.illiquid else 20, 60 if spec.illiquid else 250))
        parts.append(_participants(spec, by_role, k, rand))
    ids: list[str] = []
    seen: set[str] = set()
    while len(ids) < len(accounts):
        candidate = lei(rand)
        if candidate not in seen:
            seen.add(candidate)
            ids.append(candidate)
    return Universe(tuple(instruments), accounts, tuple(ids), tuple(parts))
