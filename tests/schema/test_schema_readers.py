"""Readers: formats, line numbers, whole-file errors, streaming."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from schema_rows import HEADER, good_row, sample_events, write_csv

from tapewatch.schema.errors import ContractError
from tapewatch.schema.readers import iter_raw_batches, read_raw
from tapewatch.schema.validate import validate_events
from tapewatch.schema.writers import write_table_atomic


def _one_line_error(path: Path, fragment: str) -> str:
    with pytest.raises(ContractError) as caught:
        read_raw(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path) + ": ")
    assert fragment in message
    return message


def test_csv_reads_every_column_as_text_with_lines_from_2(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "events.csv", [good_row(0), good_row(1, price="12")])
    raw = read_raw(path)
    assert raw.unit == "line"
    assert raw.line_of_first_row == 2
    assert list(raw.lines()) == [2, 3]
    assert all(pa.types.is_string(field.type) for field in raw.table.schema)
    assert raw.table.column("price").to_pylist() == ["101.5", "12"]
    assert raw.table.column("counterparty_id").to_pylist() == [None, None]


def test_csv_header_names_are_stripped(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(" " + ", ".join(HEADER) + "\n" + ",".join(["x"] * len(HEADER)) + "\n")
    assert read_raw(path).table.column_names == HEADER


def test_csv_row_with_wrong_field_count_is_rejected_at_its_line(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "events.csv", [good_row(0), good_row(1), good_row(2)])
    lines = path.read_text().splitlines()
    lines[2] = "too,few,fields"
    path.write_text("\n".join(lines) + "\n")
    raw = read_raw(path)
    assert list(raw.lines()) == [2, 4]
    (letter,) = raw.rejected
    assert letter.line == 3
    assert letter.reason == f"expected {len(HEADER)} columns, got 3"
    assert letter.row == {"_text": "too,few,fields"}


def test_csv_quoted_line_breaks_keep_later_line_numbers_right(tmp_path: Path) -> None:
    rows = [good_row(0, trader_id="multi\nline\nid"), good_row(1), good_row(2, price="-1")]
    path = write_csv(tmp_path / "events.csv", rows)
    result = validate_events(read_raw(path))
    (letter,) = result.bad
    assert letter.line == 6  # header 1, first record 2-4, second 5, third 6
    assert result.good.column("trader_id").to_pylist() == ["multi\nline\nid", "T1"]


def test_csv_blank_line_is_a_dead_letter_at_its_line(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "events.csv", [good_row(0), good_row(1)])
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:2], "", lines[2]]) + "\n")
    result = validate_events(read_raw(path))
    assert [(b.line, b.reason) for b in result.bad] == [(3, "empty row")]
    assert result.good.num_rows == 2


def test_jsonl_reads_with_lines_from_1(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    write_table_atomic(sample_events(3), path)
    raw = read_raw(path)
    assert (raw.unit, raw.line_of_first_row, list(raw.lines())) == ("line", 1, [1, 2, 3])


def test_jsonl_malformed_line_is_a_dead_letter_and_others_are_good(tmp_path: Path) -> None:
    events = sample_events(4)
    path = tmp_path / "events.jsonl"
    write_table_atomic(events, path)
    lines = path.read_text().splitlines()
    lines[1] = '{"transaction_id": "broken", '
    lines[2] = "[1, 2, 3]"
    path.write_text("\n".join(lines) + "\n\n")
    result = validate_events(read_raw(path))
    assert [(b.line, b.field, b.reason) for b in result.bad] == [
        (2, "", "not valid JSON"),
        (3, "", "not a JSON object"),
    ]
    assert result.bad[0].message == "line 2: not valid JSON"
    assert result.good.equals(events.take([0, 3]))


def test_jsonl_blank_lines_do_not_shift_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    write_table_atomic(sample_events(3), path)
    lines = path.read_text().splitlines()
    path.write_text("\n" + lines[0] + "\n\n" + lines[1] + "\n" + lines[2] + "\n")
    assert list(read_raw(path).lines()) == [2, 4, 5]


def test_jsonl_mixed_types_in_a_column_fall_back_to_text(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    rows = [good_row(0, price=None), good_row(1, price=None)]
    lines = [
        '{"price": 1.5, ' + _json_body(rows[0]),
        '{"price": "abc", ' + _json_body(rows[1]),
    ]
    path.write_text("\n".join(lines) + "\n")
    result = validate_events(read_raw(path))
    assert result.good.column("price").to_pylist() == [1.5]
    assert [(b.line, b.reason) for b in result.bad] == [(2, "not a number: 'abc'")]


def _json_body(row: dict[str, str | None]) -> str:
    import json

    return json.dumps({k: v for k, v in row.items() if v is not None and k != "price"})[1:]


def test_parquet_rows_count_from_1(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    write_table_atomic(sample_events(5), path)
    raw = read_raw(path)
    assert (raw.unit, raw.line_of_first_row) == ("row", 1)
    assert raw.table.equals(sample_events(5))


@pytest.mark.parametrize("name", ["events.csv", "events.jsonl", "events.parquet"])
def test_empty_file_is_a_contract_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    assert _one_line_error(path, "file is empty") == f"{path}: file is empty"


def test_whitespace_only_jsonl_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("\n  \n")
    _one_line_error(path, "file is empty")


def test_unknown_extension_is_a_contract_error(tmp_path: Path) -> None:
    path = tmp_path / "events.txt"
    path.write_text("x")
    _one_line_error(path, "unknown file type .txt")


def test_missing_file_is_a_contract_error(tmp_path: Path) -> None:
    _one_line_error(tmp_path / "absent.csv", "cannot read file")


def test_corrupt_parquet_is_a_contract_error(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    write_table_atomic(sample_events(50), path)
    data = bytearray(path.read_bytes())
    path.write_bytes(bytes(data[: len(data) // 2]))
    _one_line_error(path, "not a readable Parquet file")
    path.write_bytes(b"PAR1 this is not parquet at all")
    _one_line_error(path, "not a readable Parquet file")


def test_json_array_file_is_a_contract_error(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text('[{"a": 1}]\n')
    _one_line_error(path, "JSON array")


def test_non_utf8_csv_is_a_contract_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "events.csv", [good_row(0)])
    path.write_bytes(path.read_bytes().replace(b"T1", b"T\xe91"))
    _one_line_error(path, "cannot read CSV")


def test_header_only_csv_reads_as_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(",".join(HEADER) + "\n")
    raw = read_raw(path)
    assert raw.num_rows == 0
    assert validate_events(raw).n_rows == 0


def _batched(path: Path, batch_rows: int) -> tuple[pa.Table, list[int], list[tuple[int, str]]]:
    tables, lines, rejected = [], [], []
    for raw in iter_raw_batches(path, batch_rows):
        assert raw.num_rows <= batch_rows
        tables.append(raw.table)
        lines += raw.lines().tolist()
        rejected += [(letter.line, letter.reason) for letter in raw.rejected]
    return pa.concat_tables(tables, promote_options="permissive"), lines, rejected


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
@pytest.mark.parametrize("batch_rows", [1, 7, 1000])
def test_batches_give_the_same_rows_and_lines(tmp_path: Path, suffix: str, batch_rows: int) -> None:
    path = tmp_path / f"events{suffix}"
    events = sample_events(40)
    write_table_atomic(events, path)
    whole = read_raw(path)
    table, lines, _ = _batched(path, batch_rows)
    assert lines == whole.lines().tolist()
    assert validate_events(whole).good.equals(events)
    assert table.num_rows == whole.num_rows


def test_csv_batches_place_bad_records_and_line_breaks(tmp_path: Path) -> None:
    rows = [good_row(i) for i in range(30)]
    rows[4]["trader_id"] = "two\nlines"
    rows[17]["instrument_id"] = "a\nb\nc"
    path = write_csv(tmp_path / "events.csv", rows)
    text = path.read_text().split("\n")
    text.insert(10, "short,row")  # line 11, between records
    text.insert(25, "")  # line 26, a blank line
    path.write_text("\n".join(text))
    physical = path.read_text().split("\n")
    where = {line.split(",")[0]: n for n, line in enumerate(physical, start=1) if line}

    whole = read_raw(path)
    ids = whole.table.column("transaction_id").to_pylist()
    expected_lines = [where[i] if i is not None else 26 for i in ids]
    assert whole.lines().tolist() == expected_lines
    expected_rejected = [(11, f"expected {len(HEADER)} columns, got 2")]
    assert [(letter.line, letter.reason) for letter in whole.rejected] == expected_rejected
    for batch_rows in (1, 3, 8, 100):
        _, lines, rejected = _batched(path, batch_rows)
        assert lines == expected_lines
        assert rejected == expected_rejected


def test_batch_rows_must_be_positive(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    pq.write_table(sample_events(2), path)
    with pytest.raises(ValueError, match="batch_rows"):
        iter_raw_batches(path, 0)


def test_arrow_and_python_json_parsers_validate_alike() -> None:
    """Short inputs are parsed by Python's json module, long ones by Arrow: same results."""
    import json

    from tapewatch.schema.jsonl_reader import ARROW_MIN_LINES, _parse_line_by_line, parse_jsonl

    rows = [good_row(i) for i in range(ARROW_MIN_LINES + 6)]
    rows[3]["price"] = "-2"  # bad: must be > 0
    rows[7]["side"] = "SIDEWAYS"
    rows[9]["timestamp"] = "1772443800000000"  # epoch microseconds as text
    data = "\n".join(json.dumps({k: v for k, v in r.items() if v is not None}) for r in rows)
    by_arrow = validate_events(parse_jsonl(data.encode(), 1, "x"))
    by_python = validate_events(_parse_line_by_line(data.encode(), 1, "x"))
    assert by_arrow.good.equals(by_python.good)
    assert by_arrow.good.num_rows == len(rows) - 2
    assert [b.message for b in by_arrow.bad] == [b.message for b in by_python.bad]
    assert [b.line for b in by_arrow.bad] == [4, 8]


def test_records_parse_as_their_json_lines_would() -> None:
    import json

    from tapewatch.schema.jsonl_reader import parse_jsonl, parse_records

    records: list[object] = [
        {k: v for k, v in good_row(i).items() if v is not None} for i in range(5)
    ]
    records[1] = dict(records[1], quantity="lots")  # type: ignore[arg-type]
    records[2] = "not an event"
    from_records = validate_events(parse_records(records, "x"))
    as_text = "\n".join(json.dumps(r) for r in records).encode()
    from_text = validate_events(parse_jsonl(as_text, 1, "x"))
    assert from_records.good.equals(from_text.good)
    assert [(b.line, b.field, b.reason) for b in from_records.bad] == [
        (b.line, b.field, b.reason) for b in from_text.bad
    ]
    assert [b.line for b in from_records.bad] == [2, 3]
