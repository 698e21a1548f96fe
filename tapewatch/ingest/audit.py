"""Audit a foreign file: rows, columns, types, nulls, a suggested mapping and a checklist."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq

from tapewatch.ingest.defaults import SAMPLE_ROWS
from tapewatch.ingest.lobster import (
    MESSAGE_COLUMNS,
    TYPE_NAMES,
    orderbook_beside,
    parse_lobster_name,
)
from tapewatch.ingest.mapping import SchemaMapping, save_mapping
from tapewatch.ingest.sniff import ColumnProfile, profile_column
from tapewatch.ingest.suggest import Suggestion, suggest_mapping
from tapewatch.schema.columns import EVENT_SCHEMA, REQUIRED_EVENT_COLUMNS
from tapewatch.schema.errors import ContractError
from tapewatch.schema.readers import file_format, iter_raw_batches

Layout = Literal["table", "lobster_message", "lobster_orderbook", "headerless"]
LOBSTER_WARNING = (
    "LOBSTER files have no trader ids: trader_id and counterparty_id become the placeholder "
    "'UNKNOWN'; every per-trader feature sees one pooled trader; wash-trading and any "
    "account-based rule cannot work"
)


@dataclass(frozen=True)
class CheckItem:
    """One contract field: required or not, and how (or whether) the file provides it."""

    field: str
    required: bool
    status: Literal["present", "derived", "constant", "default", "missing"]
    via: str


@dataclass(frozen=True)
class AuditReport:
    """What an audit found in one file."""

    path: Path
    layout: Layout
    n_rows: int
    n_sampled: int
    profiles: tuple[ColumnProfile, ...]
    suggestion: Suggestion | None
    checklist: tuple[CheckItem, ...]
    warnings: tuple[str, ...]
    next_step: str

    @property
    def mapping(self) -> SchemaMapping | None:
        """The suggested mapping, if the file is a table a mapping can read."""
        return self.suggestion.mapping if self.suggestion is not None else None


def count_rows(path: Path) -> int:
    """Data rows in a file: Parquet metadata, else lines (less a CSV header)."""
    fmt = _format(path)
    if fmt == "parquet":
        return int(pq.ParquetFile(path).metadata.num_rows)
    lines = 0
    last = b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 24):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1
    return lines - 1 if fmt == "csv" else lines


def _format(path: Path) -> str:
    try:
        return file_format(path)
    except ContractError:
        return "csv" if path.suffix.lower() in (".txt", ".tsv", "") else "unknown"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _first_lines(path: Path, n: int) -> list[str]:
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        return [line.rstrip("\r\n") for line in itertools.islice(handle, n)]


def _lobster_message_line(row: list[str]) -> bool:
    """Whether one split line reads as a LOBSTER message."""
    if len(row) != len(MESSAGE_COLUMNS):
        return False
    try:
        time, kind, direction = float(row[0]), float(row[1]), float(row[5])
    except ValueError:
        return False
    return kind in TYPE_NAMES and direction in (1.0, -1.0) and 0 <= time < 2 * 86_400


def _headerless_layout(lines: list[str]) -> Layout:
    """Recognise LOBSTER message and order-book files among headerless numeric files.

    Most lines (60%) must fit, so broken lines do not hide the layout.
    """
    rows = [line.split(",") for line in lines if line.strip()]
    if not rows:
        return "headerless"
    if sum(map(_lobster_message_line, rows)) >= 0.6 * len(rows):
        return "lobster_message"
    width, count = Counter(len(row) for row in rows).most_common(1)[0]
    if width % 4 == 0 and count >= 0.6 * len(rows):
        return "lobster_orderbook"
    return "headerless"


def audit_file(path: Path, *, sample_rows: int = SAMPLE_ROWS) -> AuditReport:
    """Inventory ``path``: rows, columns (sniffed on the first ``sample_rows``), a mapping."""
    source = str(path)
    if not path.is_file():
        raise ContractError(source, "not a readable file")
    if path.stat().st_size == 0:
        raise ContractError(source, "file is empty")
    fmt = _format(path)
    if fmt == "unknown":
        raise ContractError(source, f"unknown file type {path.suffix or '(none)'}")
    if fmt == "csv":
        head = _first_lines(path, 1)
        fields = head[0].split(",") if head else []
        if fields and all(_is_number(f) for f in fields):
            return _audit_headerless(path, sample_rows)
    n_rows = count_rows(path)
    raw = next(iter(iter_raw_batches(path, sample_rows)), None)
    if raw is None:
        raise ContractError(source, "no data rows")
    table = raw.table
    profiles = tuple(
        profile_column(name, table.column(name), n_rows) for name in table.column_names
    )
    suggestion = suggest_mapping(list(profiles), file_name=path.name)
    checklist = _checklist(suggestion)
    next_step = (
        f"review {path.stem}.schema_mapping.json, then: tapewatch map {path.name} "
        f"--mapping {path.stem}.schema_mapping.json --out {path.stem}.events.parquet"
    )
    return AuditReport(
        path=path,
        layout="table",
        n_rows=n_rows,
        n_sampled=table.num_rows,
        profiles=profiles,
        suggestion=suggestion,
        checklist=checklist,
        warnings=suggestion.warnings,
        next_step=next_step,
    )


def _audit_headerless(path: Path, sample_rows: int) -> AuditReport:
    """Audit a CSV file without a header (numbers on its first line)."""
    lines = _first_lines(path, sample_rows)
    layout = _headerless_layout(lines)
    rows = [line.split(",") for line in lines if line.strip()]
    width = max((len(row) for row in rows), default=0)
    if layout == "lobster_message":
        names = list(MESSAGE_COLUMNS)
    elif layout == "lobster_orderbook":
        names = [f"{side}_{what}{level}" for level in range(1, width // 4 + 1)
                 for side, what in (("ask", "px"), ("ask", "sz"), ("bid", "px"), ("bid", "sz"))]  # fmt: skip
    else:
        names = [f"column_{i + 1}" for i in range(width)]
    padded = [row + [""] * (width - len(row)) for row in rows]
    table = pa.table(
        {
            name: pa.array([row[i] or None for row in padded], pa.string())
            for i, name in enumerate(names)
        }
    )
    n_rows = count_rows(path) + 1  # no header line
    profiles = tuple(profile_column(name, table.column(name), n_rows) for name in names)
    warnings: list[str] = []
    if layout == "lobster_message":
        next_step = _lobster_command(path)
        warnings.append(LOBSTER_WARNING)
        warnings.append("LOBSTER has no MODIFIED events; executions become two EXECUTED rows")
    elif layout == "lobster_orderbook":
        next_step = _orderbook_step(path)
    else:
        next_step = "the file has no header: add one, then audit it again"
        warnings.append("no header line: columns are named column_1, column_2, ...")
    checklist = _lobster_checklist() if layout == "lobster_message" else ()
    return AuditReport(
        path=path,
        layout=layout,
        n_rows=n_rows,
        n_sampled=table.num_rows,
        profiles=profiles,
        suggestion=None,
        checklist=checklist,
        warnings=tuple(warnings),
        next_step=next_step,
    )


def _lobster_command(path: Path) -> str:
    """The `map --format lobster` command for a message file, filled in from its name
    (read as `map` reads it), with placeholders where the name does not say."""
    name = parse_lobster_name(path)
    book = orderbook_beside(path)
    date = name.date.isoformat() if name is not None else "YYYY-MM-DD"
    instrument = name.ticker if name is not None else "<TICKER>"
    book_name = book.name if book is not None else "<ORDERBOOK_FILE>"
    return (
        f"tapewatch map {path.name} --format lobster --orderbook {book_name} "
        f"--date {date} --instrument {instrument} --venue XNAS --out {path.stem}.events.parquet"
    )


def _orderbook_step(path: Path) -> str:
    """What to do with an order-book file: map its message file, which finds it by name."""
    name = parse_lobster_name(path)
    if name is not None and name.kind == "orderbook":
        return (
            f"a LOBSTER order-book file: map its message file, {name.partner().filename}; "
            "tapewatch map --format lobster uses the order book beside it"
        )
    return "a LOBSTER order-book file: pass it to tapewatch map as --orderbook"


def _checklist(suggestion: Suggestion) -> tuple[CheckItem, ...]:
    """Every event column: required or not, and how the suggested mapping fills it."""
    items: list[CheckItem] = []
    for name in EVENT_SCHEMA.names:
        required = name in REQUIRED_EVENT_COLUMNS or name == "counterparty_id"
        spec = suggestion.mapping.get(name)
        via = suggestion.via.get(name, "")
        if spec is None:
            status: Literal["present", "derived", "constant", "default", "missing"]
            status = "missing" if required else "default"
            via = "not in the file" if required else "not in the file (optional)"
        elif spec.derive is not None:
            status = "derived"
        elif spec.column is None:
            status = "constant"
        else:
            status = "present"
        items.append(CheckItem(name, required, status, via))
    return tuple(items)


def _lobster_checklist() -> tuple[CheckItem, ...]:
    """How `map --format lobster` fills each contract column."""
    book = "order book of the previous message (the _orderbook_ file beside it, or --orderbook)"
    via = {
        "transaction_id": ("derived", "<instrument>-<YYYYMMDD>-<line>"),
        "timestamp": (
            "present",
            "time (seconds after midnight) + the day (file name or --date), in --timezone",
        ),
        "order_id": ("present", "order_id; AGG-/HID- ids for aggressor and hidden sides"),
        "order_status": ("present", "type: 1 NEW, 2/3 CANCELLED, 4/5 EXECUTED x2, 7 skipped"),
        "trader_id": ("constant", "'UNKNOWN': LOBSTER has no trader ids"),
        "instrument_id": ("constant", "the file name's ticker, or --instrument"),
        "trading_venue": ("constant", "--venue"),
        "side": ("present", "direction (resting side; aggressor opposite)"),
        "price": ("present", "price / 10000"),
        "quantity": ("present", "size"),
        "order_type": ("constant", "LIMIT"),
        "counterparty_id": ("constant", "'UNKNOWN' on executions"),
        "bid_price": ("present", book),
        "ask_price": ("present", book),
        "bid_size": ("present", book),
        "ask_size": ("present", book),
    }
    items = []
    for name in EVENT_SCHEMA.names:
        status, how = via.get(name, ("default", "default"))
        required = name in REQUIRED_EVENT_COLUMNS or name == "counterparty_id"
        items.append(CheckItem(name, required, status, how))  # type: ignore[arg-type]
    return tuple(items)


def render_markdown(report: AuditReport) -> str:
    """The audit as a Markdown document."""
    out = [f"# Audit of `{report.path.name}`", ""]
    layout = {
        "table": "a table with a header",
        "lobster_message": "a LOBSTER message file (no header, 6 numeric columns)",
        "lobster_orderbook": "a LOBSTER order-book file (no header, 4 columns per level)",
        "headerless": "a CSV file without a header",
    }[report.layout]
    out += [
        f"- layout: {layout}",
        f"- rows: {report.n_rows:,} (contents sniffed on the first {report.n_sampled:,})",
        f"- columns: {len(report.profiles)}",
        f"- next step: `{report.next_step}`",
        "",
    ]
    if report.warnings:
        out += ["## Warnings", ""]
        out += [f"- **{w}**" for w in report.warnings]
        out.append("")
    out += [
        "## Columns",
        "",
        "| column | type | nulls | distinct (sample) | looks like | examples |",
    ]
    out.append("|---|---|---|---|---|---|")
    for p in report.profiles:
        kinds = ", ".join(sorted(p.kinds)) + (f" ({p.epoch_unit})" if p.epoch_unit else "")
        examples = ", ".join(f"`{e}`" for e in p.examples[:3])
        out.append(
            f"| `{p.name}` | {p.arrow_type} | {p.null_share:.1%} | {p.n_distinct:,} | "
            f"{kinds} | {examples} |"
        )
    out.append("")
    if report.checklist:
        out += ["## Contract checklist", "", "| field | required | status | from |"]
        out.append("|---|---|---|---|")
        for item in report.checklist:
            mark = "**MISSING**" if item.status == "missing" else item.status
            req = "yes" if item.required else "no"
            out.append(f"| `{item.field}` | {req} | {mark} | {item.via} |")
        out.append("")
    if report.mapping is not None:
        out += [
            "## Suggested mapping",
            "",
            f"Written to `{report.path.stem}.schema_mapping.json`; review it before use.",
            "",
        ]
    return "\n".join(out)


def write_audit(report: AuditReport, out_dir: Path) -> tuple[Path, Path | None]:
    """Write ``<stem>.audit.md`` and, for tables, ``<stem>.schema_mapping.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / f"{report.path.stem}.audit.md"
    md.write_text(render_markdown(report) + "\n", encoding="utf-8")
    mapping_path = None
    if report.mapping is not None:
        mapping_path = out_dir / f"{report.path.stem}.schema_mapping.json"
        save_mapping(report.mapping, mapping_path)
    return md, mapping_path
