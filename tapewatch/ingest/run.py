"""Map a foreign file into contract events: read, map, validate, set bad rows aside."""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from tapewatch.ingest.apply import apply_mapping
from tapewatch.ingest.mapping import SchemaMapping
from tapewatch.schema.deadletter import DeadLetter
from tapewatch.schema.errors import ContractError
from tapewatch.schema.load import deadletter_path_for
from tapewatch.schema.raw import RawTable
from tapewatch.schema.readers import read_raw
from tapewatch.schema.validate import validate_events
from tapewatch.schema.writers import write_dead_letters


@dataclass(frozen=True)
class MapResult:
    """Contract events mapped from one file, and what was set aside and why."""

    table: pa.Table
    n_read: int
    n_bad: int
    deadletter_path: Path | None
    #: dead letters per field that failed ('' when the row as a whole was unreadable)
    bad_by_field: dict[str, int] = field(default_factory=dict)
    #: reader-specific counts, e.g. LOBSTER messages per type and halts skipped
    counts: dict[str, int] = field(default_factory=dict)
    dead_letters: tuple[DeadLetter, ...] = ()

    def status_counts(self) -> dict[str, int]:
        """Mapped events per order_status."""
        if self.table.num_rows == 0:
            return {}
        counted = pc.value_counts(self.table.column("order_status")).to_pylist()
        return {str(item["values"]): int(item["counts"]) for item in counted}


def map_file(path: Path, mapping: SchemaMapping, *, deadletter_dir: Path | None) -> MapResult:
    """Read ``path``, apply ``mapping``, validate; bad rows go to ``deadletter_dir``."""
    raw = read_raw(path)
    return finish(apply_mapping(raw, mapping), path, deadletter_dir=deadletter_dir)


def finish(
    mapped: RawTable,
    path: Path,
    *,
    deadletter_dir: Path | None,
    n_read: int | None = None,
    counts: dict[str, int] | None = None,
) -> MapResult:
    """Validate mapped rows against the contract and write the dead letters of ``path``.

    ``n_read`` is the number of source rows (default: good plus bad rows).
    Raises ContractError if no row survives.
    """
    result = validate_events(mapped)
    source = str(path)
    target = None if deadletter_dir is None else deadletter_path_for(path, deadletter_dir)
    if target is not None:
        with contextlib.suppress(FileNotFoundError):
            target.unlink()  # a previous run's letters would be mistaken for this run's
        write_dead_letters(result.bad, target, source=source)
    n_bad = len(result.bad)
    if result.good.num_rows == 0:
        first = f" (first: {result.bad[0].message})" if result.bad else ""
        raise ContractError(source, f"no valid rows after mapping; {n_bad} rejected{first}")
    return MapResult(
        table=result.good,
        n_read=result.n_rows if n_read is None else n_read,
        n_bad=n_bad,
        deadletter_path=target if n_bad and target is not None else None,
        bad_by_field=dict(Counter(letter.field for letter in result.bad)),
        counts=dict(counts or {}),
        dead_letters=tuple(result.bad),
    )
