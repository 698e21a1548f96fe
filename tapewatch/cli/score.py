"""`tapewatch score`: score an events file and group flagged events into alerts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from tapewatch.cli.common import (
    DEFAULT_DEADLETTER,
    DeadLetterDir,
    Explain,
    Quiet,
    console,
    load_bundle,
    open_store,
)

if TYPE_CHECKING:
    from tapewatch.engine.batch import ScoreResult


def score(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT", help="Events file to score.")],
    model: Annotated[Path, typer.Option(help="Model directory written by `tapewatch train`.")],
    out: Annotated[Path, typer.Option(help="Scores file to write (Parquet, one row per event).")],
    alerts: Annotated[Path | None, typer.Option(help="Alerts file to write (Parquet).")] = None,
    batch_rows: Annotated[int, typer.Option(help="Events per micro-batch.")] = 100_000,
    explain: Explain = None,
    rules: Annotated[
        Path | None,
        typer.Option(help="Rules file (TOML) to run beside the models; default: the shipped one."),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="Also store the alerts for review (SQLite file or database URL)."
        ),
    ] = None,
    lake: Annotated[
        Path | None,
        typer.Option(help="Also write the scored events to this lake (by date and instrument)."),
    ] = None,
    deadletter_dir: DeadLetterDir = DEFAULT_DEADLETTER,
    quiet: Quiet = False,
) -> None:
    """Score INPUT with a model: write one score row per event and the alerts they raise."""
    run_score(
        input_path,
        model,
        out,
        alerts,
        batch_rows=batch_rows,
        deadletter_dir=deadletter_dir,
        quiet=quiet,
        out_console=console(),
        explain=explain,
        rules=rules,
        db=db,
        lake=lake,
    )


def run_score(
    input_path: Path,
    model_dir: Path,
    out: Path,
    alerts: Path | None,
    *,
    batch_rows: int,
    deadletter_dir: Path,
    quiet: bool,
    out_console: Console,
    explain: str | None = None,
    rules: Path | None = None,
    db: str | None = None,
    lake: Path | None = None,
) -> ScoreResult:
    """Score a file and print what was read, rejected, flagged and raised."""
    from tapewatch.cli.progress import progress_bar
    from tapewatch.detect.rules import load_rules
    from tapewatch.engine.batch import score_file
    from tapewatch.store.lake import ScoredLake

    bundle = load_bundle(model_dir, explain)
    with progress_bar(out_console, "scoring", None, quiet=quiet) as advance:
        result = score_file(
            input_path,
            bundle,
            scores_out=out,
            alerts_out=alerts,
            deadletter_dir=deadletter_dir,
            batch_rows=batch_rows,
            on_progress=advance,
            rules=load_rules(rules),
            lake=None if lake is None else ScoredLake(lake),
        )
    s = result.summary
    out_console.print(
        f"read {s.n_read:,} rows, {s.n_bad:,} rejected"
        + (f" (see {s.deadletter_path})" if s.deadletter_path else "")
        + f"; scored {s.n_scored:,}, flagged {s.n_flagged:,} ({s.n_flagged / max(s.n_scored, 1):.2%}),"
        f" {s.n_alerts:,} alerts; model {bundle.version}"
    )
    out_console.print(f"scores: {out}" + (f"   alerts: {alerts}" if alerts else ""))
    if db is not None:
        store = open_store(db, bundle, model_dir)
        store.put(result.alerts)
        store.close()
        out_console.print(f"stored {result.alerts.num_rows:,} alerts for review in {db}")
    if lake is not None:
        out_console.print(f"scored events in the lake: {lake}")
    return result
