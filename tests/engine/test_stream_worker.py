"""The streaming worker over a file: same alerts as batch scoring, checkpoints, dead letters."""

from __future__ import annotations

import io
import json
import re
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hybrid import Hybrid
from rich.console import Console

from tapewatch.cli.stream import run_worker
from tapewatch.engine.batch import score_events
from tapewatch.engine.checkpoint import CheckpointStore
from tapewatch.engine.pipeline import Provenance, ScoringPipeline
from tapewatch.engine.sources import Chunk, FileSource, file_source_from_url
from tapewatch.engine.stream import (
    LARGE_LAKE_BATCH,
    BatchPolicy,
    FileDeadLetters,
    StreamWorker,
    _combined,
    merge_chunks,
)
from tapewatch.learn.registry import ModelBundle
from tapewatch.monitor.live import StreamMetrics
from tapewatch.schema.jsonl_reader import parse_jsonl
from tapewatch.store.alerts import AlertStore
from tapewatch.store.lake import ScoredLake

SOURCE = "file://day.parquet"


@pytest.fixture(scope="module")
def day_file(hybrid: Hybrid, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("stream") / "day.parquet"
    pq.write_table(hybrid.unseen_day, path)
    return path


@pytest.fixture(scope="module")
def batch(hybrid: Hybrid) -> tuple[pa.Table, pa.Table]:
    """What `tapewatch score` gives for the same day."""
    model = hybrid.model
    return score_events(
        hybrid.unseen_day, model, Provenance(model.version, model.config_hash, SOURCE)
    )


def worker(model: ModelBundle, path: Path, work: Path, policy: BatchPolicy) -> StreamWorker:
    return StreamWorker(
        FileSource(path),
        ScoringPipeline(model, Provenance(model.version, model.config_hash, SOURCE)),
        AlertStore(str(work / "alerts.db")),
        FileDeadLetters(work / "dead.jsonl"),
        policy,
        lake=ScoredLake(work / "lake"),
        checkpoints=CheckpointStore(work / "checkpoint"),
        checkpoint_seconds=0.0,  # after every batch: the most restarts a test can ask for
    )


def check_lake_holds_each_event_once(work: Path, batch_scores: pa.Table) -> None:
    lake = ScoredLake(work / "lake").read().sort_by("transaction_id")
    expected = batch_scores.sort_by("transaction_id")
    assert lake.num_rows == expected.num_rows
    assert lake.column("transaction_id").equals(expected.column("transaction_id"))
    np.testing.assert_array_equal(
        lake.column("score").to_numpy(), expected.column("score").to_numpy()
    )
    assert set(pc.unique(lake.column("date")).to_pylist()) == {"2026-03-04"}


@pytest.mark.parametrize("policy", [BatchPolicy(1000, 2.0), BatchPolicy(337, 0.0)])
def test_stream_alerts_are_exactly_those_of_batch_scoring(
    hybrid: Hybrid,
    day_file: Path,
    batch: tuple[pa.Table, pa.Table],
    tmp_path: Path,
    policy: BatchPolicy,
) -> None:
    w = worker(hybrid.model, day_file, tmp_path, policy)
    summary = w.run()
    assert summary.ended == "end of input"
    assert summary.events == hybrid.unseen_day.num_rows
    alerts = w.alerts_raised()
    assert alerts.num_rows > 20
    assert alerts.equals(batch[1])
    assert summary.alerts == alerts.num_rows
    check_lake_holds_each_event_once(tmp_path, batch[0])


class Crash(Exception):
    """Stands for the process dying between two checkpoints."""


def test_a_crashed_worker_resumes_from_its_checkpoint_and_loses_or_doubles_nothing(
    hybrid: Hybrid, day_file: Path, batch: tuple[pa.Table, pa.Table], tmp_path: Path
) -> None:
    first = worker(hybrid.model, day_file, tmp_path, BatchPolicy(2000, 0.0))
    first.checkpoint_seconds = 3600.0  # only the scheduled one below, then a crash

    def crash_later(metrics: StreamMetrics) -> None:
        if metrics.batches == 5:
            first._checkpoint()
            first._acknowledge()  # it lands (its writer runs at low priority), then ...
        if metrics.batches == 8:  # three batches scored and their alerts stored, no checkpoint
            raise Crash

    first.on_batch = crash_later
    with pytest.raises(Crash):
        first.run()
    stored_before = first.store.count()
    assert stored_before > 0
    second = worker(hybrid.model, day_file, tmp_path, BatchPolicy(1500, 0.0))
    summary = second.run()
    assert summary.restored_from == {"file": "10000"}
    assert summary.events == hybrid.unseen_day.num_rows  # counted once, over both runs
    assert second.alerts_raised().equals(batch[1])
    check_lake_holds_each_event_once(tmp_path, batch[0])


def test_a_stop_request_drains_the_batch_and_checkpoints_without_closing_alerts(
    hybrid: Hybrid, day_file: Path, batch: tuple[pa.Table, pa.Table], tmp_path: Path
) -> None:
    stop = threading.Event()
    first = worker(hybrid.model, day_file, tmp_path, BatchPolicy(3000, 0.0))
    first.on_batch = lambda m: stop.set() if m.batches == 2 else None
    assert first.run(stop).ended == "stopped"
    assert CheckpointStore(tmp_path / "checkpoint").load().positions == {"file": "6000"}  # type: ignore[union-attr]
    second = worker(hybrid.model, day_file, tmp_path, BatchPolicy(3000, 0.0))
    second.run()
    assert second.alerts_raised().equals(batch[1])


def test_bad_rows_become_dead_letters_and_the_stream_goes_on(
    hybrid: Hybrid, tmp_path: Path
) -> None:
    rows = hybrid.unseen_day.slice(0, 400).to_pylist()
    lines = [json.dumps(r, default=str) for r in rows]
    lines[10] = lines[10].replace('"price": ', '"price": -')  # a negative price
    lines[20] = "{not json"
    (tmp_path / "day.jsonl").write_text("\n".join(lines) + "\n")
    w = worker(hybrid.model, tmp_path / "day.jsonl", tmp_path, BatchPolicy(100, 0.0))
    summary = w.run()
    assert summary.events == 398
    assert summary.dead_letters == 2
    letters = [json.loads(x) for x in (tmp_path / "dead.jsonl").read_text().splitlines()]
    assert [(d["line"], d["field"]) for d in letters] == [(11, "price"), (21, "")]
    assert "must be > 0" in letters[0]["reason"]
    assert "not valid JSON" in letters[1]["reason"]


def test_a_paced_file_source_hands_out_events_no_sooner_than_due(day_file: Path) -> None:
    source = FileSource(day_file, rate=2000.0)
    got, start = 0, time.monotonic()
    stamps = []
    while got < 300:
        chunk = source.read(50, 0.01)
        assert chunk is not None
        got += chunk.raw.num_rows
        stamps.append(chunk.arrived_ns)
    elapsed = time.monotonic() - start
    due = np.concatenate(stamps)[:300]
    np.testing.assert_allclose(np.diff(due), 1e9 / 2000, rtol=1e-6)
    assert elapsed >= 299 / 2000  # it waited for the events to fall due


def test_chunks_merge_into_one_batch_and_dead_letters_still_find_their_message() -> None:
    def chunk(lines: list[bytes], ids: tuple[str, ...]) -> Chunk:
        raw = parse_jsonl(b"\n".join(lines), 1, "redis")
        return Chunk(raw, {"s": ids[-1]}, np.zeros(raw.num_rows, np.int64), ids)

    first = chunk([b'{"a": 1}', b"{broken"], ("s/1-0", "s/1-1"))
    second = chunk([b"{broken", b'{"a": 2}', b'{"a": 3}'], ("s/2-0", "s/2-1", "s/2-2"))
    (merged,) = merge_chunks([first, second])
    assert merged.raw.table.column("a").to_pylist() == [1, 2, 3]
    assert merged.positions == {"s": "s/2-2"}
    assert [merged.ids[line - 1] for line in merged.raw.lines()] == ["s/1-0", "s/2-1", "s/2-2"]
    assert [merged.ids[d.line - 1] for d in merged.raw.rejected] == ["s/1-1", "s/2-0"]


def test_a_checkpoint_of_another_source_is_refused(
    hybrid: Hybrid, day_file: Path, tmp_path: Path
) -> None:
    worker(hybrid.model, day_file, tmp_path, BatchPolicy(5000, 0.0)).run()
    other = worker(hybrid.model, day_file, tmp_path, BatchPolicy(5000, 0.0))
    other.pipeline.provenance = Provenance(hybrid.model.version, "c", "file://other.parquet")
    with pytest.raises(ValueError, match=r"written reading 'file://day\.parquet'"):
        other.run()


def test_a_file_url_sets_pace_or_speed_and_rejects_unknown_options(day_file: Path) -> None:
    source = file_source_from_url(f"file://{day_file}?speed=1000")
    assert (source.path, source.rate, source.speed) == (day_file, None, 1000.0)
    with pytest.raises(ValueError, match="unknown option"):
        file_source_from_url(f"file://{day_file}?rte=5")


def test_speed_replays_event_time_faster(hybrid: Hybrid, day_file: Path) -> None:
    source = FileSource(day_file, speed=1e6)  # a million times faster than it happened
    chunk = source.read(500, 0.01)
    assert chunk is not None
    assert chunk.raw.num_rows > 0
    n = chunk.raw.num_rows
    event_us = pc.cast(hybrid.unseen_day.column("timestamp"), pa.int64()).to_numpy()[:n]
    np.testing.assert_allclose(np.diff(chunk.arrived_ns), np.diff(event_us) * 1000 / 1e6, atol=1.0)


def test_the_live_status_line_shows_rate_lag_alerts_and_latency(
    hybrid: Hybrid, day_file: Path, tmp_path: Path
) -> None:
    out = Console(record=True, force_terminal=True, width=200)
    w = worker(hybrid.model, day_file, tmp_path, BatchPolicy(500, 1.0))
    summary = run_worker(w, threading.Event(), w.source, quiet=False, out=out)
    shown = out.export_text()
    assert summary.events == hybrid.unseen_day.num_rows
    frames = [line for line in shown.splitlines() if "events" in line and "latency" in line]
    assert frames, shown
    last = frames[-1]
    assert re.search(r"[\d,]+ events  [\d,]+/s  lag [\d,]+  alerts [\d,]+", last), last
    assert re.search(r"p50 [\d.]+ ms  p99 [\d.]+ ms  p99.9 [\d.]+ ms", last), last
    lags = [int(m.replace(",", "")) for m in re.findall(r"lag ([\d,]+)", shown)]
    assert max(lags) > 0  # sampled from the file while the worker was behind


def test_warming_up_leaves_the_pipelines_state_as_it_was(hybrid: Hybrid) -> None:
    model = hybrid.model
    pipeline = ScoringPipeline(model, Provenance(model.version, model.config_hash, SOURCE))
    pipeline.process(hybrid.unseen_day.slice(0, 500))
    before = pipeline.snapshot()
    pipeline.warm_up()
    assert pipeline.snapshot() == before


def test_a_frozen_state_stays_as_it_was_taken_while_scoring_goes_on(hybrid: Hybrid) -> None:
    """A checkpoint copies the state between batches and pickles the copy on another
    thread: the copy must be the snapshot of that moment, whatever is scored after it."""
    model = hybrid.model
    day = hybrid.unseen_day
    pipeline = ScoringPipeline(model, Provenance(model.version, model.config_hash, SOURCE))
    pipeline.process(day.slice(0, 1500))
    at_the_time = pipeline.snapshot()
    frozen = pipeline.frozen_state()
    assert frozen.to_bytes() == at_the_time
    written = io.BytesIO()
    frozen.write_to(written, pause_s=0.0)  # as the checkpoint writer pickles into its file
    assert written.getvalue() == at_the_time
    pipeline.process(day.slice(1500, 1500))  # new keys, evictions, alerts opened and closed
    assert pipeline.snapshot() != at_the_time
    assert frozen.to_bytes() == at_the_time
    # and going on from the copy gives what going on from the original gave
    restored = ScoringPipeline(model, Provenance(model.version, model.config_hash, SOURCE))
    restored.restore(frozen.to_bytes())
    replayed = restored.process(day.slice(1500, 1500))
    fresh = ScoringPipeline(model, Provenance(model.version, model.config_hash, SOURCE))
    fresh.process(day.slice(0, 1500))
    assert replayed.scores.equals(fresh.process(day.slice(1500, 1500)).scores)


def test_positions_are_acknowledged_only_after_their_checkpoint_landed(
    hybrid: Hybrid, day_file: Path, tmp_path: Path
) -> None:
    """The lake segment and checkpoint file are written off the scoring thread; the
    source hears of a position only once the checkpoint holding it is on disk."""
    w = worker(hybrid.model, day_file, tmp_path, BatchPolicy(2000, 0.0))
    store = w.checkpoints
    assert store is not None
    seen: list[tuple[dict[str, str], dict[str, str]]] = []
    commit = w.source.commit

    def checked_commit(positions: dict[str, str]) -> None:
        landed = store.load()
        assert landed is not None
        seen.append((positions, landed.positions))
        commit(positions)

    w.source.commit = checked_commit  # type: ignore[method-assign]
    w.run()
    assert len(seen) >= 2
    assert all(positions == landed for positions, landed in seen)
    assert seen[-1][0] == w._positions


def test_a_failed_alert_write_stops_the_worker_before_anything_is_acknowledged(
    hybrid: Hybrid, day_file: Path, tmp_path: Path
) -> None:
    """Alerts are explained and stored on the writer thread: a write that fails there
    fails the checkpoint after it, so the source never hears of the events it covers."""
    w = worker(hybrid.model, day_file, tmp_path, BatchPolicy(2000, 0.0))
    committed: list[dict[str, str]] = []
    w.source.commit = committed.append  # type: ignore[method-assign]

    def broken_put(alerts: pa.Table) -> int:
        raise OSError("disk full")

    w.store.put = broken_put  # type: ignore[method-assign]
    with pytest.raises(OSError, match="disk full"):
        w.run()
    assert committed == []


class _Arrivals:
    """A source whose first chunk arrived `age_s` ago, then one fresh row a read."""

    def __init__(self, age_s: float) -> None:
        self.age_ns = int(age_s * 1e9)
        self.reads = 0

    def read(self, max_rows: int, timeout_s: float) -> Chunk:
        self.reads += 1
        raw = parse_jsonl(b'{"a": 1}', self.reads, "test")
        arrived = time.monotonic_ns() - (self.age_ns if self.reads == 1 else 0)
        return Chunk(raw, {"p": str(self.reads)}, np.full(1, arrived, np.int64))


@pytest.mark.parametrize(("age_s", "closes_at_once"), [(1.0, True), (0.0, False)])
def test_a_batch_closes_its_window_after_its_first_event_arrived_not_after_it_was_read(
    hybrid: Hybrid, tmp_path: Path, age_s: float, closes_at_once: bool
) -> None:
    # events that waited while the batch before was scored have used up their window
    source = _Arrivals(age_s)
    stream = worker(hybrid.model, tmp_path / "unused.parquet", tmp_path, BatchPolicy(1000, 200.0))
    stream.source = source  # type: ignore[assignment]
    chunks, ended = stream._collect()
    assert not ended
    assert (source.reads == 1) is closes_at_once
    assert len(chunks) == source.reads


def test_the_writer_combines_small_lake_batches_and_leaves_large_ones() -> None:
    def batches(rows: int, n: int) -> list[pa.Table]:
        return [pa.table({"x": list(range(k * rows, (k + 1) * rows))}) for k in range(n)]

    small = _combined(batches(12, 64))
    assert small.column("x").num_chunks == 1
    large = _combined(batches(LARGE_LAKE_BATCH, 3))
    assert large.column("x").num_chunks == 3
    for table, n in ((small, 12 * 64), (large, 3 * LARGE_LAKE_BATCH)):
        assert table.column("x").to_pylist() == list(range(n))
