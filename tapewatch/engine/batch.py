"""Batch scoring: the pipeline over one file, in large micro-batches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from tapewatch.detect.rules import RuleSet
from tapewatch.engine.pipeline import Provenance, ScoringPipeline
from tapewatch.learn.hashing import file_sha256
from tapewatch.learn.registry import ModelBundle
from tapewatch.schema.load import load_events
from tapewatch.schema.writers import write_parquet_atomic
from tapewatch.store.lake import ScoredLake

DEFAULT_BATCH_ROWS = 100_000


@dataclass(frozen=True)
class ScoreSummary:
    """What a scoring run read, rejected, flagged and raised."""

    n_read: int
    n_bad: int
    n_scored: int
    n_flagged: int
    n_alerts: int
    deadletter_path: Path | None
    input_hash: str


@dataclass(frozen=True)
class ScoreResult:
    """Scores and alerts of a run, with its summary."""

    scores: pa.Table
    alerts: pa.Table
    summary: ScoreSummary


def score_events(
    events: pa.Table,
    model: ModelBundle,
    provenance: Provenance,
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    on_progress: Callable[[int], None] | None = None,
    rules: RuleSet | None = None,
) -> tuple[pa.Table, pa.Table]:
    """Scores (one row per event, same order) and alerts of a validated events table."""
    pipeline = ScoringPipeline(model, provenance, rules)
    parts: list[pa.Table] = []
    alerts = []
    for start in range(0, events.num_rows, batch_rows):
        batch = pipeline.process(events.slice(start, batch_rows))
        parts.append(batch.scores)
        alerts.extend(batch.closed_alerts)
        if on_progress is not None:
            on_progress(batch.scores.num_rows)
    alerts.extend(pipeline.finish())
    scores = pa.concat_tables(parts) if parts else pipeline.process(events).scores
    return scores, pipeline.alert_table(alerts)


def score_file(
    path: Path,
    model: ModelBundle,
    *,
    scores_out: Path,
    alerts_out: Path | None,
    deadletter_dir: Path,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    on_progress: Callable[[int], None] | None = None,
    rules: RuleSet | None = None,
    lake: ScoredLake | None = None,
) -> ScoreResult:
    """Validate and score a file; write scores and alerts atomically, and the scored
    events to the lake if one is given (scoring the same file again replaces them)."""
    loaded = load_events(path, deadletter_dir=deadletter_dir)
    provenance = Provenance(model.version, model.config_hash, file_sha256(path))
    scores, alerts = score_events(
        loaded.table,
        model,
        provenance,
        batch_rows=batch_rows,
        on_progress=on_progress,
        rules=rules,
    )
    write_parquet_atomic(scores, scores_out)
    if lake is not None:
        lake.append(loaded.table, scores)
        lake.flush(0, tag=provenance.input_hash[:16])
    if alerts_out is not None:
        write_parquet_atomic(alerts, alerts_out)
    summary = ScoreSummary(
        n_read=loaded.n_read,
        n_bad=loaded.n_bad,
        n_scored=scores.num_rows,
        n_flagged=int(pc.sum(scores.column("flagged")).as_py() or 0),
        n_alerts=alerts.num_rows,
        deadletter_path=loaded.deadletter_path,
        input_hash=provenance.input_hash,
    )
    return ScoreResult(scores, alerts, summary)
