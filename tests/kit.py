"""Test kit: small event tables built to order (stubs, not mocks), and the command line
run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa

from tapewatch.schema.columns import ALERT_SCHEMA, EVENT_SCHEMA

T0_US = 1_772_443_800_000_000  # 2026-03-02 09:30:00 UTC
STATUSES = np.array(["NEW", "MODIFIED", "CANCELLED", "EXECUTED"])


def tapewatch(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the tapewatch command line in a fresh process, wide enough not to wrap."""
    return subprocess.run(
        [sys.executable, "-m", "tapewatch.cli.app", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "COLUMNS": "400"},
    )


def random_events(
    n: int, *, seed: int = 0, n_instruments: int = 3, n_traders: int = 40, mean_gap_us: int = 20_000
) -> pa.Table:
    """A contract events table of random but well-formed events, in time order."""
    rng = np.random.default_rng(seed)
    ts = T0_US + np.cumsum(rng.integers(0, 2 * mean_gap_us, n))
    status = rng.choice(STATUSES, n, p=[0.4, 0.1, 0.3, 0.2])
    trader = np.array([f"ACC{i:04d}" for i in rng.integers(0, n_traders, n)])
    cp = np.array([f"ACC{i:04d}" for i in rng.integers(0, n_traders, n)])
    bid = 100.0 + rng.integers(-30, 30, n) * 0.01
    order = np.array([f"O{i}" for i in rng.integers(0, max(n // 3, 1), n)])
    # some orders take liquidity: a NEW and its fill at the same instant
    taker = np.flatnonzero((status[1:] == "EXECUTED") & (status[:-1] == "NEW")) + 1
    taker = taker[rng.random(len(taker)) < 0.5]
    order[taker] = order[taker - 1]
    ts[taker] = ts[taker - 1]
    return pa.Table.from_pydict(
        {
            "transaction_id": [f"TX{i:08d}" for i in range(n)],
            "timestamp": pa.array(ts, pa.timestamp("us", tz="UTC")),
            "order_id": order,
            "order_status": status,
            "trader_id": trader,
            "instrument_id": [f"INST{i}" for i in rng.integers(0, n_instruments, n)],
            "trading_venue": ["XTST"] * n,
            "side": rng.choice(["BUY", "SELL"], n),
            "price": bid + rng.integers(-5, 6, n) * 0.01,
            "quantity": rng.integers(1, 50, n) * 10.0,
            "order_type": ["LIMIT"] * n,
            "counterparty_id": pa.array(np.where(status == "EXECUTED", cp, None), pa.string()),
            "is_algo_trade": rng.random(n) < 0.3,
            "is_hft": rng.random(n) < 0.1,
            "bid_price": bid,
            "ask_price": bid + 0.02,
            "bid_size": rng.integers(1, 100, n) * 10.0,
            "ask_size": rng.integers(1, 100, n) * 10.0,
        },
        schema=EVENT_SCHEMA,
    )


def same_alerts(got: pa.Table, expected: pa.Table, *, any_order: bool = False) -> bool:
    """The same alerts, column for column, leaving out provenance that names the run."""
    keep = [c for c in expected.column_names if c not in ("config_hash", "input_hash")]
    if any_order:
        got, expected = got.sort_by("alert_id"), expected.sort_by("alert_id")
    return bool(got.select(keep).equals(expected.select(keep)))


def random_alerts(n: int, *, seed: int = 0, n_instruments: int = 5) -> pa.Table:
    """A table of n well-formed alerts in the contract's alert columns."""
    rng = np.random.default_rng(seed)
    start = T0_US + np.sort(rng.integers(0, 6 * 3600 * 1_000_000, n))
    kinds = np.array(["SPOOFING", "LAYERING", "WASH_TRADING", "QUOTE_STUFFING"])
    return pa.Table.from_pydict(
        {
            "alert_id": [f"AL-{seed:04d}{i:012d}" for i in range(n)],
            "trader_id": [f"ACC{i:04d}" for i in rng.integers(0, 30, n)],
            "instrument_id": [f"INST{i}" for i in rng.integers(0, n_instruments, n)],
            "manipulation_type": rng.choice(kinds, n).tolist(),
            "score": rng.uniform(0.5, 1.0, n).round(6).tolist(),
            "start": pa.array(start, pa.int64()).cast(ALERT_SCHEMA.field("start").type),
            "end": pa.array(start + 5_000_000, pa.int64()).cast(ALERT_SCHEMA.field("end").type),
            "transaction_ids": [[f"T{seed}-{i}-{j}" for j in range(3)] for i in range(n)],
            "explanation": ["why"] * n,
            "top_features": ['[{"feature": "x", "value": 1.0}]'] * n,
            "model_version": ["tw-test"] * n,
            "config_hash": ["c"] * n,
            "input_hash": ["i"] * n,
            "detected_by": ["known pattern"] * n,
            "rule_hits": [["self_trade"] if i % 2 else [] for i in range(n)],
        },
        schema=ALERT_SCHEMA,
    )
