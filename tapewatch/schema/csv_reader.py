"""Read CSV event files with every column as text, keeping each row's physical line number."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from tapewatch.schema.deadletter import DeadLetter
from tapewatch.schema.errors import ContractError
from tapewatch.schema.raw import RawTable

#: Record number of the first data record: the header is record 1.
_FIRST_RECORD = 2
#: How many bytes the CSV parser reads at a time.
_BLOCK_SIZE = 1 << 22


def read_header(path: Path, source: str) -> list[str]:
    """Column names from a CSV file's first line, stripped of surrounding blanks."""
    try:
        with path.open("rb") as handle:
            first = handle.readline()
            while first.count(b'"') % 2 and (more := handle.readline()):
                first += more  # a quoted name spanning lines
        header = next(csv.reader(io.StringIO(first.decode("utf-8-sig"), newline="")), None)
    except UnicodeDecodeError:
        raise ContractError(source, "header is not UTF-8 text") from None
    except csv.Error as exc:
        raise ContractError(source, f"cannot parse the header ({exc})") from None
    if header is None:
        raise ContractError(source, "file is empty")
    names = [name.strip() for name in header]
    if not any(names):
        raise ContractError(source, "first line is not a header (no column names)")
    return names


@dataclass(frozen=True)
class _Skipped:
    """A record the CSV parser could not split into the header's columns."""

    record: int
    newlines: int
    reason: str
    text: str


class _LinePlacer:
    """Gives rows of one CSV file their physical line numbers, batch after batch.

    Arrow numbers records (the header is record 1), not lines: a quoted value with a
    line break makes a record span several lines, and records with the wrong number of
    fields are skipped (and reported here). This keeps the running counts needed to map
    each row, and each skipped record, to the line it starts on.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self._skipped: list[_Skipped] = []
        self._handed_out = 0
        self._good = 0
        self._good_newlines = 0

    def on_invalid(self, row: pcsv.InvalidRow) -> str:
        """Arrow callback: remember a record with the wrong number of fields and skip it."""
        text = str(row.text)
        record = int(row.number) if row.number is not None else _FIRST_RECORD + self._good
        reason = f"expected {row.expected_columns} columns, got {row.actual_columns}"
        self._skipped.append(_Skipped(record, text.count("\n"), reason, text))
        return "skip"

    def place(self, table: pa.Table) -> RawTable:
        """Wrap the next rows of the file, with their lines and the skipped records among them."""
        n = int(table.num_rows)
        extra = _newlines_inside(table)
        extra_before = np.cumsum(extra) - extra
        total_extra = int(extra.sum())
        q = np.array([s.record - j for j, s in enumerate(self._skipped)], dtype=np.int64)
        skipped_nl = np.concatenate(
            [[0], np.cumsum([s.newlines for s in self._skipped], dtype=np.int64)]
        ).astype(np.int64)
        good_record = _FIRST_RECORD + self._good + np.arange(n, dtype=np.int64)
        n_skipped_before = np.searchsorted(q, good_record, side="right")
        lines = (
            good_record
            + n_skipped_before
            + self._good_newlines
            + extra_before
            + skipped_nl[n_skipped_before]
        ).astype(np.int64)

        letters: list[DeadLetter] = []
        while self._handed_out < len(self._skipped):
            j = self._handed_out
            good_before = int(q[j]) - _FIRST_RECORD
            if good_before > self._good + n:
                break
            local = good_before - self._good
            nl_good = self._good_newlines + (
                int(extra_before[local]) if 0 <= local < n else (total_extra if local >= n else 0)
            )
            skipped = self._skipped[j]
            line = skipped.record + nl_good + int(skipped_nl[j])
            letters.append(DeadLetter(line, "line", "", skipped.reason, {"_text": skipped.text}))
            self._handed_out += 1

        first = int(lines[0]) if n else _FIRST_RECORD + self._good + self._handed_out
        self._good += n
        self._good_newlines += total_extra
        contiguous = n == 0 or int(lines[-1]) - first == n - 1
        return RawTable(
            table=table,
            line_of_first_row=first,
            unit="line",
            source=self.source,
            row_lines=None if contiguous else lines,
            rejected=tuple(letters),
        )


def _newlines_inside(table: pa.Table) -> npt.NDArray[np.int64]:
    """Per row, how many line breaks its quoted values contain."""
    extra = np.zeros(table.num_rows, dtype=np.int64)
    for column in table.columns:
        if not pa.types.is_string(column.type) or column.null_count == len(column):
            continue
        if pc.any(pc.match_substring(column, "\n")).as_py():
            counts = pc.fill_null(pc.count_substring(column, "\n"), 0)
            extra += counts.to_numpy().astype(np.int64)
    return extra


def _options(
    names: list[str], placer: _LinePlacer
) -> tuple[pcsv.ReadOptions, pcsv.ParseOptions, pcsv.ConvertOptions]:
    read = pcsv.ReadOptions(
        use_threads=False, column_names=names, skip_rows=1, block_size=_BLOCK_SIZE
    )
    parse = pcsv.ParseOptions(
        newlines_in_values=True,
        ignore_empty_lines=False,
        invalid_row_handler=placer.on_invalid,
    )
    convert = pcsv.ConvertOptions(
        column_types={name: pa.string() for name in names},
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    return read, parse, convert


def read_csv(path: Path, source: str) -> RawTable:
    """Read a whole CSV file, every column as nullable text."""
    names = read_header(path, source)
    placer = _LinePlacer(source)
    read, parse, convert = _options(names, placer)
    try:
        table = pcsv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)
    except (pa.ArrowException, OSError) as exc:
        raise ContractError(source, f"cannot read CSV ({exc})") from None
    return placer.place(table)


def iter_csv(path: Path, source: str, batch_rows: int) -> Iterator[RawTable]:
    """Stream a CSV file in tables of ``batch_rows`` rows (the last may be shorter)."""
    names = read_header(path, source)
    placer = _LinePlacer(source)
    read, parse, convert = _options(names, placer)
    try:
        reader = pcsv.open_csv(
            path, read_options=read, parse_options=parse, convert_options=convert
        )
        schema = reader.schema
        pending: list[pa.RecordBatch] = []
        count = 0
        for batch in reader:
            pending.append(batch)
            count += batch.num_rows
            while count >= batch_rows:
                table = pa.Table.from_batches(pending, schema)
                yield placer.place(table.slice(0, batch_rows))
                pending = table.slice(batch_rows).to_batches()
                count -= batch_rows
    except (pa.ArrowException, OSError) as exc:
        raise ContractError(source, f"cannot read CSV ({exc})") from None
    last = placer.place(pa.Table.from_batches(pending, schema))
    if last.num_rows or last.rejected:
        yield last
