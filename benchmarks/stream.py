"""Streaming benchmarks (make bench): throughput, latency and memory of `tapewatch stream`.

1. Maximum sustained throughput end to end (source, validation, features, both models,
   rules, alerts into SQLite, scores into the Parquet lake, checkpoints): one worker on
   one core reading a file, and two workers, each on its own core, reading two Redis
   partitions of a published day.
2. Latency from an event entering the source to its score being written and its alerts
   handed to the alert process, as `tapewatch stream` itself prints it, pinned to one
   core, replaying a whole generated day at 10,000 events/s for 60 s: P50, P99, P99.9.
3. Memory over 10,000,000 events from 1,000,000 distinct traders (idle keys evicted).

Prints a Markdown table for docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import multiprocessing as mp
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import redis
from demo_model import QUIET_MIX, demo_model_dir
from report import peak_rss_mb, print_table

from tapewatch.engine.checkpoint import CheckpointStore
from tapewatch.engine.defaults import ROWS_PER_MESSAGE
from tapewatch.engine.heap import freeze_loaded
from tapewatch.engine.pipeline import Provenance, ScoringPipeline
from tapewatch.engine.redis_streams import (
    RedisDeadLetters,
    RedisSource,
    publish,
    wait_for_redis,
)
from tapewatch.engine.sources import FileSource, Source
from tapewatch.engine.stream import BatchPolicy, DeadLetterSink, FileDeadLetters, StreamWorker
from tapewatch.learn.registry import load_model
from tapewatch.store.alerts import AlertStore
from tapewatch.store.lake import ScoredLake
from tapewatch.synth import AbuseMix, MarketConfig, generate_market


def rss_mb() -> float:
    """Resident memory of this process now, in MiB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_worker(
    model_dir: Path,
    source: Source,
    dead: DeadLetterSink,
    work: Path,
    policy: BatchPolicy,
    max_idle: float | None = None,
    explain: str = "treeshap",
) -> tuple[StreamWorker, float, float, int]:
    """A worker as `tapewatch stream` builds it; returns it with the wall-clock time its first
    batch ended and the time it ended (its last batch, or its source's end), and the events
    in that first batch."""
    model = load_model(model_dir, n_threads=1)
    model = replace(model, scoring=replace(model.scoring, explanation=explain))
    worker = StreamWorker(
        source,
        ScoringPipeline(model, Provenance(model.version, model.config_hash, "bench")),
        AlertStore(str(work / "alerts.db")),
        dead,
        policy,
        lake=ScoredLake(work / "lake"),
        checkpoints=CheckpointStore(work / "checkpoint"),
        checkpoint_seconds=5.0,
        max_idle_seconds=max_idle,
        on_ready=freeze_loaded,
    )
    firsts: list[tuple[float, int]] = []
    worker.on_batch = lambda m: firsts.append((time.time(), m.events)) if not firsts else None
    worker.run()
    last = time.time() - (max_idle or 0.0)
    first, first_events = firsts[0] if firsts else (last, 0)
    return worker, first, last, first_events


@contextlib.contextmanager
def one_core() -> Iterator[None]:
    """Pin this process to its first core for the block, then give it all of them back
    (a process left pinned would pin every worker and server it starts afterwards)."""
    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cores)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, cores)


def file_throughput(
    model_dir: Path, day: Path, policy: BatchPolicy, explain: str
) -> tuple[int, int, float, float]:
    """Events, alerts, seconds from start to end (model loading and warm-up included) and
    sustained events/s (from the end of the first batch to the end of the run, the final
    checkpoint included) for one worker, pinned to one core, over a file."""
    with one_core(), tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t = time.perf_counter()
        worker, first, last, first_events = run_worker(
            model_dir,
            FileSource(day),
            FileDeadLetters(work / "dead.jsonl"),
            work,
            policy,
            explain=explain,
        )
        n = worker.metrics.events
        sustained = (n - first_events) / (last - first) if last > first else 0.0
        return n, worker.metrics.alerts, time.perf_counter() - t, sustained


def _redis_worker(args: tuple[str, int, Path, str, int, BatchPolicy]) -> tuple[int, float, float]:
    url, partition, model_dir, work, core, policy = args
    os.sched_setaffinity(0, {core})
    source = RedisSource(url, [partition], "bench", f"bench-{partition}")
    worker, first, last, _ = run_worker(
        model_dir, source, RedisDeadLetters(url), Path(work), policy, max_idle=2.0
    )
    return worker.metrics.events, first, last


def redis_throughput(
    model_dir: Path, day: Path, policy: BatchPolicy, rows_per_message: int
) -> tuple[list[int], float, float]:
    """Events per worker and seconds for two workers on two cores over two partitions,
    from the first batch to the last; and the seconds `publish` took."""
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    port = 6390
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen(
            ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
             "--dir", tmp],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for_redis(redis.Redis(port=port))
            url = f"redis://127.0.0.1:{port}/bench"
            t = time.perf_counter()
            publish(day, url, 2, rows_per_message=rows_per_message)
            publish_s = time.perf_counter() - t
            cores = sorted(os.sched_getaffinity(0))
            jobs = []
            for k in range(2):
                (Path(tmp) / f"w{k}").mkdir()
                jobs.append((url, k, model_dir, f"{tmp}/w{k}", cores[k % len(cores)], policy))
            with mp.get_context("spawn").Pool(2) as pool:
                results = pool.map(_redis_worker, jobs)
        finally:
            server.terminate()
            server.wait()
    start = min(r[1] for r in results)
    end = max(r[2] for r in results)
    return [r[0] for r in results], end - start, publish_s


def command_latency(model_dir: Path, day: Path, rate: float, batch_ms: float) -> list[float]:
    """P50, P99, P99.9 (ms) of `tapewatch stream` itself, pinned to one core, replaying a
    file at `rate` events/s: what the command prints when it ends."""
    pin = ["taskset", "-c", str(min(os.sched_getaffinity(0)))]
    tapewatch = str(Path(sys.executable).with_name("tapewatch"))
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [*pin, tapewatch, "stream", "--source", f"file://{day.resolve()}?rate={rate:g}",
             "--model", str(model_dir.resolve()), "--batch-ms", f"{batch_ms:g}",
             "--max-idle", "2", "--quiet"],
            cwd=tmp, capture_output=True, text=True, check=False,
        )  # fmt: skip
    said = " ".join(done.stdout.split())
    found = re.search(r"p50 ([\d.]+) ms p99 ([\d.]+) ms p99\.9 ([\d.]+) ms", said)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"tapewatch stream failed:\n{done.stderr or said}")
    return [float(v) for v in found.groups()]


def many_traders(n_events: int, n_traders: int, chunk: int, seed: int = 0) -> pa.Table:
    """Events of traders who each trade a burst of ten events, then fall silent: about
    n_events / 10 bursts spread over 40 hours of event time, cycling through n_traders."""
    rng = np.random.default_rng(seed)
    t0 = int(dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC).timestamp() * 1e6)
    span_us = 40 * 3600 * 1_000_000
    for start in range(0, n_events, chunk):
        i = np.arange(start, min(start + chunk, n_events))
        burst = i // 10
        trader = (burst * 7919) % n_traders
        ts = t0 + (i * (span_us / n_events)).astype(np.int64)
        status = rng.choice(["NEW", "CANCELLED", "EXECUTED"], len(i), p=[0.5, 0.3, 0.2])
        price = 100 + rng.integers(-20, 20, len(i)) * 0.01
        yield pa.table(
            {
                "transaction_id": pa.array([f"T{x}" for x in i]),
                "timestamp": pa.array(ts, pa.timestamp("us", tz="UTC")),
                "order_id": pa.array([f"O{b}-{x % 3}" for b, x in zip(burst, i, strict=True)]),
                "trader_id": pa.array([f"ACC{t:07d}" for t in trader]),
                "counterparty_id": pa.array([f"ACC{(t + 1) % n_traders:07d}" for t in trader]),
                "instrument_id": pa.array([f"INST{t % 20:02d}" for t in trader]),
                "order_status": pa.array(status),
                "side": pa.array(rng.choice(["BUY", "SELL"], len(i))),
                "order_type": pa.array(["LIMIT"] * len(i)),
                "price": pa.array(price),
                "quantity": pa.array(rng.integers(1, 50, len(i)) * 100.0),
                "trading_venue": pa.array(["XTST"] * len(i)),
                "bid_price": pa.array(price - 0.01),
                "ask_price": pa.array(price + 0.01),
            }
        )


def memory_flat(model_dir: Path, n_events: int, n_traders: int) -> list[tuple[int, float, int]]:
    """(events so far, RSS MiB, live trader keys) along a long stream of many traders."""
    from tapewatch.schema.raw import RawTable
    from tapewatch.schema.validate import validate_events

    model = load_model(model_dir, n_threads=1)
    pipeline = ScoringPipeline(model, Provenance(model.version, model.config_hash, "bench"))
    out, done = [], 0
    for table in many_traders(n_events, n_traders, 50_000):
        events = validate_events(RawTable(table, 1, "row")).good
        pipeline.process(events)
        done += events.num_rows
        if done % 1_000_000 == 0:
            out.append((done, rss_mb(), pipeline.features.n_keys["traders"]))
    pipeline.finish()
    return out


def _memory_job(
    model_dir: Path, n_events: int, n_traders: int
) -> tuple[list[tuple[int, float, int]], float]:
    curve = memory_flat(model_dir, n_events, n_traders)
    return curve, peak_rss_mb()


def main() -> None:
    """Run the benchmarks and print a Markdown table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--train-events", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--latency-seconds", type=float, default=60.0)
    parser.add_argument("--memory-events", type=int, default=10_000_000)
    parser.add_argument("--memory-traders", type=int, default=1_000_000)
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []
    model_dir = demo_model_dir(args.train_events)
    with tempfile.TemporaryDirectory() as tmp:
        days = {}
        for name, seed, mix in (("~10 % abuse", 11, AbuseMix()), ("~1 % abuse", 13, QUIET_MIX)):
            days[name] = Path(tmp) / f"day-{seed}.parquet"
            events = generate_market(
                MarketConfig(n_events=args.events, seed=seed, date=dt.date(2026, 4, 14), mix=mix)
            )
            pq.write_table(events, days[name])
        for (name, day), explain in itertools.product(days.items(), ("treeshap", "saabas")):
            policy = BatchPolicy(10_000, 20.0)
            n, alerts, seconds, sustained = file_throughput(model_dir, day, policy, explain)
            rows.append(
                (
                    f"one worker, one core, file source, {name} ({alerts / n * 1e4:.0f} alerts "
                    f"per 10k events, {explain}), batches of 10,000 / 20 ms, end to end",
                    f"**{sustained:,.0f} events/s** sustained (first batch to end); "
                    f"{n / seconds:,.0f} events/s with start-up ({n:,} in {seconds:.1f} s)",
                )
            )
        quiet = days["~1 % abuse"]
        for per_message in (ROWS_PER_MESSAGE, 1):
            counts, seconds, publish_s = redis_throughput(
                model_dir, quiet, BatchPolicy(10_000, 20.0), per_message
            )
            form = "one JSON event" if per_message == 1 else f"blocks of {per_message:,} events"
            rows.append(
                (
                    "two workers, one core each, Redis Streams (2 partitions, "
                    f"{form} a message), ~1 % abuse, treeshap, batches of 10,000 / 20 ms, "
                    "first batch to last",
                    f"**{sum(counts) / seconds:,.0f} events/s** ({counts[0]:,} + "
                    f"{counts[1]:,} in {seconds:.1f} s; publishing took {publish_s:.1f} s)",
                )
            )
        # whole days of 600,000 events, as a user generates them: a slice of a longer day
        # would leave out its close, where most alerts fall
        n_paced = int(10_000 * args.latency_seconds)
        for name, seed, mix in (("~1 % abuse", 21, QUIET_MIX), ("~10 % abuse", 22, AbuseMix())):
            paced = Path(tmp) / f"paced-{seed}.parquet"
            pq.write_table(
                generate_market(MarketConfig(n_events=n_paced, seed=seed, mix=mix)), paced
            )
            for batch_ms in (2.0, 1.0):
                p50, p99, p999 = command_latency(model_dir, paced, 10_000, batch_ms)
                rows.append(
                    (
                        f"`taskset -c 0 tapewatch stream --source file://DAY?rate=10000 "
                        f"--batch-ms {batch_ms:g}`, DAY {n_paced:,} events, {name}, "
                        "as the command prints it",
                        f"P50 **{p50:.2f} ms**, P99 **{p99:.2f} ms**, P99.9 **{p999:.2f} ms**",
                    )
                )
    if args.memory_events:
        # a process of its own: this one still holds what the runs above left behind
        with mp.get_context("spawn").Pool(1) as pool:
            curve, peak = pool.apply(
                _memory_job, (model_dir, args.memory_events, args.memory_traders)
            )
        rows.append(
            (
                f"memory over {args.memory_events:,} events from {args.memory_traders:,} traders "
                "(RSS at each million; live trader keys), in a process of its own",
                "; ".join(f"{n // 1_000_000}M: {mb:,.0f} MiB ({k:,})" for n, mb, k in curve)
                + f"; peak {peak:,.0f} MiB",
            )
        )
    print_table(rows)


if __name__ == "__main__":
    main()
