"""Small shared builders for the schema tests (imported as `schema_rows`)."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from tapewatch.schema.columns import EVENT_SCHEMA, LABELLED_EVENT_SCHEMA
from tapewatch.schema.raw import RawTable

HEADER: list[str] = list(EVENT_SCHEMA.names)
Row = dict[str, str | None]


def good_row(i: int = 0, **overrides: str | None) -> Row:
    """One valid raw event row, as text, with any fields overridden."""
    row: Row = {
        "transaction_id": f"tx{i}",
        "timestamp": f"2026-03-02T09:30:{i % 60:02d}.{i % 1_000_000:06d}Z",
        "order_id": f"o{i}",
        "order_status": "NEW",
        "trader_id": "T1",
        "instrument_id": "GB0001",
        "trading_venue": "XLON",
        "side": "BUY",
        "price": "101.5",
        "quantity": "100",
        "order_type": "LIMIT",
        "counterparty_id": None,
        "is_algo_trade": "false",
        "is_hft": "true",
        "bid_price": "101.4",
        "ask_price": "101.6",
        "bid_size": "500",
        "ask_size": "300",
    }
    row.update(overrides)
    return row


def write_csv(path: Path, rows: Sequence[Mapping[str, object]], header: Sequence[str] = ()) -> Path:
    """Write rows as CSV with a header line; None becomes an empty cell."""
    names = list(header) or list(rows[0])
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(names)
        for row in rows:
            writer.writerow(["" if row.get(name) is None else row.get(name) for name in names])
    return path


def raw_of(rows: Sequence[Mapping[str, object]], first_line: int = 2) -> RawTable:
    """A RawTable of text columns, as the CSV reader would give, first row at ``first_line``."""
    names = list(dict.fromkeys(name for row in rows for name in row)) or HEADER
    columns = {
        name: pa.array(
            [None if row.get(name) is None else str(row.get(name)) for row in rows], pa.string()
        )
        for name in names
    }
    return RawTable(pa.table(columns), first_line, "line", "test.csv")


def sample_events(n: int, *, labelled: bool = False, seed: int = 1) -> pa.Table:
    """A valid contract table of ``n`` events with varied values and some nulls."""
    rng = np.random.default_rng(seed)
    status = np.array(["NEW", "MODIFIED", "CANCELLED", "EXECUTED"])[rng.integers(0, 4, n)]
    order_type = np.array(["LIMIT", "MARKET", "STOP"])[rng.integers(0, 3, n)]
    price = rng.uniform(0.01, 5000, n) * 10.0 ** rng.integers(-3, 4, n)
    price_list: list[float | None] = [float(p) for p in price]
    for i in range(n):
        if order_type[i] == "MARKET" and status[i] == "NEW" and i % 2:
            price_list[i] = None
    counterparty = [
        f"T{j}" if s == "EXECUTED" or j % 3 == 0 else None for j, s in enumerate(status)
    ]
    optional = [None if i % 4 == 0 else float(v) for i, v in enumerate(rng.uniform(1, 100, n))]
    columns: dict[str, object] = {
        "transaction_id": [f"tx-{i}" for i in range(n)],
        "timestamp": pa.array(
            1_772_443_800_000_000 + np.cumsum(rng.integers(0, 5_000_000, n)),
            pa.timestamp("us", tz="UTC"),
        ),
        "order_id": [f"ord-{i // 3}" for i in range(n)],
        "order_status": status.tolist(),
        "trader_id": [f"T{v}" for v in rng.integers(0, 20, n)],
        "instrument_id": [f"GB{v:010d}" for v in rng.integers(0, 5, n)],
        "trading_venue": np.array(["XLON", "XOFF", "BATE"])[rng.integers(0, 3, n)].tolist(),
        "side": np.array(["BUY", "SELL"])[rng.integers(0, 2, n)].tolist(),
        "price": price_list,
        "quantity": rng.integers(1, 10_000, n).astype(float).tolist(),
        "order_type": order_type.tolist(),
        "counterparty_id": counterparty,
        "is_algo_trade": (rng.random(n) < 0.5).tolist(),
        "is_hft": (rng.random(n) < 0.2).tolist(),
        "bid_price": optional,
        "ask_price": optional[::-1],
        "bid_size": [None if v is None else float(int(v)) for v in optional],
        "ask_size": [0.0] * n,
    }
    schema = EVENT_SCHEMA
    if labelled:
        kinds = np.array(["NONE", "SPOOFING", "LAYERING"])[rng.integers(0, 3, n)]
        columns["is_manipulation"] = (kinds != "NONE").tolist()
        columns["manipulation_type"] = kinds.tolist()
        columns["scenario_id"] = [
            None if k == "NONE" else f"sc-{i % 7}" for i, k in enumerate(kinds)
        ]
        schema = LABELLED_EVENT_SCHEMA
    return pa.table(columns, schema=schema)
