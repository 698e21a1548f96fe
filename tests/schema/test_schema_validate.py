"""Validation: rules of the contract, one dead letter per bad row, good rows go on."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pyarrow as pa
import pytest
from schema_rows import HEADER, good_row, raw_of

from tapewatch.schema.columns import EVENT_SCHEMA, LABELLED_EVENT_SCHEMA
from tapewatch.schema.errors import ContractError
from tapewatch.schema.raw import RawTable
from tapewatch.schema.validate import validate_events

T0 = 1_772_443_800_000_000  # 2026-03-02 09:30:00 UTC, in microseconds


def _stamps(values: list[str | None]) -> list[int | None]:
    result = validate_events(raw_of([good_row(i, timestamp=v) for i, v in enumerate(values)]))
    assert not result.bad, [b.message for b in result.bad]
    column = result.good.column("timestamp")
    assert column.type == pa.timestamp("us", tz="UTC")
    return column.cast(pa.int64()).to_pylist()


TIMESTAMP_FORMS = [
    ("2026-03-02T09:30:00.123456Z", T0 + 123_456),
    ("2026-03-02 09:30:00", T0),
    ("2026-03-02T09:30:00+01:00", T0 - 3_600_000_000),
    ("2026-03-02T09:30:00-0230", T0 + 9_000_000_000),
    ("2026-03-02T09:30:00.5", T0 + 500_000),
    ("2026-03-02t09:30:00.000001z", T0 + 1),
    ("2026-03-02T09:30:00.123456789Z", T0 + 123_456),
    (" 2026-03-02T09:30:00Z ", T0),
    ("1772443800123456", T0 + 123_456),
    ("0", 0),
]


@pytest.mark.parametrize(("text", "expected"), TIMESTAMP_FORMS)
def test_each_timestamp_form_alone(text: str, expected: int) -> None:
    assert _stamps([text]) == [expected]


def test_all_timestamp_forms_in_one_column() -> None:
    assert _stamps([text for text, _ in TIMESTAMP_FORMS]) == [v for _, v in TIMESTAMP_FORMS]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("abc", "unparseable timestamp 'abc'"),
        ("2026-02-30T09:30:00Z", "unparseable timestamp '2026-02-30T09:30:00Z'"),
        ("2026-03-02", "unparseable timestamp '2026-03-02'"),
        ("2026-03-02T25:00:00Z", "unparseable timestamp '2026-03-02T25:00:00Z'"),
        ("-5", "unparseable timestamp '-5'"),
        ("1772443800123456.5", "unparseable timestamp '1772443800123456.5'"),
        ("0001-01-01T00:00:00+01:00", "timestamp out of range: 0001-01-01T00:00:00+01:00"),
        ("999999999999999999", "timestamp out of range: 999999999999999999"),
    ],
)
def test_bad_timestamps_are_dead_letters(text: str, reason: str) -> None:
    for rows in ([good_row(0, timestamp=text)], [good_row(0), good_row(1, timestamp=text)]):
        result = validate_events(raw_of(rows))
        (letter,) = result.bad
        assert (letter.field, letter.reason) == ("timestamp", reason)
        assert result.good.num_rows == len(rows) - 1


@pytest.mark.parametrize(
    "column",
    [
        pa.array([T0 * 1000 + 999], pa.timestamp("ns")),
        pa.array([T0 // 1_000_000], pa.timestamp("s", tz="UTC")),
        pa.array([(T0 + 3_600_000_000) // 1000], pa.timestamp("ms", tz="Europe/Paris")),
        pa.array([T0], pa.int64()),
        pa.array([T0], pa.uint64()),
        pa.array([float(T0)], pa.float64()),
        pa.array([datetime(2026, 3, 2, 9, 30, tzinfo=UTC)]),
    ],
    ids=["ns-naive", "s-utc", "ms-paris", "int64", "uint64", "float", "datetime"],
)
def test_arrow_typed_timestamps(column: pa.Array) -> None:
    table = raw_of([good_row(0)]).table
    table = table.set_column(1, "timestamp", column)
    result = validate_events(RawTable(table, 1, "row", "t.parquet"))
    assert not result.bad
    got = result.good.column("timestamp").cast(pa.int64())[0].as_py()
    assert got in (T0, T0 + 3_600_000_000)


BAD_ROWS = [
    ({"transaction_id": ""}, "transaction_id", "required"),
    ({"transaction_id": "   "}, "transaction_id", "required"),
    ({"order_id": None}, "order_id", "required"),
    (
        {"order_status": "FILLED"},
        "order_status",
        "unknown value 'FILLED'; expected one of NEW, MODIFIED, CANCELLED, EXECUTED",
    ),
    ({"trader_id": None}, "trader_id", "required"),
    ({"instrument_id": None}, "instrument_id", "required"),
    ({"side": "HOLD"}, "side", "unknown value 'HOLD'; expected one of BUY, SELL"),
    ({"side": None}, "side", "required"),
    ({"price": "-3.5"}, "price", "must be > 0, got -3.5"),
    ({"price": "0"}, "price", "must be > 0, got 0"),
    ({"price": "abc"}, "price", "not a number: 'abc'"),
    ({"price": "1,5"}, "price", "not a number: '1,5'"),
    ({"price": "inf"}, "price", "must be finite, got inf"),
    ({"price": "NaN"}, "price", "must be finite, got NaN"),
    ({"price": None}, "price", "required"),
    ({"price": None, "order_type": "MARKET", "order_status": "MODIFIED"}, "price", "required"),
    ({"quantity": "0"}, "quantity", "must be > 0, got 0"),
    ({"quantity": None}, "quantity", "required"),
    (
        {"order_type": "ICEBERG"},
        "order_type",
        "unknown value 'ICEBERG'; expected one of LIMIT, MARKET, STOP",
    ),
    ({"order_status": "EXECUTED"}, "counterparty_id", "required for EXECUTED"),
    (
        {"order_status": "executed", "counterparty_id": " "},
        "counterparty_id",
        "required for EXECUTED",
    ),
    ({"is_algo_trade": "maybe"}, "is_algo_trade", "not a boolean: 'maybe'"),
    ({"is_hft": "2"}, "is_hft", "not a boolean: '2'"),
    ({"bid_price": "0"}, "bid_price", "must be > 0, got 0"),
    ({"ask_price": "x"}, "ask_price", "not a number: 'x'"),
    ({"bid_size": "-1"}, "bid_size", "must be >= 0, got -1"),
    ({"ask_size": "1e999"}, "ask_size", "must be finite, got 1e999"),
    ({"timestamp": None}, "timestamp", "required"),
]


@pytest.mark.parametrize(("overrides", "field", "reason"), BAD_ROWS)
def test_each_bad_row_kind(overrides: dict[str, str | None], field: str, reason: str) -> None:
    rows = [good_row(0), good_row(1, **overrides), good_row(2)]
    result = validate_events(raw_of(rows))
    (letter,) = result.bad
    assert (letter.line, letter.unit, letter.field, letter.reason) == (3, "line", field, reason)
    assert letter.message == f"line 3: {field}: {reason}"
    assert letter.row["transaction_id"] == rows[1]["transaction_id"]
    assert result.good.column("transaction_id").to_pylist() == ["tx0", "tx2"]
    assert result.n_rows == 3


def test_message_matches_the_contract_example() -> None:
    rows = [good_row(i) for i in range(811)] + [good_row(811, price="-3.5")]
    (letter,) = validate_events(raw_of(rows)).bad
    assert letter.message == "line 813: price: must be > 0, got -3.5"
    parquet = RawTable(raw_of(rows).table, 1, "row", "e.parquet")
    assert validate_events(parquet).bad[0].message == "row 812: price: must be > 0, got -3.5"


def test_first_failing_field_in_contract_order_wins() -> None:
    rows = [
        good_row(0, price="-1", side="UP", quantity="0"),
        good_row(1, is_hft="?", timestamp="later", transaction_id=None),
        good_row(2, ask_size="-1", counterparty_id=None, order_status="EXECUTED"),
    ]
    result = validate_events(raw_of(rows))
    assert [b.field for b in result.bad] == ["side", "transaction_id", "counterparty_id"]


def test_market_new_may_have_no_price() -> None:
    rows = [good_row(0, price=None, order_type=" market", order_status="new")]
    result = validate_events(raw_of(rows))
    assert not result.bad
    assert result.good.column("price").to_pylist() == [None]
    assert result.good.column("order_type").to_pylist() == ["MARKET"]


def test_enums_and_booleans_are_normalised() -> None:
    rows = [
        good_row(0, side=" buy ", order_status="Cancelled", is_algo_trade="YES", is_hft="0"),
        good_row(1, side="Sell", order_type="stop", is_algo_trade="t", is_hft="No"),
        good_row(
            2, is_algo_trade="1", is_hft="FALSE", order_status="executed", counterparty_id="X"
        ),
    ]
    good = validate_events(raw_of(rows)).good
    assert good.column("side").to_pylist() == ["BUY", "SELL", "BUY"]
    assert good.column("order_status").to_pylist() == ["CANCELLED", "NEW", "EXECUTED"]
    assert good.column("order_type").to_pylist() == ["LIMIT", "STOP", "LIMIT"]
    assert good.column("is_algo_trade").to_pylist() == [True, True, True]
    assert good.column("is_hft").to_pylist() == [False, False, False]


def test_missing_optional_columns_get_defaults_and_extras_are_dropped() -> None:
    required = ["transaction_id", "timestamp", "order_id", "order_status", "trader_id"]
    required += ["instrument_id", "side", "price", "quantity"]
    rows = [{**{k: good_row(0)[k] for k in required}, "note": "extra"}]
    result = validate_events(raw_of(rows))
    assert result.good.schema.equals(EVENT_SCHEMA, check_metadata=True)
    (row,) = result.good.to_pylist()
    assert (row["trading_venue"], row["order_type"]) == ("XOFF", "LIMIT")
    assert (row["is_algo_trade"], row["is_hft"]) == (False, False)
    assert row["bid_price"] is row["counterparty_id"] is None


def test_null_optional_cells_get_defaults() -> None:
    rows = [good_row(0, trading_venue=None, order_type=None, is_hft=None, is_algo_trade="")]
    (row,) = validate_events(raw_of(rows)).good.to_pylist()
    assert (row["trading_venue"], row["order_type"], row["is_hft"]) == ("XOFF", "LIMIT", False)


def test_labels_are_kept_when_manipulation_type_is_present() -> None:
    rows = [
        good_row(0, manipulation_type="spoofing", scenario_id="sc-1"),
        good_row(1, manipulation_type="NONE", scenario_id=""),
        good_row(2, manipulation_type="NONE", is_manipulation="true"),
        good_row(3, manipulation_type="TEA_PARTY"),
        good_row(4, manipulation_type=None),
    ]
    result = validate_events(raw_of(rows))
    assert result.good.schema.equals(LABELLED_EVENT_SCHEMA)
    assert result.good.column("manipulation_type").to_pylist() == ["SPOOFING", "NONE", "NONE"]
    assert result.good.column("is_manipulation").to_pylist() == [True, False, True]
    assert result.good.column("scenario_id").to_pylist() == ["sc-1", None, None]
    assert [(b.line, b.field) for b in result.bad] == [(5, "manipulation_type")] * 1 + [
        (6, "manipulation_type")
    ]
    assert result.bad[1].reason == "required"


def test_is_manipulation_alone_is_not_a_label_set() -> None:
    result = validate_events(raw_of([good_row(0, is_manipulation="true")]))
    assert result.good.schema.equals(EVENT_SCHEMA)


def test_good_rows_keep_input_order() -> None:
    rows = [good_row(i, price="-1" if i % 3 == 0 else "2") for i in range(20)]
    good = validate_events(raw_of(rows)).good
    assert good.column("transaction_id").to_pylist() == [f"tx{i}" for i in range(20) if i % 3]


def test_missing_required_column_is_a_contract_error() -> None:
    rows = [{k: v for k, v in good_row(0).items() if k != "side"}]
    with pytest.raises(ContractError) as caught:
        validate_events(raw_of(rows))
    assert str(caught.value) == "test.csv: missing required column 'side'"
    rows = [{k: v for k, v in good_row(0).items() if k not in ("side", "price")}]
    with pytest.raises(ContractError, match="missing required columns 'side', 'price'"):
        validate_events(raw_of(rows))


def test_repeated_contract_column_is_a_contract_error() -> None:
    table = raw_of([good_row(0)]).table
    table = table.append_column("side", pa.array(["SELL"]))
    with pytest.raises(ContractError, match="column 'side' appears 2 times"):
        validate_events(RawTable(table, 2, "line", "x.csv"))


def test_typed_columns_from_parquet() -> None:
    table = raw_of([good_row(0), good_row(1), good_row(2)]).table
    table = table.set_column(8, "price", pa.array([5, -1, None], pa.int64()))
    table = table.set_column(9, "quantity", pa.array([1.5, 2.0, float("nan")]))
    table = table.set_column(7, "side", pa.array(["BUY", "SELL", "BUY"]).dictionary_encode())
    table = table.set_column(13, "is_hft", pa.array([True, None, False]))
    table = table.set_column(4, "trader_id", pa.array([1, 2, 3], pa.int32()))
    result = validate_events(RawTable(table, 1, "row", "t.parquet"))
    assert [(b.line, b.field, b.reason) for b in result.bad] == [
        (2, "price", "must be > 0, got -1"),
        (3, "price", "required"),
    ]
    (row,) = result.good.to_pylist()
    assert (row["price"], row["quantity"], row["trader_id"], row["is_hft"]) == (5.0, 1.5, "1", True)


def test_nested_values_are_rejected_not_crashed_on() -> None:
    table = raw_of([good_row(0), good_row(1)]).table
    table = table.set_column(4, "trader_id", pa.array([["a"], None]))
    result = validate_events(RawTable(table, 1, "row", "t.parquet"))
    assert [(b.line, b.field) for b in result.bad] == [(1, "trader_id"), (2, "trader_id")]
    assert result.bad[0].reason == "expected a single text value, got ['a']"


def test_dead_letter_rows_are_json_serialisable() -> None:
    table = raw_of([good_row(0, price="-1")]).table
    table = table.set_column(1, "timestamp", pa.array([T0], pa.timestamp("us", tz="UTC")))
    table = table.append_column("blob", pa.array([b"\xff\x00"]))
    table = table.append_column("score", pa.array([float("nan")]))
    (letter,) = validate_events(RawTable(table, 1, "row", "t.parquet")).bad
    text = json.dumps(letter.row, allow_nan=False)
    assert "2026-03-02" in text
    assert set(letter.row) == {*HEADER, "blob", "score"}


def test_empty_table_validates_to_nothing() -> None:
    table = pa.table({name: pa.array([], pa.string()) for name in HEADER})
    result = validate_events(RawTable(table, 2, "line", "x.csv"))
    assert result.n_rows == 0
    assert result.good.schema.equals(EVENT_SCHEMA)


def test_an_impossible_date_does_not_change_its_neighbours() -> None:
    texts = [text for text, _ in TIMESTAMP_FORMS]
    for bad in ("2026-02-30T09:30:00Z", "2026-02-30 09:30:00", "2026-03-02T09:30:00+24:00"):
        rows = [good_row(i, timestamp=t) for i, t in enumerate([*texts, bad])]
        result = validate_events(raw_of(rows))
        assert [b.line for b in result.bad] == [2 + len(texts)]
        stamps = result.good.column("timestamp").cast(pa.int64()).to_pylist()
        assert stamps == [v for _, v in TIMESTAMP_FORMS]


def test_chunked_dictionary_columns_with_different_dictionaries() -> None:
    table = raw_of([good_row(0), good_row(1)]).table
    side = pa.chunked_array(
        [pa.array(["BUY"]).dictionary_encode(), pa.array(["bogus"]).dictionary_encode()]
    )
    table = table.set_column(7, "side", side)
    result = validate_events(RawTable(table, 1, "row", "t.parquet"))
    assert result.good.column("side").to_pylist() == ["BUY"]
    assert [(b.line, b.field) for b in result.bad] == [(2, "side")]
