"""`tapewatch audit`: inventory a foreign file and suggest how it maps onto the contract."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tapewatch.cli.common import console
from tapewatch.ingest.defaults import SAMPLE_ROWS


def audit(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="File to audit (.csv, .parquet, .jsonl).")
    ],
    out_dir: Annotated[
        Path | None,
        typer.Option(help="Where to write the report and mapping (default: FILE's directory)."),
    ] = None,
    sample_rows: Annotated[
        int, typer.Option(help="Rows read to sniff column contents (the row count is exact).")
    ] = SAMPLE_ROWS,
) -> None:
    """Read FILE and write <stem>.audit.md and a suggested <stem>.schema_mapping.json.

    The report lists rows, every column's type, null share and apparent contents, a
    suggested mapping to the contract's names and a checklist of the contract's fields.
    A LOBSTER message file is recognised, and the `map --format lobster` command suggested.
    """
    from rich.table import Table

    from tapewatch.ingest.audit import audit_file, write_audit

    if sample_rows < 1:
        raise ValueError(f"--sample-rows must be at least 1, got {sample_rows}")
    out = console()
    report = audit_file(file, sample_rows=sample_rows)
    md, mapping = write_audit(report, out_dir if out_dir is not None else file.parent)
    out.print(
        f"[bold]{file.name}[/]: {report.n_rows:,} rows, {len(report.profiles)} columns"
        f" ({report.layout.replace('_', ' ')})"
    )
    if report.checklist:
        table = Table("field", "status", "from", box=None, pad_edge=False)
        for item in report.checklist:
            if not item.required and item.status == "default":
                continue
            style = "bold red" if item.status == "missing" else ""
            table.add_row(
                item.field, f"[{style}]{item.status}[/]" if style else item.status, item.via
            )
        out.print(table)
    for warning in report.warnings:
        out.print(f"[bold yellow]warning:[/] {warning}")
    out.print(f"report: {md}" + (f"   mapping: {mapping}" if mapping else ""))
    out.print(f"next: {report.next_step}")
