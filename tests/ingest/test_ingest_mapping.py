"""The mapping file: parsing, validation errors, and a JSON round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tapewatch.ingest.apply import apply_mapping
from tapewatch.ingest.mapping import (
    CANONICAL,
    NUMERIC,
    FieldSpec,
    SchemaMapping,
    load_mapping,
    parse_mapping,
    save_mapping,
)
from tapewatch.schema.errors import ContractError
from tapewatch.schema.raw import RawTable


def test_plain_renames_and_objects_parse() -> None:
    m = parse_mapping(
        {
            "_comment": "hello",
            "trader_id": "account",
            "side": {"column": "direction", "values": {"1": "BUY", "-1": "SELL"}},
            "price": {"column": "px", "scale": 0.0001},
            "timestamp": {
                "column": "t",
                "unit": "s",
                "timezone": "America/New_York",
                "date": "2012-06-21",
            },
            "trading_venue": {"value": "XNAS"},
            "transaction_id": {"derive": "row_number"},
        }
    )
    assert m.comment == "hello"
    assert m.get("trader_id") == FieldSpec("trader_id", column="account")
    side = m.get("side")
    assert side is not None
    assert dict(side.values or ()) == {"1": "BUY", "-1": "SELL"}
    assert m.source_columns() == ("account", "direction", "px", "t")


@pytest.mark.parametrize(
    ("obj", "needle"),
    [
        ({"trader": "account"}, "unknown canonical name 'trader'"),
        ([1, 2], "must be a JSON object"),
        ({"price": {"column": "px", "scale": -1}}, "'scale' must be finite and > 0"),
        ({"side": {"column": "d", "scale": 2}}, "'scale' applies only to"),
        ({"timestamp": {"column": "t", "unit": "min"}}, "'unit' must be one of"),
        ({"timestamp": {"column": "t", "timezone": "Mars/Olympus"}}, "unknown time zone"),
        ({"timestamp": {"column": "t", "date": "2012-06-21"}}, "'date' needs a 'unit'"),
        ({"timestamp": {"column": "t", "unit": "s", "date": "21/06/2012"}}, "YYYY-MM-DD"),
        ({"side": {"column": "d", "value": "BUY"}}, "exactly one of"),
        ({"side": {"colum": "d"}}, "unknown key 'colum'"),
        ({"side": {"column": "d", "values": {}}}, "'values' must be a non-empty object"),
        ({"side": {"column": "d", "values": {"b": "BUY", "B": "SELL"}}}, "same source value"),
        ({"transaction_id": {"derive": "uuid"}}, "'derive' must be one of"),
        ({"trader_id": ""}, "empty"),
    ],
)
def test_bad_mappings_are_one_line_contract_errors(obj: object, needle: str) -> None:
    with pytest.raises(ContractError) as info:
        parse_mapping(obj, source="m.json")
    text = str(info.value)
    assert needle in text
    assert text.startswith("m.json: ")
    assert "\n" not in text


def test_missing_source_column_names_the_column(tmp_path: Path) -> None:
    raw = RawTable(pa.table({"a": ["x"]}), 2, "line", source="f.csv")
    with pytest.raises(
        ContractError, match="mapping reads source column 'account' not in the file"
    ):
        apply_mapping(raw, parse_mapping({"trader_id": "account"}))


def test_load_mapping_reports_bad_json(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ContractError, match="not valid JSON"):
        load_mapping(path)


_names = st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=8)


@st.composite
def _specs(draw: st.DrawFn, canonical: str) -> FieldSpec:
    source = draw(st.sampled_from(["column", "value", "derive"]))
    if source == "value":
        return FieldSpec(canonical, value=draw(st.one_of(_names, st.booleans())))
    if source == "derive":
        return FieldSpec(canonical, derive="row_number")
    column = draw(_names)
    if canonical == "timestamp":
        unit = draw(st.sampled_from([None, "s", "ms", "us", "ns"]))
        date = draw(st.dates()) if unit is not None and draw(st.booleans()) else None
        zone = draw(st.sampled_from(["UTC", "America/New_York"])) if date or unit is None else None
        zone = zone if draw(st.booleans()) else None
        return FieldSpec(canonical, column=column, unit=unit, date=date, timezone=zone)
    if canonical in NUMERIC and draw(st.booleans()):
        return FieldSpec(canonical, column=column, scale=draw(st.floats(1e-6, 1e6)))
    if draw(st.booleans()):
        keys = draw(st.lists(_names, min_size=1, max_size=4, unique_by=str.upper))
        return FieldSpec(canonical, column=column, values=tuple((k, "BUY") for k in keys))
    return FieldSpec(canonical, column=column)


@st.composite
def _mappings(draw: st.DrawFn) -> SchemaMapping:
    names = draw(st.lists(st.sampled_from(CANONICAL), unique=True, max_size=8))
    return SchemaMapping(tuple(draw(_specs(name)) for name in names), comment=draw(_names))


@given(_mappings())
def test_mapping_json_round_trip(mapping: SchemaMapping) -> None:
    text = json.dumps(mapping.to_json())
    assert parse_mapping(json.loads(text)) == mapping


def test_save_and_load(tmp_path: Path) -> None:
    m = parse_mapping({"price": {"column": "px", "scale": 0.01}, "side": "dir"})
    save_mapping(m, tmp_path / "m.json")
    assert load_mapping(tmp_path / "m.json") == m
