"""Where a stream's events come from: small sources behind one protocol.

A source hands out *chunks*: raw rows (validated later, so bad rows become dead letters
the same way for every source), the position each partition has reached, and when each
row entered the source, for latency. `commit` tells the source that everything up to
those positions is safely processed; a source that can re-deliver (Redis) re-delivers
only what was never committed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import parse_qs, urlparse

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tapewatch.engine.prefetch import ReadAhead
from tapewatch.schema.jsonl_reader import parse_jsonl
from tapewatch.schema.raw import RawTable
from tapewatch.schema.readers import iter_raw_batches
from tapewatch.schema.timestamps import to_timestamp

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Chunk:
    """Raw rows read from a source, where each partition now stands, and arrival times."""

    raw: RawTable
    #: per partition, the position of its last row in this chunk
    positions: dict[str, str]
    #: when each row entered the source (time.monotonic_ns)
    arrived_ns: I64
    #: each row's message id, where the source has them (for dead letters)
    ids: tuple[str, ...] = ()


class Source(Protocol):
    """A stream of event rows."""

    def read(self, max_rows: int, timeout_s: float) -> Chunk | None:
        """Up to `max_rows` rows, waiting at most `timeout_s` for the first; an empty
        chunk when none came in time, None when the source has ended."""
        ...

    def seek(self, positions: Mapping[str, str]) -> None:
        """Skip what lies at or before these positions (restored from a checkpoint)."""
        ...

    def commit(self, positions: Mapping[str, str]) -> None:
        """Everything up to these positions is processed and persisted."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...

    def lag(self) -> int:
        """Events known to wait in the source (0 where the source cannot tell)."""
        ...


def empty_chunk(source: str) -> Chunk:
    """A chunk with no rows."""
    return Chunk(RawTable(pa.table({}), 1, "line", source), {}, np.empty(0, np.int64))


#: rows read from a file at a time, on a thread of their own a block or two ahead; a paced
#: replay reads smaller blocks, because what the read holds the GIL for holds up every
#: event due meanwhile
BLOCK = 65_536
PACED_BLOCK = 4_096


class FileSource:
    """Replays an events file (Parquet, CSV or JSON Lines) in order.

    `rate` paces it at that many events per second of wall time; `speed` replays event
    time that many times faster than it happened. Without either it reads as fast as it
    can. Its one partition, "file", counts rows.
    """

    PARTITION = "file"

    def __init__(self, path: Path, *, rate: float | None = None, speed: float | None = None):
        if (rate is not None and rate <= 0) or (speed is not None and speed <= 0):
            raise ValueError("rate and speed must be positive")
        self.path = path
        self.rate = rate
        self.speed = speed
        self._batches: ReadAhead[RawTable] | None = None
        self._pending: RawTable | None = None
        #: when each pending row falls due (paced replays), computed once per block read
        self._pending_due: I64 | None = None
        self._row = 0
        self._skip = 0
        self._start_ns = 0
        self._first_event_us: int | None = None
        self._total: int | None = None
        self._ended = False

    def seek(self, positions: Mapping[str, str]) -> None:
        """Start after the row the checkpoint reached."""
        self._skip = int(positions.get(self.PARTITION, "0"))

    def read(self, max_rows: int, timeout_s: float) -> Chunk | None:
        """The next rows that are due, at most `max_rows`."""
        raw = self._peek()
        if raw is None:
            return None
        now = time.monotonic_ns()
        head = min(raw.num_rows, max_rows)
        due = self._pending_due[:head] if self._pending_due is not None else np.full(head, now)
        if due[0] > now:  # nothing due yet: wait for the first, at most the timeout
            time.sleep(min((due[0] - now) / 1e9, timeout_s))
            now = time.monotonic_ns()
        n = int(np.searchsorted(due, now, side="right"))
        if n == 0:
            return empty_chunk(str(self.path))
        if n < raw.num_rows:
            self._pending = _slice(raw, n, raw.num_rows - n)
            self._pending_due = None if self._pending_due is None else self._pending_due[n:]
        else:
            self._pending, self._pending_due = None, None
        self._row += n
        return Chunk(_slice(raw, 0, n), {self.PARTITION: str(self._row)}, due[:n])

    def commit(self, positions: Mapping[str, str]) -> None:
        """Nothing to acknowledge in a file."""

    def lag(self) -> int:
        """Rows due but not yet handed out: paced, those whose time has come; unpaced,
        the rest of the file (where its size is known: Parquet) or of the block read
        ahead."""
        if self._ended:
            return 0
        handed = self._row - self._skip
        size = self._size()
        rest = None if size is None else max(size - self._row, 0)
        if self.rate is not None and self._start_ns:
            due = int((time.monotonic_ns() - self._start_ns) * self.rate / 1e9) + 1
            lag = max(due - handed, 0)
            return lag if rest is None else min(lag, rest)
        if self.speed is not None:
            if self._pending_due is None:
                return 0
            return int(np.searchsorted(self._pending_due, time.monotonic_ns(), side="right"))
        if rest is not None:
            return rest
        return 0 if self._pending is None else self._pending.num_rows

    def close(self) -> None:
        """Stop reading ahead."""
        if self._batches is not None:
            self._batches.close()

    def _size(self) -> int | None:
        """Rows in the file, where that is known without reading it."""
        if self._total is None and self.path.suffix == ".parquet":
            self._total = int(pq.ParquetFile(self.path).metadata.num_rows)
        return self._total

    def _peek(self) -> RawTable | None:
        """The rows read but not yet handed out, past any rows to skip."""
        if self._batches is None:
            paced = self.rate is not None or self.speed is not None
            blocks = iter_raw_batches(self.path, PACED_BLOCK if paced else BLOCK)
            self._batches = ReadAhead(blocks)
        while True:
            if self._pending is None:
                self._pending = next(self._batches, None)
                if self._pending is None:
                    self._ended = True
                    return None
                if not self._start_ns:
                    # the replay starts once its first rows are read, not while the file
                    # is opened (a row group is read whole, which every event due
                    # meanwhile would wait for)
                    self._start_ns = time.monotonic_ns()
            raw = self._pending
            if self._row >= self._skip:
                if self._pending_due is None and (self.rate or self.speed):
                    self._pending_due = self._due_ns(raw)
                return raw
            drop = min(self._skip - self._row, raw.num_rows)
            self._row += drop
            self._pending = _slice(raw, drop, raw.num_rows - drop) if drop < raw.num_rows else None

    def _due_ns(self, raw: RawTable) -> I64:
        """When each row of a newly read block falls due (monotonic ns)."""
        n = raw.num_rows
        if self.rate is not None:
            index = np.arange(self._row, self._row + n) - self._skip
            return self._start_ns + (index * (1e9 / self.rate)).astype(np.int64)
        if self.speed is not None and "timestamp" in raw.table.column_names:
            us = _event_us(raw.table.column("timestamp"))
            if self._first_event_us is None and len(us):
                self._first_event_us = int(us[0])
            offset = (us - (self._first_event_us or 0)) * (1000 / self.speed)
            return self._start_ns + offset.astype(np.int64)
        return np.full(n, self._start_ns, dtype=np.int64)


class StdinSource:
    """JSON Lines on standard input, one event per line; ends with the input."""

    PARTITION = "stdin"

    def __init__(self, stream: BinaryIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdin.buffer
        self._line = 0

    def seek(self, positions: Mapping[str, str]) -> None:
        """Standard input cannot be re-read: a restart goes on with what comes next."""

    def read(self, max_rows: int, timeout_s: float) -> Chunk | None:
        """The next lines (a blocking read: standard input has no timeout)."""
        lines = []
        for _ in range(max_rows):
            line = self.stream.readline()
            if not line:
                break
            lines.append(line)
            if not self._has_more():
                break
        if not lines:
            return None
        first = self._line + 1
        self._line += len(lines)
        raw = parse_jsonl(b"".join(lines), first, "stdin")
        now = time.monotonic_ns()
        return Chunk(
            raw, {self.PARTITION: str(self._line)}, np.full(raw.num_rows, now, dtype=np.int64)
        )

    def _has_more(self) -> bool:
        peek = getattr(self.stream, "peek", None)
        return bool(peek(1)) if peek is not None else False

    def commit(self, positions: Mapping[str, str]) -> None:
        """Nothing to acknowledge."""

    def lag(self) -> int:
        """Standard input cannot tell what waits in it."""
        return 0

    def close(self) -> None:
        """Standard input stays open."""


def file_source_from_url(url: str) -> FileSource:
    """`file://events.parquet?rate=10000&speed=10` (a relative path is fine)."""
    parsed = urlparse(url)
    path = Path((parsed.netloc + parsed.path) if parsed.netloc else parsed.path)
    query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    unknown = set(query) - {"rate", "speed"}
    if unknown:
        raise ValueError(f"{url}: unknown option(s) {sorted(unknown)}; expected rate, speed")
    rate = float(query["rate"]) if "rate" in query else None
    speed = float(query["speed"]) if "speed" in query else None
    return FileSource(path, rate=rate, speed=speed)


def _slice(raw: RawTable, start: int, length: int) -> RawTable:
    lines = raw.lines()[start : start + length]
    return RawTable(
        raw.table.slice(start, length),
        int(lines[0]) if len(lines) else raw.line_of_first_row,
        raw.unit,
        raw.source,
        row_lines=lines,
        rejected=raw.rejected if start == 0 else (),
    )


def _event_us(column: pa.ChunkedArray) -> I64:
    parsed = to_timestamp(column)
    us: I64 = pc.cast(parsed.values, pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    return us
