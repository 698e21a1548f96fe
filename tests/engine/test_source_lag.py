"""How far behind a file source is: paced, the rows whose time has come; unpaced, the
rest of the file."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from kit import random_events

from tapewatch.engine import sources
from tapewatch.engine.sources import FileSource
from tapewatch.schema.raw import RawTable


def test_a_paced_replay_counts_the_rows_that_fell_due(tmp_path: Path) -> None:
    path = tmp_path / "day.parquet"
    pq.write_table(random_events(20_000), path)
    source = FileSource(path, rate=2_000)
    first = source.read(100, 1.0)
    assert first is not None
    time.sleep(0.5)  # the worker falls behind: about 1,000 rows fall due meanwhile
    lag = source.lag()
    assert 700 <= lag <= 1_600, lag
    caught_up = source.read(100_000, 0.0)
    assert caught_up is not None
    assert source.lag() < 200


def test_an_unpaced_parquet_replay_counts_the_rest_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "day.parquet"
    pq.write_table(random_events(5_000), path)
    source = FileSource(path)
    chunk = source.read(1_200, 0.0)
    assert chunk is not None
    assert source.lag() == 5_000 - chunk.raw.num_rows


def test_a_paced_replay_starts_when_its_first_rows_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening the file (a row group is read whole) is not time its events wait."""
    path = tmp_path / "day.parquet"
    pq.write_table(random_events(2_000), path)
    real = sources.iter_raw_batches

    def slow_to_open(*args: object) -> Iterator[RawTable]:
        time.sleep(0.3)
        yield from real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(sources, "iter_raw_batches", slow_to_open)
    source = FileSource(path, rate=1_000)
    opened = time.monotonic_ns()
    first = source.read(1_000, 1.0)
    assert first is not None
    assert first.raw.num_rows < 50  # not the 300 rows due during the opening
    assert int(first.arrived_ns[0]) >= opened + 300_000_000
