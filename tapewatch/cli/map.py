"""`tapewatch map`: turn a foreign file into contract events with a mapping, or from LOBSTER."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from tapewatch.cli.common import DEFAULT_DEADLETTER, DeadLetterDir, console
from tapewatch.ingest.audit import LOBSTER_WARNING
from tapewatch.ingest.lobster import LobsterSpec, map_lobster
from tapewatch.ingest.mapping import load_mapping
from tapewatch.ingest.run import MapResult, map_file
from tapewatch.schema.writers import write_table_atomic


def map_command(
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="File to map (.csv/.parquet/.jsonl, or LOBSTER)."),
    ],
    out: Annotated[Path, typer.Option(help="Events file to write (.parquet, .csv or .jsonl).")],
    mapping: Annotated[
        Path | None,
        typer.Option(help="Schema mapping JSON (as `tapewatch audit` suggests); not for lobster."),
    ] = None,
    format_: Annotated[
        str,
        typer.Option(
            "--format", help="'mapped' (a table + --mapping) or 'lobster' (a message file)."
        ),
    ] = "mapped",
    orderbook: Annotated[
        Path | None, typer.Option(help="LOBSTER order-book file: bid/ask before each event.")
    ] = None,
    date: Annotated[str | None, typer.Option(help="LOBSTER: trading day, YYYY-MM-DD.")] = None,
    instrument: Annotated[
        str | None, typer.Option(help="LOBSTER: instrument id, e.g. AMZN.")
    ] = None,
    venue: Annotated[str, typer.Option(help="LOBSTER: MIC of the venue.")] = "XNAS",
    timezone: Annotated[
        str, typer.Option(help="LOBSTER: IANA time zone of the message times.")
    ] = "America/New_York",
    deadletter_dir: DeadLetterDir = DEFAULT_DEADLETTER,
) -> None:
    """Read FILE, map it onto the contract and write valid events to --out.

    Rows that cannot be mapped or fail validation go to
    <deadletter-dir>/<stem>.deadletter.jsonl with their line number and reason.
    LOBSTER files have no trader ids: trader_id and counterparty_id become 'UNKNOWN'.
    """
    if format_ == "lobster":
        if mapping is not None:
            raise ValueError("--mapping does not apply to --format lobster")
        if date is None or instrument is None:
            raise ValueError("--format lobster needs --date and --instrument")
        try:
            day = dt.date.fromisoformat(date)
        except ValueError:
            raise ValueError(f"--date: expected YYYY-MM-DD, got {date!r}") from None
        spec = LobsterSpec(date=day, instrument=instrument, venue=venue, timezone=timezone)
        result = map_lobster(file, spec, orderbook_path=orderbook, deadletter_dir=deadletter_dir)
    elif format_ == "mapped":
        if mapping is None:
            raise ValueError("--mapping is required (or use --format lobster)")
        if orderbook is not None or date is not None or instrument is not None:
            raise ValueError("--orderbook, --date and --instrument apply to --format lobster")
        result = map_file(file, load_mapping(mapping), deadletter_dir=deadletter_dir)
    else:
        raise ValueError(f"--format: expected 'mapped' or 'lobster', got {format_!r}")
    write_table_atomic(result.table, out)
    _report(result, out)
    if format_ == "lobster":
        console().print(f"[bold yellow]warning:[/] {LOBSTER_WARNING}")


def _report(result: MapResult, out: Path) -> None:
    """Print what was read, written and rejected."""
    printer = console()
    printer.print(
        f"read {result.n_read:,} rows, wrote {result.table.num_rows:,} events to {out}, "
        f"{result.n_bad:,} rejected"
        + (f" (see {result.deadletter_path})" if result.deadletter_path else "")
    )
    statuses = ", ".join(f"{k} {v:,}" for k, v in sorted(result.status_counts().items()))
    printer.print(f"events by status: {statuses}")
    if result.bad_by_field:
        fields = ", ".join(f"{k or '(row)'} {v:,}" for k, v in sorted(result.bad_by_field.items()))
        printer.print(f"rejected by field: {fields}")
    if result.counts:
        counts = ", ".join(f"{k} {v:,}" for k, v in result.counts.items())
        printer.print(f"source: {counts}")
