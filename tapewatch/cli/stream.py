"""`tapewatch stream` and `tapewatch publish`: the real-time path."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from tapewatch.cli.common import (
    DEFAULT_DB,
    DEFAULT_DEADLETTER,
    DEFAULT_LAKE,
    Db,
    DeadLetterDir,
    Explain,
    Quiet,
    console,
    load_bundle,
    open_store,
)
from tapewatch.engine.defaults import BATCH_EVENTS, BATCH_MS, CHECKPOINT_SECONDS, ROWS_PER_MESSAGE
from tapewatch.store.paths import DEFAULT_CHECKPOINTS

if TYPE_CHECKING:
    from tapewatch.engine.sources import Source
    from tapewatch.engine.stream import DeadLetterSink, StreamSummary, StreamWorker
    from tapewatch.monitor.live import StreamMetrics


def stream(
    source: Annotated[
        str,
        typer.Option(
            help="file://events.parquet[?rate=EV_PER_S|?speed=X], stdin (JSON Lines), "
            "or redis://host:port/prefix."
        ),
    ],
    model: Annotated[Path, typer.Option(help="Model directory written by `tapewatch train`.")],
    partitions: Annotated[
        str, typer.Option(help="Redis partitions this worker consumes, e.g. 0-3 or 0,2.")
    ] = "0",
    group: Annotated[str, typer.Option(help="Redis consumer group.")] = "surveillance",
    db: Db = str(DEFAULT_DB),
    lake: Annotated[
        Path | None, typer.Option(help="Scored-event lake (Parquet by date and instrument).")
    ] = DEFAULT_LAKE,
    checkpoint_dir: Annotated[
        Path | None,
        typer.Option(help=f"Checkpoint directory; default {DEFAULT_CHECKPOINTS}/<worker>."),
    ] = None,
    checkpoint_seconds: Annotated[
        float, typer.Option(help="Seconds between checkpoints.")
    ] = CHECKPOINT_SECONDS,
    batch_events: Annotated[
        int,
        typer.Option(
            help="A micro-batch closes at this many events (a Redis entry is never split, "
            "so a batch read from blocks may pass it by up to one block)."
        ),
    ] = BATCH_EVENTS,
    batch_ms: Annotated[
        float, typer.Option(help="... or this many ms after its first event.")
    ] = BATCH_MS,
    max_idle: Annotated[
        float | None, typer.Option(help="End after this many seconds without input.")
    ] = None,
    alerts_out: Annotated[
        Path | None, typer.Option(help="Write the run's alerts (Parquet) when it ends.")
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve Prometheus metrics on this port (/metrics).")
    ] = None,
    explain: Explain = None,
    deadletter_dir: DeadLetterDir = DEFAULT_DEADLETTER,
    quiet: Quiet = False,
) -> None:
    """Score events as they arrive; persist alerts and scores; checkpoint to survive crashes."""
    from tapewatch.engine.alert_process import AlertProcess
    from tapewatch.engine.checkpoint import CheckpointStore
    from tapewatch.engine.heap import freeze_loaded
    from tapewatch.engine.pipeline import Provenance, ScoringPipeline
    from tapewatch.engine.stream import BatchPolicy, StreamWorker
    from tapewatch.monitor.live import StreamMetrics
    from tapewatch.schema.writers import write_parquet_atomic
    from tapewatch.store.lake import ScoredLake

    bundle = load_bundle(model, explain)
    worker_name = _worker_name(source, partitions)
    src, dead = _source(source, partitions, group, worker_name, deadletter_dir)
    pipeline = ScoringPipeline(bundle, Provenance(bundle.version, bundle.config_hash, source))
    metrics = StreamMetrics()
    if metrics_port is not None:
        metrics.serve(metrics_port)
    alert_store = open_store(db, bundle, model)
    alert_process = AlertProcess(model, db, pipeline.provenance, explain)
    worker = StreamWorker(
        src,
        pipeline,
        alert_store,
        dead,
        BatchPolicy(batch_events, batch_ms),
        lake=ScoredLake(lake) if lake is not None else None,
        checkpoints=CheckpointStore(checkpoint_dir or DEFAULT_CHECKPOINTS / worker_name),
        checkpoint_seconds=checkpoint_seconds,
        max_idle_seconds=max_idle,
        metrics=metrics,
        on_ready=freeze_loaded,
        alert_process=alert_process,
    )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())  # drain the current batch, then stop
    out = console()
    with alert_process:
        summary = run_worker(worker, stop, src, quiet=quiet, out=out)
    metrics.set_lag(src.lag())
    src.close()
    if alerts_out is not None:
        write_parquet_atomic(worker.alerts_raised(), alerts_out)
    out.print(
        f"{summary.ended}: {summary.events:,} events scored, {summary.dead_letters:,} dead "
        f"letters, {summary.alerts:,} alerts in {db}"
        + (f" (resumed from {summary.restored_from})" if summary.restored_from else "")
    )
    out.print(metrics.status())
    alert_store.close()


def run_worker(
    worker: StreamWorker, stop: threading.Event, src: Source, *, quiet: bool, out: Console
) -> StreamSummary:
    """Run a worker to its end, sampling the source's lag and, unless quiet, showing the
    live status line (events/s, lag, alerts, latency percentiles)."""
    from rich.live import Live
    from rich.text import Text

    shown = [0.0]

    def lag_only(metrics: StreamMetrics) -> None:
        now = time.monotonic()
        if now - shown[0] >= 0.5:
            shown[0] = now
            metrics.set_lag(src.lag())

    if quiet:
        worker.on_batch = lag_only
        return worker.run(stop)
    with Live(
        Text(worker.metrics.status()), console=out, refresh_per_second=4, transient=True
    ) as live:

        def update(metrics: StreamMetrics) -> None:
            before = shown[0]
            lag_only(metrics)
            if shown[0] != before:
                live.update(Text(metrics.status()))

        worker.on_batch = update
        return worker.run(stop)


def _worker_name(source: str, partitions: str) -> str:
    from tapewatch.engine.redis_streams import parse_partitions

    if source.startswith("redis://"):
        return "redis-p" + "-".join(str(p) for p in parse_partitions(partitions))
    if source in ("stdin", "-"):
        return "stdin"
    return "file-" + Path(source.split("?", 1)[0].removeprefix("file://")).stem


def _source(
    url: str, partitions: str, group: str, worker_name: str, deadletter_dir: Path
) -> tuple[Source, DeadLetterSink]:
    from tapewatch.engine.redis_streams import RedisDeadLetters, RedisSource, parse_partitions
    from tapewatch.engine.sources import StdinSource, file_source_from_url
    from tapewatch.engine.stream import FileDeadLetters

    if url.startswith("redis://"):
        return (
            RedisSource(url, parse_partitions(partitions), group, worker_name),
            RedisDeadLetters(url),
        )
    letters = FileDeadLetters(deadletter_dir / f"{worker_name}.deadletter.jsonl")
    if url in ("stdin", "-"):
        return StdinSource(), letters
    if url.startswith("file://"):
        return file_source_from_url(url), letters
    raise ValueError(f"unknown source {url!r}: use file://PATH, stdin or redis://host:port/prefix")


def publish_command(
    input_path: Annotated[Path, typer.Argument(metavar="FILE", help="Events file to publish.")],
    to: Annotated[str, typer.Option(help="redis://host:port/prefix")],
    partitions: Annotated[int, typer.Option(help="Number of partitions (streams).")] = 4,
    rows_per_message: Annotated[
        int,
        typer.Option(
            min=1,
            help="Events per stream entry, as an Arrow IPC block; 1 writes each event as "
            "one JSON object (field e), the form any producer can write.",
        ),
    ] = ROWS_PER_MESSAGE,
) -> None:
    """Publish an events file to Redis Streams, partitioned by instrument."""
    from tapewatch.engine.redis_streams import publish

    counts = publish(input_path, to, partitions, rows_per_message=rows_per_message)
    console().print(
        f"published {sum(counts):,} events to {partitions} partitions: "
        + ", ".join(f"{k}: {n:,}" for k, n in enumerate(counts))
    )
