"""Property tests: the validator never crashes and accounts for every input row once."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schema_rows import HEADER, good_row, raw_of

from tapewatch.schema.columns import EVENT_SCHEMA, LABELLED_EVENT_SCHEMA
from tapewatch.schema.raw import RawTable
from tapewatch.schema.readers import read_raw
from tapewatch.schema.timestamps import parse_iso
from tapewatch.schema.validate import ValidationResult, validate_events

GOOD = good_row(0)
FIELD_VALUES: dict[str, list[str]] = {
    "timestamp": [
        "2026-03-02T09:30:00Z",
        "2026-03-02 09:30:00.5",
        "1772443800000000",
        "2026-02-30",
    ],
    "order_status": ["NEW", "executed", "Cancelled", "MODIFIED", "DONE"],
    "side": ["BUY", " sell", "HOLD"],
    "order_type": ["MARKET", "LIMIT", "stop", "ICEBERG"],
    "price": ["1", "0", "-2.5", "1e3", "nan", ".5", "1.", "+7"],
    "quantity": ["10", "0", "-1", "3.25"],
    "is_algo_trade": ["true", "NO", "1", "maybe"],
    "is_hft": ["F", "yes", "0", "2"],
    "bid_size": ["0", "-0.0", "5", "-5"],
    "manipulation_type": ["NONE", "spoofing", "LAYERING", "BOGUS"],
}

garbage = st.one_of(
    st.text(max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
)


def cell(name: str) -> st.SearchStrategy[str | None]:
    """A cell: usually plausible for the column, sometimes missing, empty or garbage."""
    plausible = st.sampled_from(FIELD_VALUES.get(name, [GOOD.get(name) or "X1"]))
    return st.one_of(plausible, plausible, st.none(), st.just(""), garbage)


COLUMNS = [*HEADER, "manipulation_type", "scenario_id", "extra"]
rows_strategy = st.lists(st.fixed_dictionaries({n: cell(n) for n in COLUMNS}), max_size=8)


def _check_accounting(result: ValidationResult, lines: list[int]) -> None:
    assert result.n_rows == len(lines)
    bad_lines = [letter.line for letter in result.bad]
    assert len(set(bad_lines)) == len(bad_lines)
    assert set(bad_lines) <= set(lines)
    assert result.good.num_rows + len(bad_lines) == len(lines)
    assert result.good.schema in (EVENT_SCHEMA, LABELLED_EVENT_SCHEMA)
    for field in result.good.schema:
        if not field.nullable:
            assert result.good.column(field.name).null_count == 0
    for letter in result.bad:
        assert letter.field in (*COLUMNS, "")
        assert letter.reason


@settings(max_examples=200, deadline=None)
@given(rows=rows_strategy)
def test_random_rows_never_crash_and_are_all_accounted_for(
    rows: list[dict[str, str | None]],
) -> None:
    raw = raw_of(rows) if rows else raw_of([], first_line=2)
    result = validate_events(raw)
    _check_accounting(result, list(range(2, 2 + len(rows))))


def _verdict(result: ValidationResult) -> tuple[object, ...]:
    if result.bad:
        (letter,) = result.bad
        return ("bad", letter.field, letter.reason)
    return ("good", tuple(result.good.to_pylist()[0].items()))


@settings(max_examples=60, deadline=None)
@given(rows=rows_strategy.filter(bool))
def test_a_rows_verdict_does_not_depend_on_its_neighbours(
    rows: list[dict[str, str | None]],
) -> None:
    together = validate_events(raw_of(rows))
    bad = {letter.line: letter for letter in together.bad}
    good = iter(together.good.to_pylist())
    for index, row in enumerate(rows):
        alone = validate_events(raw_of([row], first_line=2 + index))
        if 2 + index in bad:
            letter = bad[2 + index]
            assert _verdict(alone) == ("bad", letter.field, letter.reason)
        else:
            alone_row = alone.good.to_pylist()[0]
            together_row = next(good)
            if "manipulation_type" not in alone_row:  # labels follow the column, not the row
                together_row = {k: v for k, v in together_row.items() if k in alone_row}
            assert alone_row == together_row


typed_value = st.one_of(
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
)


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(st.tuples(typed_value, typed_value, typed_value), min_size=1, max_size=8),
    float_column=st.booleans(),
)
def test_typed_numeric_columns_never_crash(
    values: list[tuple[object, object, object]], float_column: bool
) -> None:
    n = len(values)
    table = raw_of([good_row(i) for i in range(n)]).table
    for position, name in ((1, "timestamp"), (8, "price"), (9, "quantity")):
        cells = [v[(position % 3)] for v in values]
        if float_column:
            cells = [None if c is None else float(c) for c in cells]  # type: ignore[arg-type]
        else:
            cells = [c if isinstance(c, int) else None for c in cells]
        table = table.set_column(position, name, pa.array(cells))
    result = validate_events(RawTable(table, 1, "row", "t.parquet"))
    _check_accounting(result, list(range(1, n + 1)))


csv_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
    max_size=8,
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.fixed_dictionaries({n: st.one_of(cell(n), csv_text) for n in HEADER}),
        min_size=1,
        max_size=10,
    ),
)
def test_csv_files_report_the_line_each_record_starts_on(
    rows: list[dict[str, str | None]],
) -> None:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(HEADER)  # RFC 4180: CRLF line ends, CR or LF in values quoted
    starts, line = [], 2
    for row in rows:
        record = io.StringIO()
        csv.writer(record).writerow(["" if row[n] is None else row[n] for n in HEADER])
        text = record.getvalue()
        buffer.write(text)
        starts.append(line)
        line += text.count("\n")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.csv"
        path.write_bytes(buffer.getvalue().encode("utf-8"))
        raw = read_raw(path)
        result = validate_events(raw)
    assert sorted([*raw.lines().tolist(), *(r.line for r in raw.rejected)]) == starts
    _check_accounting(result, starts)


def _arrow_iso(text: str) -> int | None:
    """What Arrow's cast makes of ISO text, after the validator's normalisation."""
    normal = re.sub(r"(\.\d{6})\d+", r"\1", text)
    if not re.search(r"(?:Z|[+-]\d{2}(?::?\d{2})?)$", normal):
        normal += "Z"
    try:
        stamp = pc.cast(pa.array([normal]), pa.timestamp("us", tz="UTC"))
    except pa.ArrowInvalid:
        return None
    return int(stamp.cast(pa.int64())[0].as_py())


@settings(max_examples=200, deadline=None)
@given(
    date=st.tuples(st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32)),
    clock=st.tuples(st.integers(0, 25), st.integers(0, 61), st.integers(0, 61)),
    precision=st.integers(1, 3),
    fraction=st.text(alphabet="0123456789", min_size=1, max_size=9) | st.none(),
    separator=st.sampled_from("T "),
    zone=st.sampled_from(["", "Z", "+01:00", "-0530", "+05", "-23:59", "+24:00", "+09:60"]),
)
def test_parse_iso_agrees_with_arrows_cast(
    date: tuple[int, int, int],
    clock: tuple[int, int, int],
    precision: int,
    fraction: str | None,
    separator: str,
    zone: str,
) -> None:
    year, month, day = date
    text = f"{year:04d}-{month:02d}-{day:02d}{separator}" + ":".join(
        f"{v:02d}" for v in clock[:precision]
    )
    if precision == 3 and fraction is not None:
        text += "." + fraction
    text += zone
    micros, valid = parse_iso(pa.array([text]))
    expected = _arrow_iso(text)
    assert (bool(valid[0]), int(micros[0]) if valid[0] else None) == (
        expected is not None,
        expected,
    )
