"""Mapping round trips: a contract table disguised as a foreign layout maps back exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tapewatch.ingest.mapping import parse_mapping
from tapewatch.ingest.run import map_file
from tapewatch.schema.columns import EVENT_SCHEMA
from tapewatch.schema.writers import write_table_atomic
from tapewatch.synth import MarketConfig, generate_market

_STATUS_CODES = {"NEW": "N", "MODIFIED": "M", "CANCELLED": "C", "EXECUTED": "E"}


@pytest.fixture(scope="module")
def market() -> pa.Table:
    """A small generated day, contract columns only."""
    return generate_market(MarketConfig(n_events=5000, seed=1)).select(EVENT_SCHEMA.names)


def disguise(t: pa.Table) -> pa.Table:
    """The same events as a foreign feed: other names, codes, scaled prices, epoch seconds."""
    micros = pc.cast(t["timestamp"], pa.int64()).to_numpy()
    status = np.array([_STATUS_CODES[s] for s in t["order_status"].to_pylist()])
    side = np.where(t["side"].to_numpy(zero_copy_only=False) == "BUY", 1, -1)
    return pa.table(
        {
            "exec_time": pa.array(micros / 1e6),
            "oid": t["order_id"],
            "status": status,
            "account": t["trader_id"],
            "isin": t["instrument_id"],
            "mic": t["trading_venue"],
            "ord_type": t["order_type"],
            "direction": side,
            "px": pc.cast(pc.round(pc.multiply(t["price"], 10_000)), pa.int64()),
            "shares": t["quantity"],
            "contra": t["counterparty_id"],
            "best_bid": t["bid_price"],
            "best_ask": t["ask_price"],
        }
    )


MAPPING = {
    "timestamp": {"column": "exec_time", "unit": "s"},
    "order_id": "oid",
    "order_status": {"column": "status", "values": {v: k for k, v in _STATUS_CODES.items()}},
    "trader_id": "account",
    "instrument_id": "isin",
    "trading_venue": "mic",
    "order_type": "ord_type",
    "side": {"column": "direction", "values": {"1": "BUY", "-1": "SELL"}},
    "price": {"column": "px", "scale": 0.0001},
    "quantity": "shares",
    "counterparty_id": "contra",
    "bid_price": "best_bid",
    "ask_price": "best_ask",
}


def assert_same_events(original: pa.Table, mapped: pa.Table) -> None:
    """Mapped events equal the original ones, prices to float precision."""
    for name in ("timestamp", "order_id", "order_status", "trader_id", "instrument_id",
                 "trading_venue", "order_type", "side", "quantity", "counterparty_id"):  # fmt: skip
        assert mapped[name].equals(original[name]), name
    for name in ("price", "bid_price", "ask_price"):
        a = original[name].to_numpy(zero_copy_only=False).astype(float)
        b = mapped[name].to_numpy(zero_copy_only=False).astype(float)
        np.testing.assert_allclose(b, a, rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_disguised_file_maps_back(market: pa.Table, tmp_path: Path, suffix: str) -> None:
    source = tmp_path / f"feed{suffix}"
    write_table_atomic(disguise(market), source)
    result = map_file(source, parse_mapping(MAPPING), deadletter_dir=tmp_path / "dl")
    assert result.n_bad == 0
    assert result.n_read == market.num_rows
    assert_same_events(market, result.table)
    # no transaction id in the feed: derived from the row (line) number, unique
    assert result.table["transaction_id"].to_pylist()[:2] == (
        ["2", "3"] if suffix == ".csv" else ["1", "2"]
    )
    assert pc.count_distinct(result.table["transaction_id"]).as_py() == market.num_rows


def test_local_wall_clock_text_and_time_of_day(market: pa.Table, tmp_path: Path) -> None:
    t = market.slice(0, 500)
    ny = pc.cast(t["timestamp"], pa.timestamp("us", tz="America/New_York"))
    wall = pc.local_timestamp(ny)
    midnight = pc.floor_temporal(wall, unit="day")
    seconds = pc.divide(
        pc.cast(
            pc.subtract(pc.cast(wall, pa.int64()), pc.cast(midnight, pa.int64())), pa.float64()
        ),
        1e6,
    )
    day = str(pc.min(midnight).as_py().date())
    feed = (
        disguise(t)
        .drop_columns(["exec_time"])
        .append_column("wall", pc.strftime(wall, "%Y-%m-%dT%H:%M:%S"))
        .append_column("sec", seconds)
    )
    path = tmp_path / "local.csv"
    write_table_atomic(feed, path)
    iso = dict(MAPPING, timestamp={"column": "wall", "timezone": "America/New_York"})
    got = map_file(path, parse_mapping(iso), deadletter_dir=None).table
    assert got["timestamp"].equals(t["timestamp"])  # %S keeps the microseconds here
    tod = dict(
        MAPPING,
        timestamp={"column": "sec", "unit": "s", "date": day, "timezone": "America/New_York"},
    )
    got = map_file(path, parse_mapping(tod), deadletter_dir=None).table
    assert got["timestamp"].equals(t["timestamp"])


def test_unmappable_rows_go_to_the_dead_letter(market: pa.Table, tmp_path: Path) -> None:
    feed = disguise(market.slice(0, 50))
    direction = feed["direction"].to_pylist()
    direction[3] = 0
    px = [str(v) for v in feed["px"].to_pylist()]
    px[7] = "abc"
    feed = feed.set_column(
        feed.schema.get_field_index("direction"), "direction", pa.array(direction)
    )
    feed = feed.set_column(feed.schema.get_field_index("px"), "px", pa.array(px))
    path = tmp_path / "feed.csv"
    write_table_atomic(feed, path)
    result = map_file(path, parse_mapping(MAPPING), deadletter_dir=tmp_path / "dl")
    assert result.n_bad == 2
    assert result.table.num_rows == 48
    letters = [json.loads(line) for line in (tmp_path / "dl" / "feed.deadletter.jsonl").open()]
    assert [(x["line"], x["field"]) for x in letters] == [(5, "side"), (9, "price")]
    assert "'0'" in letters[0]["reason"]
    assert "direction" in letters[0]["reason"]
    assert "abc" in letters[1]["reason"]
    assert letters[1]["row"]["px"] == "abc"
