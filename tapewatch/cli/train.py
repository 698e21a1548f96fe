"""`tapewatch train`: fit the supervised detector on labelled events."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from tapewatch.cli.common import DEFAULT_DEADLETTER, DeadLetterDir, Quiet, console
from tapewatch.detect.scoring import DEFAULT_FPR, ScoringConfig

if TYPE_CHECKING:
    import pyarrow as pa

    from tapewatch.detect.anomaly import AutoencoderConfig
    from tapewatch.learn.registry import ModelBundle


def train(
    data: Annotated[Path, typer.Option(help="Labelled events file (Parquet, CSV or JSON Lines).")],
    out: Annotated[Path, typer.Option(help="Model directory to write.")],
    tune: Annotated[
        int, typer.Option(help="Optuna trials over depth, learning rate, trees, weights.")
    ] = 0,
    seed: Annotated[int, typer.Option(help="Training seed.")] = 0,
    unlabelled: Annotated[
        Path | None,
        typer.Option(
            help="A firm's real, unlabelled events (contract columns, see `tapewatch map`): "
            "the autoencoder learns normal flow from its likely-normal events."
        ),
    ] = None,
    autoencoder: Annotated[
        bool,
        typer.Option(
            "--autoencoder/--no-autoencoder",
            help="Train the LSTM autoencoder and the ensemble (on the labelled data's "
            "likely-normal events when no --unlabelled file is given).",
        ),
    ] = True,
    window: Annotated[
        int,
        typer.Option(
            help="Autoencoder window: events per training sequence, and the span of a key's usual values."
        ),
    ] = 16,
    ensemble_weight: Annotated[
        float, typer.Option(help="w in score = w * xgb_score + (1 - w) * ae_score.")
    ] = ScoringConfig.ensemble_weight,
    target_fpr: Annotated[
        float,
        typer.Option(
            help="Share of the normal validation events the alert thresholds let through: "
            f"the alert budget. {DEFAULT_FPR} is the rate `tapewatch evaluate` reports "
            "recall at."
        ),
    ] = ScoringConfig.target_fpr,
    deadletter_dir: DeadLetterDir = DEFAULT_DEADLETTER,
    quiet: Quiet = False,
) -> None:
    """Train on labelled events; write the model, its features, threshold and test metrics to OUT."""
    from tapewatch.detect.anomaly import AutoencoderConfig

    if unlabelled is not None and not autoencoder:
        raise ValueError("--unlabelled trains the autoencoder: drop --no-autoencoder")
    run_train(
        data,
        out,
        tune=tune,
        seed=seed,
        deadletter_dir=deadletter_dir,
        quiet=quiet,
        out_console=console(),
        ae_config=AutoencoderConfig(window=window, seed=seed) if autoencoder else None,
        unlabelled=unlabelled,
        scoring=ScoringConfig(ensemble_weight=ensemble_weight, target_fpr=target_fpr),
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
    ae_config: AutoencoderConfig | None = None,
    unlabelled: Path | None = None,
    scoring: ScoringConfig | None = None,
) -> ModelBundle:
    """Train and save a model, printing its held-out test metrics."""
    from tapewatch.cli.progress import progress_bar
    from tapewatch.detect.supervised import XGBoostConfig
    from tapewatch.learn.hashing import file_sha256
    from tapewatch.learn.registry import save_model
    from tapewatch.learn.workflow import train_on_events
    from tapewatch.monitor.report import render_report

    loaded = _load(data, deadletter_dir, out_console)
    real = _load(unlabelled, deadletter_dir, out_console) if unlabelled is not None else None
    with progress_bar(out_console, "features", loaded.num_rows, quiet=quiet) as advance:
        outcome = train_on_events(
            loaded,
            data_path=str(data),
            data_hash=file_sha256(data),
            xgb_config=XGBoostConfig(seed=seed),
            tune_trials=tune,
            on_features=advance,
            on_trial=None if quiet else _print_trial(out_console),
            ae_config=ae_config,
            unlabelled=real,
            unlabelled_name=str(unlabelled or ""),
            on_epoch=None if quiet else _print_epoch(out_console),
            scoring=scoring,
        )
    bundle = save_model(outcome.bundle, out)
    if not quiet:
        out_console.print("[bold]held-out test split of the training data[/]")
        render_report(outcome.test_report, out_console)
    sc = bundle.scoring
    thresholds = f"supervised threshold {sc.alert_threshold:.3f}"
    if sc.ensemble_threshold is not None:
        thresholds += f", ensemble threshold {sc.ensemble_threshold:.3f} (w = {sc.ensemble_weight})"
    out_console.print(f"model {bundle.version} written to {out} ({thresholds})")
    return bundle


def _load(path: Path, deadletter_dir: Path, out_console: Console) -> pa.Table:
    from tapewatch.schema.load import load_events

    loaded = load_events(path, deadletter_dir=deadletter_dir)
    if loaded.n_bad:
        out_console.print(
            f"[yellow]{loaded.n_bad:,} bad rows of {path} sent to {loaded.deadletter_path}[/]"
        )
    return loaded.table


def _print_epoch(out_console: Console) -> Callable[[int, float, float], None]:
    def report(epoch: int, train_loss: float, valid_loss: float) -> None:
        out_console.print(
            f"autoencoder epoch {epoch}: reconstruction error {train_loss:.4f} (train), "
            f"{valid_loss:.4f} (validation)"
        )

    return report


def _print_trial(out_console: Console) -> Callable[[int, float], None]:
    def report(number: int, value: float) -> None:
        out_console.print(f"trial {number}: validation average precision {value:.4f}")

    return report
