"""Read Parquet event files, whole or in batches."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tapewatch.schema.errors import ContractError
from tapewatch.schema.raw import RawTable


def _open(path: Path, source: str) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise ContractError(source, f"not a readable Parquet file ({exc})") from None


def read_parquet(path: Path, source: str) -> RawTable:
    """Read a whole Parquet file."""
    try:
        table = _open(path, source).read()
    except (pa.ArrowException, OSError) as exc:
        raise ContractError(source, f"not a readable Parquet file ({exc})") from None
    return RawTable(table=table, line_of_first_row=1, unit="row", source=source)


def iter_parquet(path: Path, source: str, batch_rows: int) -> Iterator[RawTable]:
    """Stream a Parquet file in tables of up to ``batch_rows`` rows."""
    parquet = _open(path, source)
    first = 1
    try:
        for batch in parquet.iter_batches(batch_size=batch_rows):
            table = pa.Table.from_batches([batch])
            yield RawTable(table=table, line_of_first_row=first, unit="row", source=source)
            first += table.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise ContractError(source, f"not a readable Parquet file ({exc})") from None
