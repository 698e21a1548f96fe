"""The scored-event lake: Parquet files partitioned by date and instrument.

Scored events are buffered and written at each checkpoint as one numbered *segment*;
each file lands by an atomic rename. A restart deletes segments newer than its
checkpoint before replaying, so a replay rewrites them and no event appears twice.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import quote

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from tapewatch.schema.columns import concat_tables, has_column

#: event columns kept beside the scores in the lake
EVENT_COLUMNS = (
    "timestamp",
    "order_id",
    "trader_id",
    "instrument_id",
    "order_status",
    "side",
    "price",
    "quantity",
    "bid_price",
    "ask_price",
)
_SEGMENT = re.compile(r"^seg-(\d{10})-")
#: columns with few distinct values, dictionary-encoded in the files; the ids that are
#: nearly all distinct are not (encoding them cost a third of writing, and saved nothing)
_DICTIONARY = ["trader_id", "order_status", "side", "predicted_type"]
#: columns with min/max statistics: the one `window` filters on inside files (the others
#: cost 17 % of writing and no reader used them)
_STATISTICS = ["timestamp"]


class ScoredLake:
    """Appends scored events under `root/date=YYYY-MM-DD/instrument_id=X/`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._parts: list[pa.Table] = []

    def append(self, events: pa.Table, scores: pa.Table) -> None:
        """Buffer one batch: its event columns beside its scores."""
        if events.num_rows == 0:
            return
        names = [name for name in EVENT_COLUMNS if has_column(events, name)]
        self._parts.append(
            pa.Table.from_arrays(
                [*scores.columns, *(events.column(name) for name in names)],
                names=[*scores.column_names, *names],
            )
        )

    @property
    def buffered_tables(self) -> int:
        """Batches waiting for the next flush."""
        return len(self._parts)

    @property
    def buffered_rows(self) -> int:
        """Rows waiting for the next flush."""
        return sum(t.num_rows for t in self._parts)

    def flush(self, segment: int, tag: str = "") -> int:
        """Write the buffer as segment number `segment` (files named with `tag` too, so
        that inputs sharing segment numbers do not overwrite each other); rows written."""
        return self.write(self.detach(), segment, tag)

    def detach(self) -> list[pa.Table]:
        """Take the buffered batches, leaving the buffer empty (to write them elsewhere)."""
        parts, self._parts = self._parts, []
        return parts

    def write(self, parts: list[pa.Table], segment: int, tag: str = "") -> int:
        """Write detached batches as segment `segment` (safe on another thread: it touches
        only its own staging directory and the files it renames into place)."""
        if not parts:
            return 0
        # not combined first: the take below copies every row into place anyway
        table = concat_tables(parts)
        staging = self.root / f".staging-{segment:010d}"
        shutil.rmtree(staging, ignore_errors=True)
        name = f"seg-{segment:010d}-{tag + '-' if tag else ''}0.parquet"
        # the date and instrument are in the path (hive partitioning), not in the files
        data = table.drop_columns(["instrument_id"])
        order, partitions = _partitions(table)
        # one take in partition order, then a slice per partition, cheaper than a take
        # per partition (and it lets go of the GIL as it goes); a file must be one row
        # group, so the take's result is one chunk (as it comes)
        ordered = data.take(order).combine_chunks()
        offset = 0
        for date, instrument, size in partitions:
            directory = staging / f"date={quote(date, safe='')}"
            directory = directory / f"instrument_id={quote(instrument, safe='')}"
            directory.mkdir(parents=True)
            # a file at a time: pyarrow's dataset writer held the GIL for milliseconds at a
            # stretch (a stream writes its lake on a thread beside scoring)
            pq.write_table(
                ordered.slice(offset, size),
                directory / name,
                use_dictionary=_DICTIONARY,
                write_statistics=_STATISTICS,
            )
            offset += size
        for path in sorted(staging.rglob("*.parquet")):
            target = self.root / path.relative_to(staging)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
        shutil.rmtree(staging, ignore_errors=True)
        return int(table.num_rows)

    def drop_after(self, segment: int) -> int:
        """Delete segments numbered above `segment` (written after the last checkpoint)."""
        dropped = 0
        if not self.root.exists():
            return 0
        for path in self.root.rglob("seg-*.parquet"):
            match = _SEGMENT.match(path.name)
            if match and int(match.group(1)) > segment:
                path.unlink()
                dropped += 1
        for staging in self.root.glob(".staging-*"):
            shutil.rmtree(staging, ignore_errors=True)
        return dropped

    def read(self) -> pa.Table:
        """Everything in the lake (for checks and small days)."""
        return self._dataset().to_table()

    def window(self, instrument_id: str, start_us: int, end_us: int) -> pa.Table:
        """One instrument's scored events from start_us to end_us (inclusive), by time;
        empty when the lake holds none."""
        if not self.root.exists() or not any(self.root.rglob("*.parquet")):
            return pa.table({})
        data = self._dataset()
        start = pa.scalar(start_us, pa.int64()).cast(pa.timestamp("us", tz="UTC"))
        end = pa.scalar(end_us, pa.int64()).cast(pa.timestamp("us", tz="UTC"))
        dates = {str(d) for d in _utc_dates(pa.array([start, end])).to_pylist()}
        table = data.to_table(
            filter=(ds.field("instrument_id") == instrument_id)
            & ds.field("date").isin(sorted(dates))
            & (ds.field("timestamp") >= start)
            & (ds.field("timestamp") <= end)
        )
        return table.sort_by("timestamp")

    def _dataset(self) -> ds.Dataset:
        return ds.dataset(self.root, format="parquet", partitioning="hive")


def _partitions(table: pa.Table) -> tuple[npt.NDArray[np.int64], list[tuple[str, str, int]]]:
    """The table's rows in partition order (each partition's rows in their order), and
    each partition's UTC date, instrument and number of rows, in that order."""
    # the days as numbers, and as text only once each (a cast of every row to text was
    # two thirds of this function)
    days = pc.cast(table.column("timestamp"), pa.date32())
    keys = [pc.dictionary_encode(c).combine_chunks() for c in (days, table["instrument_id"])]
    codes = [k.indices.to_numpy(zero_copy_only=False).astype(np.int64) for k in keys]
    date_names = _utc_dates(keys[0].dictionary).to_pylist()
    instruments = keys[1].dictionary.to_pylist()
    combined = codes[0] * len(instruments) + codes[1]
    if combined.max(initial=0) < 2**15:  # numpy sorts 16-bit integers by radix
        combined = combined.astype(np.int16)
    order = np.argsort(combined, kind="stable")
    starts = np.flatnonzero(np.diff(combined[order], prepend=-1))
    sizes = np.diff(np.append(starts, len(order))).tolist()
    firsts = order[starts]
    parts = [
        (date_names[codes[0][first]], instruments[codes[1][first]], size)
        for first, size in zip(firsts.tolist(), sizes, strict=True)
    ]
    return order, parts


def _utc_dates(timestamps: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Each timestamp's (or date's) UTC date as YYYY-MM-DD, the lake's date partition."""
    # a cast, ten times as fast as strftime (the contract's timestamps are UTC)
    return pc.cast(pc.cast(timestamps, pa.date32()), pa.string())
