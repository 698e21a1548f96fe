"""Writers: round trips through every format, atomic replacement, dead-letter files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pytest
from schema_rows import good_row, raw_of, sample_events

from tapewatch.schema.deadletter import DeadLetter
from tapewatch.schema.readers import read_raw
from tapewatch.schema.validate import validate_events
from tapewatch.schema.writers import (
    write_dead_letters,
    write_parquet_atomic,
    write_table_atomic,
)


@pytest.mark.parametrize("suffix", [".parquet", ".pq", ".csv", ".jsonl", ".ndjson", ".json"])
@pytest.mark.parametrize("labelled", [False, True])
def test_round_trip(tmp_path: Path, suffix: str, labelled: bool) -> None:
    events = sample_events(300, labelled=labelled)
    path = tmp_path / f"events{suffix}"
    write_table_atomic(events, path)
    result = validate_events(read_raw(path))
    assert not result.bad, [b.message for b in result.bad[:3]]
    assert result.good.schema.equals(events.schema)
    assert result.good.equals(events)


def test_round_trip_of_awkward_text(tmp_path: Path) -> None:
    events = sample_events(4)
    awkward = ['comma, "quoted"', "line\nbreak", "ünïcødé ✓", "tab\tand 'single'"]
    events = events.set_column(4, events.schema.field(4), pa.array(awkward))
    for suffix in (".csv", ".jsonl", ".parquet"):
        path = tmp_path / f"events{suffix}"
        write_table_atomic(events, path)
        assert validate_events(read_raw(path)).good.equals(events), suffix


def _no_temp_files(directory: Path, *expected: str) -> None:
    assert sorted(os.listdir(directory)) == sorted(expected)


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    for name in ("a.parquet", "b.csv", "c.jsonl"):
        write_table_atomic(sample_events(10), tmp_path / name)
        write_table_atomic(sample_events(5), tmp_path / name)  # replace an existing file
    _no_temp_files(tmp_path, "a.parquet", "b.csv", "c.jsonl")
    assert read_raw(tmp_path / "a.parquet").num_rows == 5


def test_failed_write_keeps_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "scores.csv"
    write_table_atomic(sample_events(3), path)
    before = path.read_bytes()
    unwritable = pa.table({"rule_hits": pa.array([["a", "b"]])})  # CSV cannot hold lists
    with pytest.raises(pa.ArrowException):
        write_table_atomic(unwritable, path)
    assert path.read_bytes() == before
    _no_temp_files(tmp_path, "scores.csv")


def test_write_parquet_atomic_creates_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "events.parquet"
    write_parquet_atomic(sample_events(2), path)
    assert read_raw(path).table.equals(sample_events(2))
    _no_temp_files(path.parent, "events.parquet")


def test_dead_letters_are_appended_as_json_lines(tmp_path: Path) -> None:
    rows = [good_row(0, price="-3.5"), good_row(1), good_row(2, side="UP")]
    letters = validate_events(raw_of(rows)).bad
    parquet_letter = DeadLetter(7, "row", "quantity", "required", {"quantity": None})
    path = tmp_path / "dead" / "events.deadletter.jsonl"
    write_dead_letters(letters, path, source="events.csv")
    write_dead_letters([parquet_letter], path, source="events.parquet")
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [list(r) for r in records] == [
        ["source", "line", "field", "reason", "row"],
        ["source", "line", "field", "reason", "row"],
        ["source", "row_number", "field", "reason", "row"],
    ]
    assert records[0]["line"] == 2
    assert records[0]["reason"] == "must be > 0, got -3.5"
    assert records[0]["row"]["price"] == "-3.5"
    assert records[1]["field"] == "side"
    assert records[2] == {
        "source": "events.parquet",
        "row_number": 7,
        "field": "quantity",
        "reason": "required",
        "row": {"quantity": None},
    }
