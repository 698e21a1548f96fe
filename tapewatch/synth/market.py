"""Generate a labelled market day: plan the universe and the abuse, simulate every instrument's
book (in a small process pool for large days), and merge the tapes by time."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np
import pyarrow as pa

from tapewatch.synth.abuse.base import Episode
from tapewatch.synth.abuse.planner import expected_events, plan_episodes
from tapewatch.synth.config import MarketConfig
from tapewatch.synth.instrument import InstrumentJob, simulate
from tapewatch.synth.rng import Rand
from tapewatch.synth.tape import build_table
from tapewatch.synth.universe import Universe, build_universe

_POOL_MIN_EVENTS = 150_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _jobs(cfg: MarketConfig) -> tuple[Universe, list[InstrumentJob], list[str], Rand]:
    seeds = np.random.SeedSequence(cfg.seed).spawn(cfg.instrument_count + 1)
    plan = Rand(np.random.default_rng(seeds[0]))
    universe = build_universe(cfg, plan)
    episodes = plan_episodes(cfg, universe, plan)
    session_us = round(cfg.session_seconds * 1_000_000)
    abuse = sum(expected_events(e) for e in episodes)
    normal = max(cfg.n_events * 0.5, cfg.n_events - abuse)
    total_w = sum(s.weight for s in universe.instruments)
    per_inst: list[list[Episode]] = [[] for _ in universe.instruments]
    for e in episodes:
        per_inst[e.instrument].append(e)
    jobs = [
        InstrumentJob(
            spec=s,
            participants=universe.participants[s.index],
            accounts=universe.accounts,
            episodes=tuple(sorted(per_inst[s.index], key=lambda e: e.scen)),
            seed=seeds[1 + s.index],
            session_us=session_us,
            normal_target=max(50, round(normal * s.weight / total_w)),
        )
        for s in universe.instruments
    ]
    scen = [""] * len(episodes)
    day = cfg.date.strftime("%Y%m%d")
    for e in episodes:
        scen[e.scen] = f"SCN-{day}-{e.scen + 1:05d}"
    return universe, jobs, scen, plan


def generate_market(
    cfg: MarketConfig,
    progress: Callable[[int], None] | None = None,
    *,
    workers: int | None = None,
) -> pa.Table:
    """Simulate one labelled market day; the same ``cfg`` always gives the same table.

    ``progress`` is called with the number of events produced so far as instruments finish.
    ``workers`` (default: up to 2 processes for large days) never changes the result.
    """
    universe, jobs, scenario_ids, plan = _jobs(cfg)
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if cfg.n_events >= _POOL_MIN_EVENTS else 1
    parts: dict[int, np.ndarray] = {}
    done = 0
    # Biggest instruments first so the pool's workers finish together.
    queue = sorted(jobs, key=lambda j: -j.normal_target)
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("forkserver")) as pool:
            futures = {pool.submit(simulate, j): j.spec.index for j in queue}
            for fut, idx in futures.items():
                parts[idx] = fut.result()
                done += len(parts[idx])
                if progress is not None:
                    progress(done)
    else:
        for j in queue:
            parts[j.spec.index] = simulate(j)
            done += len(parts[j.spec.index])
            if progress is not None:
                progress(done)
    open_us = (cfg.open_utc - _EPOCH) // dt.timedelta(microseconds=1)
    id_base = plan.randint(10**11, 9 * 10**11)
    return build_table(
        [parts[i] for i in range(len(jobs))],
        universe,
        open_us,
        scenario_ids,
        id_base,
        int(cfg.date.strftime("%Y%m%d")),
    )
