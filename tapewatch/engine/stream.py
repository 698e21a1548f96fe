"""The streaming worker: micro-batches from a source through the one scoring pipeline.

Each batch closes on size or on a deadline after its first event. A batch is validated
(bad rows become dead letters), scored, its closed alerts written to the alert store
(idempotently) and its scores buffered for the lake. Every `checkpoint_seconds`, and on
shutdown, the worker writes the lake segment, then its checkpoint, then acknowledges the
source; a restart loads the checkpoint, drops lake segments written after it, and the
source re-delivers what was never acknowledged. So nothing is lost and, since the same
events in the same order give the same alerts with the same ids, nothing is doubled.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa

from tapewatch.detect.alerts import Alert
from tapewatch.engine.alert_process import AlertProcess
from tapewatch.engine.checkpoint import Checkpoint, CheckpointStore
from tapewatch.engine.defaults import BATCH_EVENTS, BATCH_MS, CHECKPOINT_SECONDS
from tapewatch.engine.pipeline import FrozenState, ScoringPipeline
from tapewatch.engine.sources import Chunk, Source
from tapewatch.monitor.live import StreamMetrics
from tapewatch.schema.columns import concat_tables
from tapewatch.schema.deadletter import DeadLetter
from tapewatch.schema.errors import ContractError
from tapewatch.schema.raw import RawTable
from tapewatch.schema.validate import validate_events
from tapewatch.schema.writers import write_dead_letters
from tapewatch.store.alerts import AlertStore
from tapewatch.store.lake import ScoredLake

#: how long an idle worker waits for input per poll
IDLE_POLL_SECONDS = 0.05
#: the checkpoint writer's sleep after each millisecond of pickling the state: scoring
#: waits about a millisecond at most for the GIL (`FrozenState.write_to`)
PICKLE_PAUSE_SECONDS = 0.0001
#: lake batches freed between two such pauses
RELEASE_TABLES = 16
#: how long a thread may hold the GIL while another waits for it (Python's default is
#: 5 ms): when scoring lets go of the GIL for a moment (a model call), the writer thread
#: would otherwise keep it for that long
GIL_SWITCH_SECONDS = 0.0005
#: lake batches the writer combines into one table at a time: a checkpoint's segment is
#: then tens of tables, not thousands, and no one combine holds the GIL for long
COMBINE_TABLES = 64
#: lake batches of this many events on average are not combined
LARGE_LAKE_BATCH = 1_000


@dataclass(frozen=True)
class BatchPolicy:
    """When a micro-batch closes: at `max_events`, or `max_wait_ms` after its first event."""

    max_events: int = BATCH_EVENTS
    max_wait_ms: float = BATCH_MS

    def __post_init__(self) -> None:
        if self.max_events < 1 or self.max_wait_ms < 0:
            raise ValueError("max_events must be >= 1 and max_wait_ms >= 0")


class DeadLetterSink(Protocol):
    """Where rows that fail validation go, with their reason."""

    def write(self, letters: Sequence[DeadLetter], chunk: Chunk) -> None:
        """Set these rejected rows of the chunk aside."""
        ...


class FileDeadLetters:
    """Dead letters appended to a JSON Lines file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, letters: Sequence[DeadLetter], chunk: Chunk) -> None:
        """Append one line per rejected row."""
        write_dead_letters(letters, self.path, source=chunk.raw.source)


@dataclass
class StreamSummary:
    """What a worker run did, over all its restarts."""

    events: int = 0
    dead_letters: int = 0
    alerts: int = 0
    restored_from: dict[str, str] = field(default_factory=dict)
    ended: str = ""


@dataclass
class StreamWorker:
    """Runs a source through a scoring pipeline into the alert store and the lake."""

    source: Source
    pipeline: ScoringPipeline
    store: AlertStore
    dead_letters: DeadLetterSink
    policy: BatchPolicy = field(default_factory=BatchPolicy)
    lake: ScoredLake | None = None
    checkpoints: CheckpointStore | None = None
    checkpoint_seconds: float = CHECKPOINT_SECONDS
    #: end after this long without input (None: wait for ever, or for the source's end)
    max_idle_seconds: float | None = None
    metrics: StreamMetrics = field(default_factory=StreamMetrics)
    on_batch: Callable[[StreamMetrics], None] | None = None
    #: called once the worker has restored and warmed up, before it reads
    on_ready: Callable[[], None] | None = None
    #: explains and stores closed alerts in a process of its own (None: the writer thread
    #: of this process does it, and the batches behind wait for the interpreter lock)
    alert_process: AlertProcess | None = None

    _positions: dict[str, str] = field(default_factory=dict, init=False)
    _segment: int = field(default=0, init=False)
    #: explains and stores closed alerts, and writes each checkpoint's lake segment and
    #: checkpoint file, off the scoring thread and in the order given
    _writer: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)
    #: the alert writes handed to the writer since the last checkpoint began
    _alert_writes: list[Future[None]] = field(default_factory=list, init=False, repr=False)
    #: the checkpoint being written, and the positions to acknowledge once it has landed
    _landing: tuple[Future[None], dict[str, str]] | None = field(default=None, init=False)
    #: the lake's batches since the last checkpoint, being combined on the writer thread
    _lake_blocks: list[Future[pa.Table]] = field(default_factory=list, init=False, repr=False)

    def run(self, stop: threading.Event | None = None) -> StreamSummary:
        """Process until the source ends, the worker idles out, or `stop` is set."""
        before = sys.getswitchinterval()
        sys.setswitchinterval(GIL_SWITCH_SECONDS)
        try:
            return self._run(stop or threading.Event())
        finally:
            sys.setswitchinterval(before)

    def _run(self, stop: threading.Event) -> StreamSummary:
        summary = StreamSummary()
        self._restore(summary)
        self.pipeline.warm_up()
        if self.on_ready is not None:
            self.on_ready()
        last_input = last_checkpoint = time.monotonic()
        while not stop.is_set():
            chunks, ended = self._collect()
            if chunks:
                self._process(chunks)
                last_input = time.monotonic()
                if self.on_batch is not None:
                    self.on_batch(self.metrics)
            if self._landing is not None and self._landing[0].done():
                self._acknowledge()
            if ended:
                summary.ended = "end of input"
                break
            now = time.monotonic()
            if self.max_idle_seconds is not None and now - last_input > self.max_idle_seconds:
                summary.ended = f"idle for {self.max_idle_seconds:g} s"
                break
            # one checkpoint in flight at a time: while the writer is still landing one
            # (it runs only when scoring leaves the core free), scoring goes on
            if now - last_checkpoint >= self.checkpoint_seconds and self._landing is None:
                self._checkpoint()
                last_checkpoint = now
        if stop.is_set():
            summary.ended = "stopped"
        else:  # the input is over: close the alerts still open
            self.metrics.alerts += self._persist(self.pipeline.finish())
        self._checkpoint()
        self._acknowledge()
        if self._writer is not None:
            self._writer.shutdown()
            self._writer = None
        summary.events = self.metrics.events
        summary.dead_letters = self.metrics.dead_letters
        summary.alerts = self.metrics.alerts
        return summary

    def alerts_raised(self) -> pa.Table:
        """The alerts this run persisted (over all its restarts), in the contract's columns."""
        return self.store.table(input_hash=self.pipeline.provenance.input_hash)

    def _restore(self, summary: StreamSummary) -> None:
        if self.checkpoints is None:
            return
        checkpoint = self.checkpoints.load()
        if checkpoint is None:
            return
        if checkpoint.model_version != self.pipeline.model.version:
            raise ValueError(
                f"{self.checkpoints.path}: written with model {checkpoint.model_version}, "
                f"not {self.pipeline.model.version}; use a new checkpoint directory"
            )
        source = self.pipeline.provenance.input_hash
        if checkpoint.source != source:
            raise ValueError(
                f"{self.checkpoints.path}: written reading {checkpoint.source!r}, not "
                f"{source!r}; use a new checkpoint directory"
            )
        self.pipeline.restore(checkpoint.pipeline)
        self._positions = dict(checkpoint.positions)
        self._segment = checkpoint.lake_segment
        self.metrics.events = checkpoint.totals.get("events", 0)
        self.metrics.dead_letters = checkpoint.totals.get("dead_letters", 0)
        self.metrics.alerts = checkpoint.totals.get("alerts", 0)
        if self.lake is not None:
            self.lake.drop_after(self._segment)
        self.source.seek(self._positions)
        summary.restored_from = dict(self._positions)

    def _collect(self) -> tuple[list[Chunk], bool]:
        """Chunks until the batch is full or its deadline passes; and whether input ended.

        Once a batch has begun, the source is read every quarter of the window rather
        than as each event arrives: a read, and each chunk merged into the batch, has a
        fixed cost, and a batch is scored only at its deadline anyway (or once full).
        """
        chunks: list[Chunk] = []
        rows = 0
        deadline: float | None = None
        step = self.policy.max_wait_ms / 4000
        while rows < self.policy.max_events:
            now = time.monotonic()
            if deadline is not None:
                if now >= deadline:
                    break
                time.sleep(min(step, deadline - now))
            timeout = IDLE_POLL_SECONDS if deadline is None else 0.0
            chunk = self.source.read(self.policy.max_events - rows, timeout)
            if chunk is None:
                return chunks, True
            if chunk.raw.num_rows == 0 and not chunk.raw.rejected:
                if deadline is None:
                    break  # nothing arrived: let the caller check idling and checkpoints
                continue
            chunks.append(chunk)
            rows += chunk.raw.num_rows
            if deadline is None and len(chunk.arrived_ns):
                # from the first event's arrival, not from its reading: events that came
                # while the batch before was scored have waited already
                first = int(chunk.arrived_ns.min()) / 1e9
                deadline = first + self.policy.max_wait_ms / 1000
        return chunks, False

    def _process(self, chunks: list[Chunk]) -> None:
        goods, n_dead = [], 0
        # validation has a fixed cost per call: one call per batch, not per chunk
        for chunk in merge_chunks(chunks):
            try:
                result = validate_events(chunk.raw)
            except ContractError as exc:  # a chunk without the required columns at all
                letters = _whole_chunk_rejected(chunk, str(exc))
                self.dead_letters.write(letters, chunk)
                n_dead += len(letters)
            else:
                if result.bad:
                    self.dead_letters.write(result.bad, chunk)
                    n_dead += len(result.bad)
                if result.good.num_rows:
                    goods.append(result.good)
            self._positions.update(chunk.positions)
        n_alerts, n_flagged, n_events = 0, 0, sum(g.num_rows for g in goods)
        if goods:
            events = goods[0] if len(goods) == 1 else concat_tables(goods)
            scored = self.pipeline.process(events)
            n_alerts = self._persist(scored.closed_alerts)
            n_flagged = int(np.count_nonzero(scored.decisions.flagged))
            if self.lake is not None:
                self.lake.append(events, scored.scores)
                if self.lake.buffered_tables >= COMBINE_TABLES:
                    self._combine_lake()
        arrived = np.concatenate([c.arrived_ns for c in chunks])
        self.metrics.record_batch(
            time.monotonic_ns() - arrived, n_events, n_dead, n_alerts, n_flagged
        )

    def _persist(self, alerts: list[Alert]) -> int:
        """Hand closed alerts to the alert process (or the writer thread), which explains
        and stores them; how many. Explaining is Python work that the batches behind it
        would otherwise wait for. Both take their work in order, and a checkpoint lands
        only once every alert handed over before it is stored, so the source is
        acknowledged only after that."""
        if not alerts:
            return 0
        if self.alert_process is not None:
            self.alert_process.submit(alerts)
        else:
            self._alert_writes.append(self._writer_thread().submit(self._store_alerts, alerts))
        return len(alerts)

    def _store_alerts(self, alerts: list[Alert]) -> None:
        self.store.put(self.pipeline.alert_table(alerts))

    def _writer_thread(self) -> ThreadPoolExecutor:
        if self._writer is None:
            self._writer = ThreadPoolExecutor(
                1, thread_name_prefix="tapewatch-writer", initializer=_yield_to_scoring
            )
        return self._writer

    def _checkpoint(self) -> None:
        """Start writing a checkpoint: the state is taken now, the lake segment and the
        checkpoint file are written on the writer thread, and the source is acknowledged
        only once both have landed (so a crash meanwhile replays from the checkpoint
        before, and the restart drops the unfinished segment)."""
        self._acknowledge()  # one checkpoint in flight at a time, landing in order
        if self.lake is not None and self.lake.buffered_tables:
            self._combine_lake()
        blocks, self._lake_blocks = self._lake_blocks, []
        if blocks:
            self._segment += 1
        # the state is copied now (a few ms) and pickled on the writer thread
        state = self.pipeline.frozen_state() if self.checkpoints is not None else None
        totals = {
            "events": self.metrics.events,
            "dead_letters": self.metrics.dead_letters,
            "alerts": self.metrics.alerts,
        }
        positions = dict(self._positions)
        writes, self._alert_writes = self._alert_writes, []
        landed = self._writer_thread().submit(
            self._land, writes, blocks, self._segment, state, positions, totals
        )
        self._landing = (landed, positions)

    def _combine_lake(self) -> None:
        """Hand the lake's buffered batches to the writer, to be combined into one table."""
        assert self.lake is not None
        parts = self.lake.detach()
        self._lake_blocks.append(self._writer_thread().submit(_combined, parts))

    def _land(
        self,
        alert_writes: list[Future[None]],
        blocks: list[Future[pa.Table]],
        segment: int,
        state: FrozenState | None,
        positions: dict[str, str],
        totals: dict[str, int],
    ) -> None:
        for write in alert_writes:  # done (the writer's work is in order); a failed one
            write.result()  # fails the checkpoint, so nothing it covers is acknowledged
        # the alerts persisted so far (those of the checkpoint's batches among them) are
        # made durable before the checkpoint that covers them
        if self.alert_process is not None:
            self.alert_process.flush()
        else:
            self.store.sync()
        parts = [block.result() for block in blocks]  # done: handed over before this
        if self.lake is not None and parts:
            self.lake.write(parts, segment)
        _release_gradually(parts)
        if self.checkpoints is not None and state is not None:
            pipeline = self.pipeline
            self.checkpoints.save(
                Checkpoint(
                    pipeline.model.version,
                    pipeline.provenance.input_hash,
                    b"",
                    positions,
                    segment,
                    totals,
                ),
                partial(state.write_to, pause_s=PICKLE_PAUSE_SECONDS),
            )

    def _acknowledge(self) -> None:
        """Wait for the checkpoint in flight, then acknowledge what it covers."""
        if self._landing is None:
            return
        landed, positions = self._landing
        self._landing = None
        landed.result()  # a failed write stops the worker before anything is acknowledged
        self.source.commit(positions)


def _yield_to_scoring() -> None:
    """Run this thread at the lowest priority (Linux gives each thread its own nice
    value), so that writing a checkpoint takes the core only while scoring waits for
    input: on a busy core it would otherwise hold up the batches behind it."""
    # not Linux, or not allowed: write at normal priority
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


def _combined(parts: list[pa.Table]) -> pa.Table:
    """Lake batches as one table: small batches copied into single chunks (a segment of
    thousands of tiny chunks is slow to write), large ones left as they are (writing the
    segment copies every row anyway)."""
    table = concat_tables(parts)
    if table.num_rows < LARGE_LAKE_BATCH * len(parts):
        table = table.combine_chunks()
    _release_gradually(parts)
    return table


def _release_gradually(parts: list[pa.Table]) -> None:
    """Drop a checkpoint's lake batches a few at a time, pausing in between. A segment
    holds a table per scored batch; freeing them all at once holds the GIL long enough
    for every batch behind to wait."""
    while parts:
        del parts[-RELEASE_TABLES:]
        time.sleep(PICKLE_PAUSE_SECONDS)


def _whole_chunk_rejected(chunk: Chunk, reason: str) -> list[DeadLetter]:
    rows = chunk.raw.table.to_pylist()
    lines = chunk.raw.lines()
    return [
        DeadLetter(int(line), chunk.raw.unit, "", reason, row)
        for line, row in zip(lines, rows, strict=True)
    ] + list(chunk.raw.rejected)


def merge_chunks(chunks: list[Chunk]) -> list[Chunk]:
    """The chunks as one, when their columns agree (else as they are).

    Rows keep their lines; chunks whose rows are numbered from 1 within the chunk (message
    ids) are renumbered on, so a dead letter's line still finds its message id.
    """
    if len(chunks) < 2:
        return chunks
    try:
        table = concat_tables([c.raw.table for c in chunks]).combine_chunks()
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return chunks
    renumber = all(c.ids for c in chunks)
    lines, rejected, offset = [], [], 0
    for c in chunks:
        shift = offset if renumber else 0
        lines.append(c.raw.lines() + shift)
        rejected += [replace(d, line=d.line + shift) for d in c.raw.rejected]
        offset += len(c.ids) if renumber else 0
    first = chunks[0].raw
    raw = RawTable(
        table,
        int(lines[0][0]) if len(lines[0]) else first.line_of_first_row,
        first.unit,
        first.source,
        row_lines=np.concatenate(lines),
        rejected=tuple(rejected),
    )
    positions: dict[str, str] = {}
    for c in chunks:
        positions.update(c.positions)
    return [
        Chunk(
            raw,
            positions,
            np.concatenate([c.arrived_ns for c in chunks]),
            tuple(i for c in chunks for i in c.ids),
        )
    ]
