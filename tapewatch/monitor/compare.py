"""Detectors side by side: episode recall at a fixed FPR for several score columns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from rich.console import Console
from rich.table import Table

from tapewatch.detect.scoring import DEFAULT_FPR
from tapewatch.monitor.evaluation import evaluate

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Comparison:
    """Episode recall at `fpr` per typology (rows) and detector (columns)."""

    fpr: float
    episodes: dict[str, int]
    recall: dict[str, dict[str, float]]  # detector -> typology -> recall


def compare_detectors(
    scores: pa.Table, labels: pa.Table, detectors: dict[str, F64], *, fpr: float = DEFAULT_FPR
) -> Comparison:
    """Evaluate each detector's scores as if it alone ranked the events."""
    recall: dict[str, dict[str, float]] = {}
    episodes: dict[str, int] = {}
    for name, values in detectors.items():
        column = pa.array(np.asarray(values, dtype=np.float64))
        report = evaluate(
            scores.set_column(scores.schema.get_field_index("score"), "score", column),
            labels,
            fpr=fpr,
        )
        recall[name] = {r.typology: r.episode_recall_at_fpr or 0.0 for r in report.typologies}
        episodes = {r.typology: r.n_episodes for r in report.typologies}
    return Comparison(fpr, episodes, recall)


def standard_detectors(scores: pa.Table, weight: float) -> dict[str, F64]:
    """XGBoost alone, the autoencoder alone (when scored) and the ensemble of a scores table."""
    xgb = scores.column("xgb_score").to_numpy()
    detectors = {"XGBoost alone": xgb}
    if scores.column("ae_score").null_count == 0 and scores.num_rows:
        ae = scores.column("ae_score").to_numpy()
        detectors["autoencoder alone"] = ae
        detectors[f"ensemble (w = {weight:g})"] = weight * xgb + (1 - weight) * ae
    return detectors


def render_comparison(comparison: Comparison, console: Console, title: str = "") -> None:
    """The comparison as a table: one row per typology, one column per detector."""
    table = Table(title=title or f"episode recall at {comparison.fpr:.1%} FPR on normal events")
    table.add_column("typology")
    table.add_column("episodes", justify="right")
    for name in comparison.recall:
        table.add_column(name, justify="right")
    for typology, n in comparison.episodes.items():
        table.add_row(
            typology,
            f"{n:,}",
            *(f"{comparison.recall[d][typology]:.1%}" for d in comparison.recall),
        )
    console.print(table)
