"""Alerts explained and stored in a process of their own: the same alerts as batch
scoring, durable at every checkpoint, and a failure that stops the worker before it
acknowledges anything."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hybrid import Hybrid

from tapewatch.engine.alert_process import AlertProcess, AlertProcessError
from tapewatch.engine.batch import score_events
from tapewatch.engine.checkpoint import CheckpointStore
from tapewatch.engine.pipeline import Provenance, ScoringPipeline
from tapewatch.engine.sources import FileSource
from tapewatch.engine.stream import BatchPolicy, FileDeadLetters, StreamWorker
from tapewatch.learn.registry import ModelBundle, save_model
from tapewatch.store.alerts import AlertStore

SOURCE = "file://day.parquet"


@dataclass(frozen=True)
class Setup:
    """A saved model, a day file and the alerts batch scoring raises on it."""

    work: Path
    model: ModelBundle
    expected: pa.Table

    @property
    def provenance(self) -> Provenance:
        return Provenance(self.model.version, self.model.config_hash, SOURCE)


@pytest.fixture(scope="module")
def setup(hybrid: Hybrid, tmp_path_factory: pytest.TempPathFactory) -> Setup:
    work = tmp_path_factory.mktemp("alert-process")
    model = save_model(hybrid.model, work / "model")
    day = hybrid.unseen_day.slice(0, 20_000)
    pq.write_table(day, work / "day.parquet")
    _, alerts = score_events(day, model, Provenance(model.version, model.config_hash, SOURCE))
    return Setup(work, model, alerts)


def test_a_worker_with_an_alert_process_stores_the_alerts_of_batch_scoring(
    setup: Setup, tmp_path: Path
) -> None:
    work, expected = setup.work, setup.expected
    db = str(tmp_path / "alerts.db")
    with AlertProcess(work / "model", db, setup.provenance) as alerts:
        worker = StreamWorker(
            FileSource(work / "day.parquet"),
            ScoringPipeline(setup.model, setup.provenance),
            AlertStore(db),
            FileDeadLetters(tmp_path / "dead.jsonl"),
            BatchPolicy(500, 1.0),
            checkpoints=CheckpointStore(tmp_path / "checkpoint"),
            checkpoint_seconds=0.0,
            alert_process=alerts,
        )
        summary = worker.run()
    assert summary.ended == "end of input"
    stored = worker.alerts_raised()
    assert expected.num_rows > 20
    assert summary.alerts == stored.num_rows == expected.num_rows
    assert stored.equals(expected)


def test_flush_returns_once_what_was_submitted_is_stored(setup: Setup, tmp_path: Path) -> None:
    work, expected = setup.work, setup.expected
    pipeline = ScoringPipeline(setup.model, setup.provenance)
    day = pq.read_table(work / "day.parquet")
    closed = pipeline.process(day).closed_alerts + pipeline.finish()
    db = tmp_path / "alerts.db"
    with AlertProcess(work / "model", str(db), setup.provenance) as alerts:
        alerts.submit(closed[: len(closed) // 2])
        alerts.submit(closed[len(closed) // 2 :])
        alerts.flush()
        # read by another connection while the child still runs: committed and on disk
        with sqlite3.connect(db) as connection:
            (count,) = connection.execute("SELECT count(*) FROM alerts").fetchone()
    assert count == len(closed) == expected.num_rows


def test_a_store_that_fails_is_told_at_the_next_flush(setup: Setup, tmp_path: Path) -> None:
    work = setup.work
    pipeline = ScoringPipeline(setup.model, setup.provenance)
    closed = pipeline.process(pq.read_table(work / "day.parquet")).closed_alerts
    assert closed
    db = tmp_path / "alerts.db"
    with AlertProcess(work / "model", str(db), setup.provenance) as alerts:
        with sqlite3.connect(db) as connection:
            connection.execute("DROP TABLE alert_events")
        alerts.submit(closed)
        with pytest.raises(AlertProcessError, match="alert_events"):
            alerts.flush()


def test_a_model_that_cannot_be_read_fails_at_start(tmp_path: Path) -> None:
    with pytest.raises(AlertProcessError, match="not a tapewatch model directory"):
        AlertProcess(tmp_path / "nothing", str(tmp_path / "a.db"), Provenance("v", "c", "s"))
