"""`tapewatch train`: fit the supervised detector on labelled events."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tapewatch.cli.common import DEFAULT_DEADLETTER, DeadLetterDir, Quiet, console
from tapewatch.cli.progress import progress_bar
from tapewatch.detect.supervised import XGBoostConfig
from tapewatch.learn.hashing import file_sha256
from tapewatch.learn.registry import ModelBundle, save_model
from tapewatch.learn.workflow import train_on_events
from tapewatch.monitor.report import render_report
from tapewatch.schema.load import load_events


def train(
    data: Annotated[Path, typer.Option(help="Labelled events file (Parquet, CSV or JSON Lines).")],
    out: Annotated[Path, typer.Option(help="Model directory to write.")],
    tune: Annotated[
        int, typer.Option(help="Optuna trials over depth, learning rate, trees, weights.")
    ] = 0,
    seed: Annotated[int, typer.Option(help="Training seed.")] = 0,
    deadletter_dir: DeadLetterDir = DEFAULT_DEADLETTER,
    quiet: Quiet = False,
) -> None:
    """Train on labelled events; write the model, its features, threshold and test metrics to OUT."""
    run_train(
        data,
        out,
        tune=tune,
        seed=seed,
        deadletter_dir=deadletter_dir,
        quiet=quiet,
        out_console=console(),
    )


def run_train(
    data: Path,
    out: Path,
    *,
    tune: int,
    seed: int,
    deadletter_dir: Path,
    quiet: bool,
    out_console: Console,
) -> ModelBundle:
    """Train and save a model, printing its held-out test metrics."""
    loaded = load_events(data, deadletter_dir=deadletter_dir)
    if loaded.n_bad:
        out_console.print(f"[yellow]{loaded.n_bad:,} bad rows sent to {loaded.deadletter_path}[/]")
    with progress_bar(out_console, "features", loaded.table.num_rows, quiet=quiet) as advance:
        outcome = train_on_events(
            loaded.table,
            data_path=str(data),
            data_hash=file_sha256(data),
            xgb_config=XGBoostConfig(seed=seed),
            tune_trials=tune,
            on_features=advance,
            on_trial=None if quiet else _print_trial(out_console),
        )
    bundle = save_model(outcome.bundle, out)
    if not quiet:
        out_console.print("[bold]held-out test split of the training data[/]")
        render_report(outcome.test_report, out_console)
    out_console.print(
        f"model {bundle.version} written to {out} "
        f"(alert threshold {bundle.scoring.alert_threshold:.3f})"
    )
    return bundle


def _print_trial(out_console: Console) -> Callable[[int, float], None]:
    def report(number: int, value: float) -> None:
        out_console.print(f"trial {number}: validation average precision {value:.4f}")

    return report
