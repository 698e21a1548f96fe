"""A table as read from a file, before validation, with the position of every row."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from tapewatch.schema.deadletter import DeadLetter, Unit


@dataclass(frozen=True)
class RawTable:
    """Rows exactly as read, with where they came from.

    Row ``i`` sits at ``line_of_first_row + i`` unless ``row_lines`` gives explicit
    positions (a JSON Lines file with blank lines, a CSV with line breaks inside quoted
    values). ``rejected`` holds lines the reader could not turn into a row at all.
    """

    table: pa.Table
    line_of_first_row: int
    unit: Unit
    source: str = ""
    row_lines: npt.NDArray[np.int64] | None = field(default=None, compare=False, repr=False)
    rejected: tuple[DeadLetter, ...] = ()

    @property
    def num_rows(self) -> int:
        """Number of rows in the table (not counting rejected lines)."""
        return int(self.table.num_rows)

    def lines(self) -> npt.NDArray[np.int64]:
        """Line (or row) number of every row of the table."""
        if self.row_lines is not None:
            return self.row_lines
        start = self.line_of_first_row
        return np.arange(start, start + self.num_rows, dtype=np.int64)
