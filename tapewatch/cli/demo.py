"""`tapewatch demo`: the whole batch job on generated data, end to end."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from tapewatch.cli.common import Quiet, console
from tapewatch.store.paths import (
    DATA_DIR,
    DEFAULT_DB,
    DEFAULT_DEADLETTER,
    DEFAULT_LAKE,
    DEFAULT_MODELS,
)
from tapewatch.synth.config import AbuseMix, MarketConfig

if TYPE_CHECKING:
    import pyarrow as pa

#: the training day over-samples the rarer typologies so the model sees enough episodes;
#: the unseen day keeps the default mix
TRAINING_MIX = AbuseMix(pump_and_dump=0.02, quote_stuffing=0.02, marking_the_close=0.03)


def demo(
    data_dir: Annotated[Path, typer.Option(help="Where every file of the demo goes.")] = DATA_DIR,
    train_events: Annotated[int, typer.Option(help="Events in the training day.")] = 1_000_000,
    test_events: Annotated[int, typer.Option(help="Events in the unseen day scored.")] = 100_000,
    seed: Annotated[
        int, typer.Option(help="Seed of the training day (the test day uses seed + 1).")
    ] = 7,
    quiet: Quiet = False,
) -> None:
    """Generate a training day, train, generate a new day, score it and evaluate."""
    out = console()
    run_demo(data_dir, train_events, test_events, seed, quiet=quiet, out_console=out)


def run_demo(
    data_dir: Path,
    train_events: int,
    test_events: int,
    seed: int,
    *,
    quiet: bool,
    out_console: Console,
) -> None:
    """Run the demo's five stages and say where every file is."""
    import pyarrow.parquet as pq
    from rich.table import Table

    from tapewatch.cli.score import run_score
    from tapewatch.cli.train import run_train
    from tapewatch.detect.anomaly import AutoencoderConfig
    from tapewatch.monitor.compare import (
        compare_detectors,
        render_comparison,
        standard_detectors,
    )
    from tapewatch.monitor.evaluation import evaluate
    from tapewatch.monitor.report import render_report

    data_dir.mkdir(parents=True, exist_ok=True)
    train_path = data_dir / "train-day.parquet"
    test_path = data_dir / "test-day.parquet"
    model_dir = data_dir / DEFAULT_MODELS.name / "demo"
    scores_path = data_dir / "test-day.scores.parquet"
    alerts_path = data_dir / "test-day.alerts.parquet"
    deadletter = data_dir / DEFAULT_DEADLETTER.name
    store = data_dir / DEFAULT_DB.name
    lake = data_dir / DEFAULT_LAKE.name

    out_console.rule("1/5 generate the training day")
    config = MarketConfig(
        n_events=train_events, seed=seed, date=dt.date(2026, 3, 2), mix=TRAINING_MIX
    )
    _write_day(config, train_path, out_console, quiet=quiet)

    out_console.rule("2/5 train the supervised detector and the autoencoder")
    bundle = run_train(
        train_path,
        model_dir,
        tune=0,
        seed=0,
        deadletter_dir=deadletter,
        quiet=quiet,
        out_console=out_console,
        ae_config=AutoencoderConfig(),
    )

    out_console.rule("3/5 generate a new day (another seed and date)")
    config = MarketConfig(n_events=test_events, seed=seed + 1, date=dt.date(2026, 3, 3))
    test_day = _write_day(config, test_path, out_console, quiet=quiet)

    out_console.rule("4/5 score the new day")
    result = run_score(
        test_path,
        model_dir,
        scores_path,
        alerts_path,
        batch_rows=100_000,
        deadletter_dir=deadletter,
        quiet=quiet,
        out_console=out_console,
        db=str(store),
        lake=lake,
    )

    out_console.rule("5/5 evaluate on the unseen day")
    scores = pq.read_table(scores_path)
    report = evaluate(scores, test_day, result.alerts)
    render_report(report, out_console)
    detectors = standard_detectors(scores, bundle.scoring.ensemble_weight)
    render_comparison(compare_detectors(scores, test_day, detectors), out_console)
    _show_detected_by(result.alerts, out_console)
    _show_alerts(
        result.alerts.slice(0, 0) if result.alerts.num_rows == 0 else result.alerts, out_console
    )

    files = Table(title="files", show_header=False)
    for name, path in (
        ("training day", train_path),
        ("model", model_dir),
        ("unseen day", test_path),
        ("scores", scores_path),
        ("alerts", alerts_path),
        ("store (alerts for review)", store),
        ("lake (scored events)", lake),
        ("dead letters", deadletter),
    ):
        files.add_row(name, str(path))
    out_console.print(files)
    out_console.print(f"model version {bundle.version}")
    out_console.print(
        "review the alerts in a browser: `tapewatch users add NAME --role analyst` prints a key,"
        " `tapewatch serve` starts the workbench on http://127.0.0.1:8000"
    )


def _write_day(config: MarketConfig, path: Path, out_console: Console, *, quiet: bool) -> pa.Table:
    """Generate a day, write it and print its counts per typology."""
    from tapewatch.cli.generate import generate_day, print_summary
    from tapewatch.schema.writers import write_parquet_atomic

    day = generate_day(config, out_console, quiet=quiet)
    write_parquet_atomic(day, path)
    print_summary(day, out_console)
    return day


def _show_detected_by(alerts: pa.Table, out_console: Console) -> None:
    """How many alerts each detector raised."""
    if alerts.num_rows == 0:
        return
    counts = alerts.group_by("detected_by").aggregate([("alert_id", "count")]).to_pylist()
    text = ", ".join(f"{c['detected_by']}: {c['alert_id_count']:,}" for c in counts)
    out_console.print(f"alerts by detector: {text}")


def _show_alerts(alerts: pa.Table, out_console: Console, n: int = 5) -> None:
    """The highest-scoring alerts with their explanations."""
    if alerts.num_rows == 0:
        out_console.print("no alerts raised")
        return
    top = alerts.sort_by([("score", "descending"), ("alert_id", "ascending")]).slice(0, n)
    out_console.print(f"[bold]top {top.num_rows} of {alerts.num_rows:,} alerts[/]")
    for a in top.to_pylist():
        out_console.print(
            f"[bold]{a['alert_id']}[/] {a['manipulation_type']} score {a['score']:.3f}, "
            f"trader {a['trader_id']} in {a['instrument_id']}, "
            f"{len(a['transaction_ids'])} events from {a['start']:%H:%M:%S} to {a['end']:%H:%M:%S} UTC"
        )
        out_console.print(f"  {a['explanation']}")
