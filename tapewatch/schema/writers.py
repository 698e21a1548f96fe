"""Write tables (Parquet, CSV, JSON Lines) atomically, and append dead letters."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from tapewatch.schema.deadletter import DeadLetter, Unit, json_safe_row
from tapewatch.schema.readers import file_format

_JSONL_BATCH_ROWS = 65_536
#: Dead-letter key for a rejected row's position, by unit.
_POSITION_KEY: dict[Unit, str] = {"line": "line", "row": "row_number"}


@contextlib.contextmanager
def _atomic(path: Path) -> Iterator[IO[bytes]]:
    """A temporary file next to ``path`` that replaces it only once fully written and synced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, on every path
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(handle.name)
        raise
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable, where the platform allows it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_parquet_atomic(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` as Parquet; readers see the old file or the whole new one."""
    with _atomic(path) as handle:
        pq.write_table(table, handle)


def write_csv_atomic(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` as CSV with a header, atomically."""
    with _atomic(path) as handle:
        pcsv.write_csv(table, handle)


def write_jsonl_atomic(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` as JSON Lines (times as ISO-8601 text), atomically."""
    with _atomic(path) as handle:
        for batch in _jsonl_ready(table).to_batches(max_chunksize=_JSONL_BATCH_ROWS):
            lines = (
                json.dumps(json_safe_row(row), ensure_ascii=False, separators=(",", ":"))
                for row in batch.to_pylist()
            )
            handle.write(("\n".join(lines) + "\n").encode("utf-8"))


def _jsonl_ready(table: pa.Table) -> pa.Table:
    """Timestamps as ISO text ending in Z (UTC) or without zone (naive)."""
    columns = []
    for column in table.columns:
        kind = column.type
        if pa.types.is_timestamp(kind):
            zone = "Z" if kind.tz is not None else ""
            column = pc.strftime(column, format=f"%Y-%m-%dT%H:%M:%S{zone}")
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


_WRITERS: dict[str, Callable[[pa.Table, Path], None]] = {
    "parquet": write_parquet_atomic,
    "csv": write_csv_atomic,
    "jsonl": write_jsonl_atomic,
}


def write_table_atomic(table: pa.Table, path: Path) -> None:
    """Write ``table`` atomically in the format ``path``'s extension names."""
    _WRITERS[file_format(path)](table, path)


def write_dead_letters(letters: Sequence[DeadLetter], path: Path, *, source: str) -> None:
    """Append dead letters to a JSON Lines file, one object per rejected row.

    Keys: ``source``, then ``line`` (CSV, JSON Lines) or ``row_number`` (Parquet; ``row``
    already names the raw row), ``field``, ``reason`` and ``row``.
    """
    if not letters:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        for letter in letters:
            record = {
                "source": source,
                _POSITION_KEY[letter.unit]: letter.line,
                "field": letter.field,
                "reason": letter.reason,
                "row": letter.row,
            }
            handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
