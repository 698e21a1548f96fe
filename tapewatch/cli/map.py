"""`tapewatch map`: turn a foreign file into contract events with a mapping, or from LOBSTER."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tapewatch.cli.common import DEFAULT_DEADLETTER, DeadLetterDir, console

if TYPE_CHECKING:
    from tapewatch.ingest.lobster import LobsterSpec
    from tapewatch.ingest.run import MapResult


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
        Path | None,
        typer.Option(
            help="LOBSTER order-book file: bid/ask before each event "
            "(default: the _orderbook_ file beside FILE, if there is one)."
        ),
    ] = None,
    date: Annotated[
        str | None,
        typer.Option(help="LOBSTER: trading day, YYYY-MM-DD (default: from FILE's name)."),
    ] = None,
    instrument: Annotated[
        str | None,
        typer.Option(help="LOBSTER: instrument id, e.g. AMZN (default: FILE's ticker)."),
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
    A LOBSTER message file named as LOBSTER names it
    (TICKER_YYYY-MM-DD_START_END_message_LEVEL.csv) gives its day and instrument, and its
    _orderbook_ file beside it the bid/ask; --date, --instrument and --orderbook override.
    LOBSTER files have no trader ids: trader_id and counterparty_id become 'UNKNOWN'.
    """
    from tapewatch.ingest.audit import LOBSTER_WARNING
    from tapewatch.ingest.lobster import map_lobster, orderbook_beside, parse_lobster_name
    from tapewatch.ingest.mapping import load_mapping
    from tapewatch.ingest.run import map_file
    from tapewatch.schema.writers import write_table_atomic

    if format_ == "lobster":
        if mapping is not None:
            raise ValueError("--mapping does not apply to --format lobster")
        spec = _lobster_spec(file, date, instrument, venue=venue, timezone=timezone)
        if orderbook is None:
            orderbook = orderbook_beside(file)
            if orderbook is not None:
                console().print(f"order book: {orderbook} (beside {file.name})")
            elif parse_lobster_name(file) is not None:
                console().print(
                    f"no order book beside {file.name}: bid/ask columns stay empty "
                    "(--orderbook to give one)"
                )
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


def _lobster_spec(
    file: Path, date: str | None, instrument: str | None, *, venue: str, timezone: str
) -> LobsterSpec:
    """The day and instrument of a LOBSTER message file: the flags, else its name."""
    from tapewatch.ingest.lobster import LobsterSpec, parse_lobster_name

    name = parse_lobster_name(file)
    if name is not None and name.kind == "orderbook":
        raise ValueError(
            f"{file.name} is a LOBSTER order-book file: map its _message_ file "
            f"({name.partner().filename}); the order book beside it is used for bid/ask"
        )
    day = _day(date) if date is not None else None
    ticker = instrument
    if name is not None:
        day = name.date if day is None else day
        ticker = name.ticker if ticker is None else ticker
    if day is None or ticker is None:
        needed = " and ".join(
            flag for flag, value in (("--date", day), ("--instrument", ticker)) if value is None
        )
        raise ValueError(
            f"{file.name}: the name does not follow LOBSTER's "
            f"TICKER_YYYY-MM-DD_START_END_message_LEVEL.csv, so --format lobster needs {needed}"
        )
    taken = [
        f"{what} {value}"
        for what, value, flag in (("instrument", ticker, instrument), ("date", day, date))
        if flag is None
    ]
    if taken:
        console().print(f"from the file name: {', '.join(taken)}")
    return LobsterSpec(date=day, instrument=ticker, venue=venue, timezone=timezone)


def _day(text: str) -> dt.date:
    """A --date value."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--date: expected YYYY-MM-DD, got {text!r}") from None


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
