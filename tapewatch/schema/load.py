"""Load an event file: read, validate, and set bad rows aside in a dead-letter file."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from tapewatch.schema.deadletter import DeadLetter
from tapewatch.schema.errors import ContractError
from tapewatch.schema.readers import read_raw
from tapewatch.schema.validate import validate_events
from tapewatch.schema.writers import write_dead_letters


@dataclass(frozen=True)
class LoadResult:
    """Valid events of one file, and what was set aside."""

    table: pa.Table
    n_read: int
    n_bad: int
    deadletter_path: Path | None
    has_labels: bool
    dead_letters: tuple[DeadLetter, ...] = ()


def deadletter_path_for(path: Path, deadletter_dir: Path) -> Path:
    """Where the dead letters of input ``path`` go: ``<stem>.deadletter.jsonl``."""
    return deadletter_dir / f"{path.stem}.deadletter.jsonl"


def load_events(path: Path, *, deadletter_dir: Path | None) -> LoadResult:
    """Read and validate an event file; write bad rows to ``deadletter_dir`` if given.

    Raises ContractError for whole-file problems, including a file with no valid rows.
    """
    raw = read_raw(path)
    result = validate_events(raw)
    source = str(path)
    if result.n_rows == 0:
        raise ContractError(source, "no data rows")

    target = None if deadletter_dir is None else deadletter_path_for(path, deadletter_dir)
    if target is not None:
        with contextlib.suppress(FileNotFoundError):
            target.unlink()  # a previous run's letters would be mistaken for this run's
        if result.bad:
            write_dead_letters(result.bad, target, source=source)

    n_bad = len(result.bad)
    if result.good.num_rows == 0:
        if target is not None:
            where = f"sent to {target}"
        else:
            where = f"rejected (first: {result.bad[0].message})"
        raise ContractError(source, f"no valid rows; {n_bad} rows {where}")
    return LoadResult(
        table=result.good,
        n_read=result.n_rows,
        n_bad=n_bad,
        deadletter_path=target if n_bad else None,
        has_labels="manipulation_type" in result.good.column_names,
        dead_letters=tuple(result.bad),
    )
