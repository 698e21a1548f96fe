"""Redis Streams against a real redis-server: partitions, consumer groups, SIGKILL recovery."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import redis
from hybrid import Hybrid
from kit import same_alerts
from servers import free_port

from tapewatch.engine.batch import score_events
from tapewatch.engine.checkpoint import CheckpointStore
from tapewatch.engine.pipeline import Provenance, ScoringPipeline
from tapewatch.engine.redis_streams import RedisDeadLetters, RedisSource, partition_of, publish
from tapewatch.engine.stream import BatchPolicy, StreamWorker
from tapewatch.learn.registry import load_model, save_model
from tapewatch.store.alerts import AlertStore
from tapewatch.store.lake import ScoredLake

PARTITIONS = 4


@pytest.fixture(scope="module")
def setup(hybrid: Hybrid, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, pa.Table]:
    """A saved model, the unseen day as a file, and its batch alerts."""
    work = tmp_path_factory.mktemp("redis-stream")
    model = save_model(hybrid.model, work / "model")
    day = work / "day.parquet"
    pq.write_table(hybrid.unseen_day, day)
    _, alerts = score_events(hybrid.unseen_day, model, Provenance(model.version, "", ""))
    return work / "model", day, alerts


#: one valid event as a producer writes it to a stream
EVENT = {
    "transaction_id": "T1", "timestamp": "2026-03-04T14:00:00Z", "order_id": "O1",
    "trader_id": "A", "instrument_id": "X", "order_status": "NEW", "side": "BUY",
    "order_type": "LIMIT", "price": 10.0, "quantity": 100, "trading_venue": "XLON",
}  # fmt: skip


def tapewatch(*args: str | Path | int, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tapewatch.cli.app", *map(str, args)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stream_args(url: str, model: Path, partitions: str, name: str) -> list[str | Path]:
    return [
        "stream", "--source", url, "--model", model, "--partitions", partitions,
        "--db", f"{name}.db", "--lake", f"{name}-lake", "--checkpoint-dir", f"{name}-ckpt",
        "--checkpoint-seconds", "0.2", "--batch-events", "500", "--max-idle", "3",
        "--alerts-out", f"{name}.parquet", "--quiet",
    ]  # fmt: skip


@pytest.mark.parametrize("rows_per_message", [1, 300])
def test_publish_partitions_by_instrument(
    redis_url: str, setup: tuple[Path, Path, pa.Table], rows_per_message: int
) -> None:
    _, day, _ = setup
    url = f"{redis_url}/part-check-{rows_per_message}"
    counts = publish(day, url, PARTITIONS, rows_per_message=rows_per_message)
    assert sum(counts) == pq.read_metadata(day).num_rows
    client = redis.Redis.from_url(redis_url)
    published, sizes = [], []
    for k in range(PARTITIONS):
        entries = client.xrange(f"part-check-{rows_per_message}:{k}")
        rows = [row for _, fields in entries for row in _rows(fields)]
        assert len(rows) == counts[k]
        assert {partition_of(r["instrument_id"], PARTITIONS) for r in rows} <= {k}
        published += rows
        sizes += [len(_rows(fields)) for _, fields in entries]
    assert max(sizes) == rows_per_message
    ids = [r["transaction_id"] for r in published]
    assert sorted(ids) == sorted(pq.read_table(day, columns=["transaction_id"])[0].to_pylist())


def _rows(fields: dict[bytes, bytes]) -> list[dict[str, Any]]:
    if b"e" in fields:
        return [json.loads(fields[b"e"])]
    rows: list[dict[str, Any]] = pa.ipc.open_stream(fields[b"a"]).read_all().to_pylist()
    return rows


def test_two_workers_on_disjoint_partitions_raise_exactly_the_batch_alerts(
    redis_url: str, setup: tuple[Path, Path, pa.Table], tmp_path: Path
) -> None:
    model, day, expected = setup
    url = f"{redis_url}/two-workers"
    # the first part of the day one JSON event an entry, the rest in blocks: both in order
    table = pq.read_table(day)
    cut = table.num_rows // 3
    pq.write_table(table.slice(0, cut), tmp_path / "first.parquet")
    pq.write_table(table.slice(cut), tmp_path / "rest.parquet")
    publish(tmp_path / "first.parquet", url, PARTITIONS, rows_per_message=1)
    publish(tmp_path / "rest.parquet", url, PARTITIONS, rows_per_message=700)
    workers = [
        tapewatch(*stream_args(url, model, parts, f"w{i}"), cwd=tmp_path)
        for i, parts in enumerate(["0-1", "2-3"])
    ]
    for w in workers:
        _, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
    alerts = pa.concat_tables([pq.read_table(tmp_path / f"w{i}.parquet") for i in range(2)])
    assert alerts.num_rows > 20
    assert same_alerts(alerts, expected, any_order=True)
    client = redis.Redis.from_url(redis_url)
    for k in range(PARTITIONS):  # everything delivered was acknowledged
        assert client.xpending(f"two-workers:{k}", "surveillance")["pending"] == 0


def test_a_worker_killed_mid_stream_restarts_and_loses_or_doubles_nothing(
    redis_url: str, setup: tuple[Path, Path, pa.Table], tmp_path: Path
) -> None:
    model, day, expected = setup
    url = f"{redis_url}/sigkill"
    published = tapewatch(
        "publish", day, "--to", url, "--partitions", PARTITIONS, "--rows-per-message", 400,
        cwd=tmp_path,
    )  # fmt: skip
    out, err = published.communicate(timeout=120)
    assert published.returncode == 0, err
    assert f"published {pq.read_metadata(day).num_rows:,} events to 4 partitions" in out
    args = stream_args(url, model, "0-3", "w")
    first = tapewatch(*args, cwd=tmp_path)
    checkpoint = tmp_path / "w-ckpt" / "checkpoint.pkl"
    client = redis.Redis.from_url(redis_url)

    def pending() -> int:
        return sum(client.xpending(f"sigkill:{k}", "surveillance")["pending"] for k in range(4))

    # kill it past its first checkpoint, while it holds events read and not acknowledged
    # (a fixed sleep raced the worker: a fast one had finished the stream by then)
    deadline = time.monotonic() + 120
    while not (checkpoint.exists() and pending() > 0) and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL
    assert pending() > 0  # it really died with events read and not acknowledged

    second = tapewatch(*args, cwd=tmp_path)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    assert "resumed from" in " ".join(out.split())
    assert same_alerts(pq.read_table(tmp_path / "w.parquet"), expected, any_order=True)
    lake = ScoredLake(tmp_path / "w-lake").read()
    ids = lake.column("transaction_id").to_pylist()
    assert len(ids) == len(set(ids)) == pq.read_metadata(day).num_rows  # none lost, none twice
    for k in range(PARTITIONS):
        assert client.xpending(f"sigkill:{k}", "surveillance")["pending"] == 0


def test_a_malformed_message_goes_to_the_dead_letter_stream_and_the_worker_goes_on(
    redis_url: str, setup: tuple[Path, Path, pa.Table], tmp_path: Path
) -> None:
    model, _, _ = setup
    client = redis.Redis.from_url(redis_url)
    good = EVENT
    bad_id = client.xadd("bad:0", {"e": b"{not json"}).decode()
    negative = client.xadd("bad:0", {"e": json.dumps({**good, "price": -1.0})}).decode()
    client.xadd("bad:0", {"e": json.dumps(good)})
    later = {**good, "transaction_id": "T2", "timestamp": "2026-03-04T14:00:01Z"}
    block = pa.Table.from_pylist([later, {**later, "transaction_id": "T3", "quantity": -5}])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, block.schema) as writer:
        writer.write_table(block)
    in_block = client.xadd("bad:0", {"a": sink.getvalue().to_pybytes()}).decode()
    not_arrow = client.xadd("bad:0", {"a": b"not arrow"}).decode()
    no_event = client.xadd("bad:0", {"x": b"1"}).decode()
    run = tapewatch(*stream_args(f"{redis_url}/bad", model, "0", "bad"), cwd=tmp_path)
    out, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    assert "2 events scored, 5 dead letters" in " ".join(out.split())
    letters = client.xrange("bad:deadletter")
    assert [e[1][b"message_id"].decode() for e in letters] == [
        f"bad:0/{bad_id}",
        f"bad:0/{negative}",
        f"bad:0/{in_block}#1",
        f"bad:0/{not_arrow}",
        f"bad:0/{no_event}",
    ]
    reasons = [(e[1][b"field"], e[1][b"reason"]) for e in letters]
    assert reasons[1][0] == b"price"
    assert reasons[2][0] == b"quantity"
    assert b"Arrow IPC" in reasons[3][1]
    assert b"expected field e or a" in reasons[4][1]
    assert client.xpending("bad:0", "surveillance")["pending"] == 0


def test_a_running_worker_serves_its_figures_on_metrics(
    redis_url: str, setup: tuple[Path, Path, pa.Table], tmp_path: Path
) -> None:
    model, day, _ = setup
    url = f"{redis_url}/metrics-check"
    publish(day, url, 1)
    port = free_port()
    run = tapewatch(*stream_args(url, model, "0", "m"), "--metrics-port", str(port), cwd=tmp_path)
    seen: dict[str, float] = {}
    deadline = time.monotonic() + 120
    while run.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                text = r.read().decode()
        except OSError:
            time.sleep(0.1)
            continue
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                seen[name] = float(value)
        if seen.get("tapewatch_events_total", 0) > 0:
            break
        time.sleep(0.1)
    run.communicate(timeout=300)
    assert run.returncode == 0
    assert seen["tapewatch_events_total"] > 0
    assert seen['tapewatch_latency_seconds_bucket{le="+Inf"}'] >= seen["tapewatch_events_total"]
    assert seen["tapewatch_latency_seconds_sum"] > 0
    assert "tapewatch_lag_events" in seen
    assert "tapewatch_dead_letters_total" in seen


class SlowLake(ScoredLake):
    """A lake on a slow disk: every batch's append takes 20 ms."""

    def append(self, events: pa.Table, scores: pa.Table) -> None:
        time.sleep(0.02)
        super().append(events, scores)


def test_a_slow_sink_leaves_the_backlog_in_redis_and_the_worker_bounded(
    redis_url: str, setup: tuple[Path, Path, pa.Table], tmp_path: Path
) -> None:
    model_dir, day, expected = setup
    url = f"{redis_url}/slow-sink"
    publish(day, url, 1)
    model = load_model(model_dir)
    source = RedisSource(url, [0], "surveillance", "slow")
    lake = SlowLake(tmp_path / "lake")
    worker = StreamWorker(
        source,
        ScoringPipeline(model, Provenance(model.version, model.config_hash, url)),
        AlertStore(str(tmp_path / "alerts.db")),
        RedisDeadLetters(url),
        BatchPolicy(500, 5.0),
        lake=lake,
        checkpoints=CheckpointStore(tmp_path / "ckpt"),
        checkpoint_seconds=0.5,
        max_idle_seconds=1.0,
    )
    lags: list[int] = []
    taken: list[int] = [0]  # events scored when each checkpoint was taken, so far
    holding: list[tuple[int, int, int, int]] = []  # (buffered, unacked, bounds) per batch
    checkpoint = worker._checkpoint

    def checkpoint_and_note() -> None:
        taken.append(worker.metrics.events)
        checkpoint()

    def note(m: Any) -> None:
        lags.append(source.lag())
        # in its lake buffer the worker holds what it scored since its last checkpoint;
        # unacknowledged, what it scored since the one before (which may still be landing)
        holding.append(
            (
                lake.buffered_rows,
                source.unacknowledged(),
                m.events - taken[-1],
                m.events - taken[max(len(taken) - 2, 0)],
            )
        )

    worker.on_batch = note
    worker._checkpoint = checkpoint_and_note  # type: ignore[method-assign]
    worker.run()
    total = pq.read_metadata(day).num_rows
    assert worker.metrics.events == total
    assert lags[0] > total / 2  # the backlog waited in Redis, not in the worker
    assert lags[-1] == 0
    assert all(a >= b for a, b in itertools.pairwise(lags))
    assert len(taken) > 3
    # bounded by the checkpoint interval, not by the backlog
    for buffered, unacked, since_last, since_one_before in holding:
        assert buffered <= since_last
        assert unacked <= since_one_before
    assert same_alerts(worker.alerts_raised(), expected, any_order=True)


def test_a_pending_entry_deleted_from_the_stream_is_a_dead_letter_and_the_rest_follow(
    redis_url: str,
) -> None:
    """A worker dies holding entries; one is deleted (XDEL, or trimmed) before it comes back.
    The restarted worker must still get every later pending entry, and say the deleted one's
    events are gone rather than drop it silently."""
    client = redis.Redis.from_url(redis_url)
    ids = [
        client.xadd("gone:0", {"e": json.dumps({**EVENT, "transaction_id": f"T{k}"})}).decode()
        for k in range(6)
    ]
    first = RedisSource(f"{redis_url}/gone", [0], "surveillance", "w1")
    delivered = 0
    while delivered < 6:  # read, never acknowledged: the worker dies here
        chunk = first.read(100, 0.1)
        assert chunk is not None
        delivered += chunk.raw.num_rows
    first.close()
    client.xdel("gone:0", ids[1], ids[2])

    again = RedisSource(f"{redis_url}/gone", [0], "surveillance", "w1")
    rows: list[str] = []
    letters: list[tuple[str, str]] = []
    for _ in range(20):
        chunk = again.read(1, 0.1)
        if chunk is None or not chunk.ids:
            break
        rows += chunk.raw.table.column("transaction_id").to_pylist() if chunk.raw.num_rows else []
        letters += [(chunk.ids[d.line - 1], d.reason) for d in chunk.raw.rejected]
        again.commit(chunk.positions)
    assert rows == ["T0", "T3", "T4", "T5"]
    assert [message for message, _ in letters] == [f"gone:0/{ids[1]}", f"gone:0/{ids[2]}"]
    assert all("deleted from the stream" in reason for _, reason in letters)
    assert client.xpending("gone:0", "surveillance")["pending"] == 0
    again.close()
