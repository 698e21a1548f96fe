"""The small-batch path for canonical events builds exactly the validator's table."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schema_rows import good_row

from tapewatch.schema.canonical import MAX_ROWS, accept_canonical, accept_canonical_records
from tapewatch.schema.errors import ContractError
from tapewatch.schema.jsonl_reader import parse_records
from tapewatch.schema.raw import RawTable
from tapewatch.schema.validate import check_columns, validate_events, validate_vectorised


def record(i: int = 0, **overrides: object) -> dict[str, object]:
    """One valid event as a JSON client sends it: numbers as numbers, booleans as booleans."""
    row: dict[str, object] = {
        **good_row(i),
        "price": 101.5,
        "quantity": 100,
        "is_algo_trade": False,
        "is_hft": True,
        "bid_price": 101.4,
        "ask_price": 101.6,
        "bid_size": 500,
        "ask_size": 0.0,
    }
    row.update(overrides)
    return row


def test_canonical_events_take_the_short_path_and_match_the_validator() -> None:
    rows = [
        record(0),
        record(1, order_status="EXECUTED", counterparty_id="T2"),
        record(2, order_type="MARKET", price=None, bid_price=None),
        record(3, timestamp="2026-03-02T10:30:00+01:00", is_hft=None, trading_venue=None),
    ]
    raw = parse_records(rows, "request")
    fast = accept_canonical(raw)
    assert fast is not None
    slow = validate_vectorised(raw)
    assert slow.bad == []
    assert fast.equals(slow.good, check_metadata=True)
    assert fast.column("trading_venue").to_pylist()[3] == "XOFF"
    assert fast.column("is_hft").to_pylist()[3] is False
    # epoch microseconds (a column of numbers: mixed with text it would be text)
    epoch = parse_records([record(0, timestamp=1_772_443_800_000_001)], "request")
    fast = accept_canonical(epoch)
    assert fast is not None
    assert fast.equals(validate_vectorised(epoch).good)


def test_contract_typed_tables_take_the_short_path() -> None:
    """A table already in the contract's types (a Parquet file tapewatch wrote, replayed)."""
    typed = validate_vectorised(parse_records([record(i) for i in range(3)], "f")).good
    raw = RawTable(typed, 1, "row", "events.parquet")
    fast = accept_canonical(raw)
    assert fast is not None
    assert fast.equals(typed)


def test_labelled_events_get_is_manipulation_from_their_type() -> None:
    rows = [
        record(0, manipulation_type="SPOOFING", scenario_id="S1"),
        record(1, manipulation_type="NONE", is_manipulation=None),
    ]
    raw = parse_records(rows, "request")
    fast = accept_canonical(raw)
    assert fast is not None
    assert fast.column("is_manipulation").to_pylist() == [True, False]
    assert fast.equals(validate_vectorised(raw).good)


def test_anything_to_repair_or_reject_goes_to_the_validator() -> None:
    for change in (
        {"trader_id": " T1"},
        {"side": "buy"},
        {"price": "101.5"},
        {"price": -1.0},
        {"quantity": math.inf},
        {"is_hft": 1},
        {"timestamp": "2026-02-30T09:30:00Z"},
        {"timestamp": "2026-03-02 09:30:00Z"},
        {"order_status": "EXECUTED"},  # no counterparty
        {"price": None},  # a limit order needs one
        {"order_id": None},
    ):
        raw = parse_records([record(0), record(1, **change)], "request")
        assert accept_canonical(raw) is None, change
    too_many = parse_records([record(i) for i in range(MAX_ROWS + 1)], "request")
    assert accept_canonical(too_many) is None


def test_validate_events_keeps_the_readers_rejected_lines_on_the_short_path() -> None:
    raw = parse_records([record(0), "not an object", record(2)], "request")
    assert accept_canonical(raw) is not None
    result = validate_events(raw)
    assert result.good.num_rows == 2
    assert [(letter.line, letter.reason) for letter in result.bad] == [(2, "not a JSON object")]


_CELLS: dict[str, st.SearchStrategy[object]] = {
    "text": st.one_of(
        st.sampled_from(["T1", "tx-9", "Ünï", "a b", " T1", "T1\t", "", "\u00a0x", "x\u2003"]),
        st.text(max_size=4),
        st.integers(-3, 3),
        st.none(),
    ),
    "enum": st.one_of(
        st.sampled_from(
            ["NEW", "EXECUTED", "CANCELLED", "MODIFIED", "BUY", "SELL", "LIMIT", "MARKET"]
        ),
        st.sampled_from(["new", " BUY", "Sell", "X", ""]),
        st.none(),
    ),
    "number": st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(-(2**60), 2**60),
        st.sampled_from([0, 0.0, -0.0, 1, "1.5", True]),
        st.none(),
    ),
    "bool": st.one_of(st.booleans(), st.sampled_from([0, 1, "true", "no"]), st.none()),
    "timestamp": st.one_of(
        st.integers(-(2**62), 2**62),
        st.sampled_from(
            [
                "2026-03-02T09:30:00Z",
                "2026-03-02T09:30:00.5Z",
                "2026-03-02T09:30:00.1234567Z",
                "2026-03-02T09:30:00",
                "2026-03-02T09:30:00+05:30",
                "2026-03-02T09:30:00-0100",
                "2026-02-29T09:30:00Z",
                "2024-02-29T23:59:59.999999Z",
                "0001-01-01T00:30:00+01:00",
                "9999-12-31T23:59:59.999999Z",
                "2026-03-02",
                "1772443800000000",
            ]
        ),
        st.none(),
    ),
}
_KIND = {
    "transaction_id": "text",
    "timestamp": "timestamp",
    "order_id": "text",
    "order_status": "enum",
    "trader_id": "text",
    "instrument_id": "text",
    "trading_venue": "text",
    "side": "enum",
    "price": "number",
    "quantity": "number",
    "order_type": "enum",
    "counterparty_id": "text",
    "is_algo_trade": "bool",
    "is_hft": "bool",
    "bid_size": "number",
}


@st.composite
def records(draw: st.DrawFn) -> list[dict[str, object]]:
    """Events near canonical form: in each, up to two fields changed, nulled or dropped."""
    rows = []
    for i in range(draw(st.integers(1, 5))):
        row = record(i)
        for name in draw(st.lists(st.sampled_from(sorted(_KIND)), max_size=2)):
            if draw(st.integers(0, 4)):
                row[name] = draw(_CELLS[_KIND[name]])
            else:
                row.pop(name, None)
        rows.append(row)
    return rows


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(rows=records())
def test_the_short_path_never_differs_from_the_validator(rows: list[dict[str, object]]) -> None:
    raw = parse_records(rows, "request")
    try:
        check_columns(raw)
    except ContractError:  # a required column no row has: the reader's error, for both
        return
    fast = accept_canonical(raw)
    if fast is None:
        return
    slow = validate_vectorised(raw)
    assert slow.bad == []
    assert fast.schema.equals(slow.good.schema)
    for name in fast.column_names:
        assert fast.column(name).equals(slow.good.column(name)), name


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(rows=records())
def test_records_read_straight_never_differ_from_the_reader_and_validator(
    rows: list[dict[str, object]],
) -> None:
    fast = accept_canonical_records(rows)
    if fast is None:
        return
    raw = parse_records(rows, "request")
    slow = validate_events(raw)
    assert slow.bad == []
    assert fast.equals(slow.good, check_metadata=True)


def test_canonical_records_are_read_straight_and_others_are_not() -> None:
    rows = [record(0), record(1, order_status="EXECUTED", counterparty_id="T2")]
    fast = accept_canonical_records(rows)
    assert fast is not None
    assert fast.equals(validate_events(parse_records(rows, "request")).good)
    assert accept_canonical_records([]) is None
    assert accept_canonical_records([record(0), "not an object"]) is None
    assert accept_canonical_records([record(0, side="buy")]) is None
    # a field numbers in one event and text in another: the reader makes it text
    assert accept_canonical_records([record(0), record(1, timestamp=1_772_443_800_000_001)]) is None
