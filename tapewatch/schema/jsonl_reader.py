"""Read JSON Lines event files; a malformed line becomes a dead letter, not a failure."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.json as pj

from tapewatch.schema.deadletter import DeadLetter, json_safe_row
from tapewatch.schema.errors import ContractError
from tapewatch.schema.raw import RawTable


def _count_lines(data: bytes) -> int:
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


#: below this many lines Python's json module is faster: Arrow's reader has a fixed cost a
#: call however few lines it is given
ARROW_MIN_LINES = 64


def parse_jsonl(data: bytes, first_line: int, source: str) -> RawTable:
    """Parse JSON Lines text whose first line is ``first_line`` of the file."""
    if _count_lines(data) < ARROW_MIN_LINES:
        return _parse_line_by_line(data, first_line, source)
    try:
        table = pj.read_json(io.BytesIO(data), read_options=pj.ReadOptions(use_threads=False))
        # Arrow's reader can build an invalid nested array (from a list of nulls); only
        # nested columns are checked, so flat events pay nothing
        if any(pa.types.is_nested(f.type) for f in table.schema):
            table.validate(full=True)
    except (pa.ArrowException, ValueError):
        return _parse_line_by_line(data, first_line, source)
    if table.num_rows != _count_lines(data):  # blank lines: positions need counting
        return _parse_line_by_line(data, first_line, source)
    return RawTable(table=table, line_of_first_row=first_line, unit="line", source=source)


def _parse_line_by_line(data: bytes, first_line: int, source: str) -> RawTable:
    rows: list[dict[str, object]] = []
    lines: list[int] = []
    rejected: list[DeadLetter] = []
    for offset, raw_line in enumerate(data.split(b"\n")):
        line = first_line + offset
        if not raw_line.strip():
            continue
        try:
            value = json.loads(raw_line)
        except ValueError:
            rejected.append(_unreadable(line, "not valid JSON", raw_line))
            continue
        if not isinstance(value, dict):
            rejected.append(_unreadable(line, "not a JSON object", raw_line))
            continue
        rows.append(value)
        lines.append(line)
    return _rows_table(rows, lines, rejected, first_line, source)


def parse_records(records: Iterable[object], source: str) -> RawTable:
    """Events given as dicts (already parsed JSON, or Python values), numbered from 1 as
    lines; anything but a mapping is a dead letter."""
    rows: list[dict[str, object]] = []
    lines: list[int] = []
    rejected: list[DeadLetter] = []
    for line, record in enumerate(records, start=1):
        if not isinstance(record, Mapping):
            rejected.append(_unreadable(line, "not a JSON object", str(record)))
            continue
        rows.append(json_safe_row(record))
        lines.append(line)
    return _rows_table(rows, lines, rejected, 1, source)


def _rows_table(
    rows: list[dict[str, object]],
    lines: list[int],
    rejected: list[DeadLetter],
    first_line: int,
    source: str,
) -> RawTable:
    keys = list(dict.fromkeys(key for row in rows for key in row))
    if keys:
        table = pa.table({key: _column([row.get(key) for row in rows]) for key in keys})
    else:  # empty objects are rows without fields, each rejected for what it lacks
        table = pa.Table.from_struct_array(pa.array([{}] * len(rows), pa.struct([])))
    return RawTable(
        table=table,
        line_of_first_row=lines[0] if lines else first_line,
        unit="line",
        source=source,
        row_lines=np.array(lines, dtype=np.int64),
        rejected=tuple(rejected),
    )


def _unreadable(line: int, reason: str, raw_line: bytes | str) -> DeadLetter:
    text = raw_line if isinstance(raw_line, str) else raw_line.decode("utf-8", errors="replace")
    return DeadLetter(line, "line", "", reason, {"_text": text.rstrip("\r")})


def _column(values: list[object]) -> pa.Array:
    """An Arrow array of one key's values; mixed JSON types fall back to text."""
    try:
        return pa.array(values)
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        texts = [v if v is None or isinstance(v, str) else json.dumps(v) for v in values]
        return pa.array(texts, type=pa.string())


def read_jsonl(path: Path, source: str) -> RawTable:
    """Read a whole JSON Lines file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ContractError(source, f"cannot read file ({exc.strerror or exc})") from None
    head = data.lstrip()
    if not head:
        raise ContractError(source, "file is empty")
    if head.startswith(b"["):
        raise ContractError(source, "is a JSON array, not JSON Lines (one object per line)")
    return parse_jsonl(data, 1, source)


def iter_jsonl(path: Path, source: str, batch_rows: int) -> Iterator[RawTable]:
    """Stream a JSON Lines file in tables of up to ``batch_rows`` lines each."""
    line = 1
    try:
        with path.open("rb") as handle:
            while chunk := list(islice(handle, batch_rows)):
                raw = parse_jsonl(b"".join(chunk), line, source)
                line += len(chunk)
                if raw.num_rows or raw.rejected:
                    yield raw
    except OSError as exc:
        raise ContractError(source, f"cannot read file ({exc.strerror or exc})") from None
