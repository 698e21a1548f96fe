"""Throughput of reading and validating a large CSV of good events (not a test).

Run: python benchmarks/validate.py [--rows N] [--timestamps iso|naive|epoch] [--bad F]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from tapewatch.schema.readers import read_raw
from tapewatch.schema.validate import validate_events


def make_csv(path: Path, n: int, timestamps: str = "iso", bad: float = 0.0) -> None:
    """Write ``n`` event rows to a CSV file; a fraction ``bad`` of them has a negative price."""
    rng = np.random.default_rng(7)
    ids = np.arange(n).astype(str)
    status = np.array(["NEW", "MODIFIED", "CANCELLED", "EXECUTED"])[rng.integers(0, 4, n)]
    micros = 1_772_443_800_000_000 + np.arange(n) * 1_000
    stamps: object = pa.array(micros, pa.timestamp("us", "UTC"))
    if timestamps == "naive":
        stamps = pc.strftime(stamps, format="%Y-%m-%d %H:%M:%S")
    elif timestamps == "epoch":
        stamps = micros.astype(str)
    price = np.round(rng.uniform(10, 200, n), 2)
    price[rng.random(n) < bad] = -1.0
    table = pa.table(
        {
            "transaction_id": np.char.add("tx", ids),
            "timestamp": stamps,
            "order_id": np.char.add("o", (np.arange(n) // 3).astype(str)),
            "order_status": status,
            "trader_id": np.char.add("T", rng.integers(0, 500, n).astype(str)),
            "instrument_id": np.char.add("ISIN", rng.integers(0, 50, n).astype(str)),
            "trading_venue": np.full(n, "XLON"),
            "side": np.array(["BUY", "SELL"])[rng.integers(0, 2, n)],
            "price": price,
            "quantity": rng.integers(1, 1000, n).astype(float),
            "order_type": np.full(n, "LIMIT"),
            "counterparty_id": np.char.add("T", rng.integers(0, 500, n).astype(str)),
            "is_algo_trade": rng.random(n) < 0.5,
            "is_hft": rng.random(n) < 0.1,
            "bid_price": np.round(rng.uniform(10, 200, n), 2),
            "ask_price": np.round(rng.uniform(10, 200, n), 2),
            "bid_size": rng.integers(0, 1000, n).astype(float),
            "ask_size": rng.integers(0, 1000, n).astype(float),
        }
    )
    pcsv.write_csv(table, path)


def main(n: int, timestamps: str, bad: float) -> None:
    """Time reading and validating ``n`` rows."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.csv"
        make_csv(path, n, timestamps, bad)
        size_mb = path.stat().st_size / 1e6
        t0 = time.perf_counter()
        raw = read_raw(path)
        t1, c1 = time.perf_counter(), time.process_time()
        result = validate_events(raw)
        t2, c2 = time.perf_counter(), time.process_time()
    assert result.n_rows == n
    print(f"{n:,} rows ({timestamps} timestamps), {size_mb:.0f} MB CSV, {len(result.bad):,} bad")
    print(f"read_raw        {t1 - t0:6.2f} s")
    print(f"validate_events {t2 - t1:6.2f} s  ({n / (t2 - t1):,.0f} rows/s, {c2 - c1:.2f} s CPU)")
    print(f"total           {t2 - t0:6.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--timestamps", choices=["iso", "naive", "epoch"], default="iso")
    parser.add_argument("--bad", type=float, default=0.0, help="fraction of rows with a bad price")
    args = parser.parse_args()
    main(args.rows, args.timestamps, args.bad)
