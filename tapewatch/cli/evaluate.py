"""`tapewatch evaluate`: detection figures of scores against labels."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tapewatch.cli.common import console
from tapewatch.detect.scoring import DEFAULT_FPR


def evaluate_command(
    scores: Annotated[Path, typer.Option(help="Scores file written by `tapewatch score`.")],
    labels: Annotated[
        Path, typer.Option(help="Labelled events file (the scored input with labels).")
    ],
    alerts: Annotated[Path | None, typer.Option(help="Alerts file, for alert precision.")] = None,
    fpr: Annotated[
        float, typer.Option(help="False-positive rate on normal events for episode recall.")
    ] = DEFAULT_FPR,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Per-typology and overall precision, recall, F1, PR-AUC and episode recall."""
    import pyarrow.parquet as pq

    from tapewatch.monitor.evaluation import evaluate
    from tapewatch.monitor.report import render_report
    from tapewatch.schema.readers import read_raw
    from tapewatch.schema.validate import validate_events

    labelled = validate_events(read_raw(labels)).good
    report = evaluate(
        pq.read_table(scores),
        labelled,
        pq.read_table(alerts) if alerts is not None else None,
        fpr=fpr,
    )
    if as_json:
        typer.echo(report.to_json())
    else:
        render_report(report, console())
