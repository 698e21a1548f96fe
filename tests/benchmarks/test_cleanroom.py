"""The clean-room market (benchmarks/cleanroom.py): a valid, labelled, deterministic day."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter, defaultdict
from pathlib import Path
from types import ModuleType

import pyarrow as pa
import pytest

from tapewatch.schema.columns import LABELLED_EVENT_SCHEMA
from tapewatch.schema.enums import ManipulationType
from tapewatch.schema.raw import RawTable
from tapewatch.schema.validate import validate_vectorised

N_EVENTS = 50_000


def _load() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "cleanroom.py"
    spec = importlib.util.spec_from_file_location("cleanroom", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["cleanroom"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


cleanroom = _load()


@pytest.fixture(scope="module")
def day() -> pa.Table:
    return cleanroom.generate_cleanroom_day(N_EVENTS, seed=7)


def test_columns_and_size(day: pa.Table) -> None:
    assert day.schema.equals(LABELLED_EVENT_SCHEMA)
    assert 0.8 * N_EVENTS < day.num_rows < 1.2 * N_EVENTS
    assert len(set(day.column("transaction_id").to_pylist())) == day.num_rows


def test_every_row_valid(day: pa.Table) -> None:
    result = validate_vectorised(RawTable(day, line_of_first_row=1, unit="row"))
    assert result.bad == []
    assert result.good.num_rows == day.num_rows


def test_time_order_and_book_sanity(day: pa.Table) -> None:
    ts = day.column("timestamp").cast(pa.int64()).to_pylist()
    assert ts == sorted(ts)
    rows = day.select(["bid_price", "ask_price", "price", "quantity"]).to_pylist()
    assert all(r["quantity"] > 0 for r in rows)
    assert all(r["price"] is None or r["price"] > 0 for r in rows)
    assert all(
        r["bid_price"] is None or r["ask_price"] is None or r["bid_price"] < r["ask_price"]
        for r in rows
    )


def test_every_typology_labelled(day: pa.Table) -> None:
    rows = day.select(["is_manipulation", "manipulation_type", "scenario_id"]).to_pylist()
    kinds_of: defaultdict[str, set[str]] = defaultdict(set)
    for r in rows:
        if r["manipulation_type"] == ManipulationType.NONE:
            assert r["is_manipulation"] is False
            assert not r["scenario_id"]
        else:
            assert r["is_manipulation"] is True
            assert r["scenario_id"]
            kinds_of[r["scenario_id"]].add(r["manipulation_type"])
    assert all(len(kinds) == 1 for kinds in kinds_of.values())
    episodes = Counter(next(iter(kinds)) for kinds in kinds_of.values())
    assert set(episodes) == {t.value for t in ManipulationType} - {"NONE"}
    share = sum(r["is_manipulation"] for r in rows) / len(rows)
    assert 0.01 < share < 0.08


def test_executions_come_in_pairs(day: pa.Table) -> None:
    cols = [
        "timestamp",
        "order_status",
        "trader_id",
        "counterparty_id",
        "side",
        "price",
        "quantity",
        "instrument_id",
    ]
    rows = [r for r in day.select(cols).to_pylist() if r["order_status"] == "EXECUTED"]
    assert rows
    assert len(rows) % 2 == 0
    for aggressor, passive in zip(rows[0::2], rows[1::2], strict=True):
        assert aggressor["counterparty_id"] == passive["trader_id"]
        assert passive["counterparty_id"] == aggressor["trader_id"]
        assert aggressor["trader_id"] != passive["trader_id"]
        for key in ("timestamp", "price", "quantity", "instrument_id"):
            assert aggressor[key] == passive[key]
        assert aggressor["side"] != passive["side"]


def test_deterministic_per_seed(day: pa.Table) -> None:
    again = cleanroom.generate_cleanroom_day(N_EVENTS, seed=7)
    assert again.equals(day)
    other = cleanroom.generate_cleanroom_day(N_EVENTS, seed=8)
    assert not other.equals(day)
