"""`tapewatch generate`: a simulated market day with labelled abuse episodes."""

from __future__ import annotations

import datetime as dt
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from tapewatch.cli.common import Quiet, console
from tapewatch.synth.config import AbuseMix, MarketConfig

if TYPE_CHECKING:
    import pyarrow as pa


def generate(
    out: Annotated[Path, typer.Option(help="Events file to write (.parquet, .csv or .jsonl).")],
    events: Annotated[int, typer.Option(help="Target number of events.")] = 100_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same file.")] = 7,
    date: Annotated[
        str, typer.Option(help="Trading date, YYYY-MM-DD (timestamps are UTC).")
    ] = "2026-03-02",
    mix: Annotated[
        str | None,
        typer.Option(
            help="Share of events per typology, e.g. 'spoofing=0.05,quote_stuffing=0.02'; "
            "unnamed typologies keep their defaults, 0 turns one off."
        ),
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Write a simulated market day with labelled abuse episodes, and print counts per typology."""
    from tapewatch.schema.writers import write_table_atomic

    out_console = console()
    config = MarketConfig(
        n_events=events, seed=seed, date=dt.date.fromisoformat(date), mix=parse_mix(mix)
    )
    table = generate_day(config, out_console, quiet=quiet)
    write_table_atomic(table, out)
    print_summary(table, out_console)
    out_console.print(f"wrote {table.num_rows:,} events to {out}")


def parse_mix(text: str | None) -> AbuseMix:
    """An AbuseMix from 'typology=share,...' text."""
    if not text:
        return AbuseMix()
    known = {f.name for f in fields(AbuseMix)}
    shares: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name = name.strip().lower()
        if not sep or name not in known:
            raise ValueError(
                f"--mix: expected typology=share with typology in {sorted(known)}, got {part!r}"
            )
        try:
            shares[name] = float(value)
        except ValueError:
            raise ValueError(f"--mix: {name}: not a number: {value!r}") from None
    return AbuseMix(**shares)


def generate_day(config: MarketConfig, out_console: Console, *, quiet: bool) -> pa.Table:
    """Simulate one day with a progress bar."""
    from tapewatch.cli.progress import progress_bar
    from tapewatch.synth.market import generate_market

    with progress_bar(out_console, "generating", config.n_events, quiet=quiet) as advance:
        done = 0

        def on_progress(total: int) -> None:
            nonlocal done
            advance(max(0, total - done))
            done = total

        return generate_market(config, progress=on_progress)


def print_summary(table: pa.Table, out_console: Console) -> None:
    """Counts of events and episodes per typology."""
    from rich.table import Table

    from tapewatch.synth.summary import summarize

    grid = Table(title="generated events by typology")
    grid.add_column("typology")
    grid.add_column("events", justify="right")
    grid.add_column("episodes", justify="right")
    grid.add_column("share", justify="right")
    for row in summarize(table):
        grid.add_row(
            str(row.manipulation_type), f"{row.events:,}", f"{row.episodes:,}", f"{row.share:.2%}"
        )
    out_console.print(grid)
