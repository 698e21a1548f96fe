"""`tapewatch queue`: the review sheet of the most suspicious flagged events."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tapewatch.cli.common import DEFAULT_DEADLETTER, DeadLetterDir, console


def queue(
    events: Annotated[Path, typer.Option(help="The events file that was scored.")],
    scores: Annotated[Path, typer.Option(help="Scores file written by `tapewatch score`.")],
    alerts: Annotated[Path, typer.Option(help="Alerts file written by `tapewatch score`.")],
    out: Annotated[Path, typer.Option(help="Review sheet to write (.csv, .parquet or .jsonl).")],
    top: Annotated[int, typer.Option(help="How many flagged events, most suspicious first.")] = 200,
    deadletter_dir: DeadLetterDir = DEFAULT_DEADLETTER,
) -> None:
    """Write the top flagged events with score, reason and features, and empty analyst columns."""
    import pyarrow.parquet as pq

    from tapewatch.learn.review import review_queue
    from tapewatch.schema.load import load_events
    from tapewatch.schema.writers import write_table_atomic

    loaded = load_events(events, deadletter_dir=deadletter_dir)
    sheet = review_queue(loaded.table, pq.read_table(scores), pq.read_table(alerts), top)
    write_table_atomic(sheet, out)
    manual = sum(sheet.column("requires_manual_review").to_pylist())
    console().print(
        f"wrote {sheet.num_rows:,} events to review ({manual:,} need a manual look) to {out}"
    )
