"""load_events: read, validate, write dead letters, refuse files with nothing usable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from schema_rows import HEADER, good_row, sample_events, write_csv

from tapewatch.schema.errors import ContractError
from tapewatch.schema.load import load_events
from tapewatch.schema.writers import write_table_atomic


def test_good_file_loads_without_a_dead_letter_file(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    write_table_atomic(sample_events(20, labelled=True), path)
    result = load_events(path, deadletter_dir=tmp_path / "dead")
    assert (result.n_read, result.n_bad, result.deadletter_path) == (20, 0, None)
    assert result.has_labels
    assert result.table.equals(sample_events(20, labelled=True))
    assert not (tmp_path / "dead").exists()


def test_bad_rows_go_to_the_dead_letter_file(tmp_path: Path) -> None:
    rows = [good_row(0), good_row(1, quantity="-2"), good_row(2), good_row(3, side=None)]
    path = write_csv(tmp_path / "events.csv", rows)
    result = load_events(path, deadletter_dir=tmp_path / "dead")
    assert (result.n_read, result.n_bad, result.has_labels) == (4, 2, False)
    assert result.table.column("transaction_id").to_pylist() == ["tx0", "tx2"]
    assert result.deadletter_path == tmp_path / "dead" / "events.deadletter.jsonl"
    records = [json.loads(line) for line in result.deadletter_path.read_text().splitlines()]
    assert [(r["line"], r["field"], r["reason"]) for r in records] == [
        (3, "quantity", "must be > 0, got -2"),
        (5, "side", "required"),
    ]
    assert {r["source"] for r in records} == {str(path)}


def test_rerun_replaces_the_previous_dead_letters(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "events.csv", [good_row(0), good_row(1, price="x")])
    load_events(path, deadletter_dir=tmp_path)
    result = load_events(path, deadletter_dir=tmp_path)
    assert result.deadletter_path is not None
    assert len(result.deadletter_path.read_text().splitlines()) == 1
    write_csv(path, [good_row(0)])
    assert load_events(path, deadletter_dir=tmp_path).deadletter_path is None
    assert not (tmp_path / "events.deadletter.jsonl").exists()


def test_without_a_dead_letter_dir_bad_rows_are_still_counted(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "events.csv", [good_row(0), good_row(1, price="x")])
    result = load_events(path, deadletter_dir=None)
    assert (result.n_bad, result.deadletter_path) == (1, None)
    assert result.dead_letters[0].message == "line 3: price: not a number: 'x'"


def test_no_valid_rows_is_a_contract_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "events.csv", [good_row(0, price="0"), good_row(1, side="?")])
    with pytest.raises(ContractError) as caught:
        load_events(path, deadletter_dir=tmp_path / "dead")
    target = tmp_path / "dead" / "events.deadletter.jsonl"
    assert str(caught.value) == f"{path}: no valid rows; 2 rows sent to {target}"
    assert len(target.read_text().splitlines()) == 2
    with pytest.raises(ContractError, match=r"rejected \(first: line 2: price: must be > 0"):
        load_events(path, deadletter_dir=None)


def test_header_only_file_is_a_contract_error(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(",".join(HEADER) + "\n")
    with pytest.raises(ContractError, match=r"no data rows$"):
        load_events(path, deadletter_dir=tmp_path)


def test_missing_required_column_is_a_contract_error(tmp_path: Path) -> None:
    rows = [{k: v for k, v in good_row(0).items() if k != "side"}]
    path = write_csv(tmp_path / "events.csv", rows)
    with pytest.raises(ContractError) as caught:
        load_events(path, deadletter_dir=tmp_path)
    assert str(caught.value) == f"{path}: missing required column 'side'"


def test_jsonl_of_only_broken_lines_is_a_contract_error(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("{not json\n{neither\n")
    with pytest.raises(ContractError, match="no valid rows; 2 rows sent to"):
        load_events(path, deadletter_dir=tmp_path / "dead")
