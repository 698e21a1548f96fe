"""Read event files (Parquet, CSV, JSON Lines) into raw tables, whole or in batches."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from tapewatch.schema.csv_reader import iter_csv, read_csv
from tapewatch.schema.errors import ContractError
from tapewatch.schema.jsonl_reader import iter_jsonl, read_jsonl
from tapewatch.schema.parquet_reader import iter_parquet, read_parquet
from tapewatch.schema.raw import RawTable

Format = Literal["parquet", "csv", "jsonl"]

#: File name endings (lower case) and the format each one means.
FORMATS: dict[str, Format] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}

__all__ = ["FORMATS", "RawTable", "file_format", "iter_raw_batches", "read_raw"]


def file_format(path: Path) -> Format:
    """The format a file name's extension stands for; ContractError if unknown."""
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        known = ", ".join(FORMATS)
        suffix = path.suffix or "(none)"
        raise ContractError(
            str(path), f"unknown file type {suffix}; expected one of {known}"
        ) from None


def _check_file(path: Path) -> tuple[Format, str]:
    source = str(path)
    fmt = file_format(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ContractError(source, f"cannot read file ({exc.strerror or exc})") from None
    if not path.is_file():
        raise ContractError(source, "not a regular file")
    if size == 0:
        raise ContractError(source, "file is empty")
    return fmt, source


def read_raw(path: Path) -> RawTable:
    """Read a whole event file as it is, choosing the format from its extension."""
    fmt, source = _check_file(path)
    if fmt == "parquet":
        return read_parquet(path, source)
    if fmt == "csv":
        return read_csv(path, source)
    return read_jsonl(path, source)


def iter_raw_batches(path: Path, batch_rows: int) -> Iterator[RawTable]:
    """Yield the rows of an event file in order, in tables of at most ``batch_rows`` rows."""
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be at least 1, got {batch_rows}")
    fmt, source = _check_file(path)
    if fmt == "parquet":
        return iter_parquet(path, source, batch_rows)
    if fmt == "csv":
        return iter_csv(path, source, batch_rows)
    return iter_jsonl(path, source, batch_rows)
