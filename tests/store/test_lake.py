"""The scored-event lake: partitions, and the statistics its time-window reads rely on."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tapewatch.store.lake import ScoredLake


def _batch(start_us: int, n: int, instrument: str) -> tuple[pa.Table, pa.Table]:
    ts = pa.array([start_us + 1_000_000 * k for k in range(n)], pa.int64())
    events = pa.table(
        {
            "timestamp": ts.cast(pa.timestamp("us", tz="UTC")),
            "trader_id": [f"T{k % 3}" for k in range(n)],
            "instrument_id": [instrument] * n,
            "price": [10.0 + k for k in range(n)],
        }
    )
    scores = pa.table(
        {"transaction_id": [f"{instrument}-{k}" for k in range(n)], "score": [0.1] * n}
    )
    return events, scores


def test_files_keep_time_statistics_and_a_window_reads_only_its_rows(tmp_path: Path) -> None:
    lake = ScoredLake(tmp_path / "lake")
    day = 1_772_582_400_000_000  # 2026-03-04 00:00 UTC
    for instrument in ("AAA", "BBB", "AAA"):  # three batches, AAA's rows in two of them
        lake.append(*_batch(day + 3_600_000_000, 50, instrument))
    assert lake.flush(1) == 150
    files = sorted((tmp_path / "lake").rglob("*.parquet"))
    assert [f.parent.name for f in files] == ["instrument_id=AAA", "instrument_id=BBB"]
    for path in files:
        assert pq.read_metadata(path).num_row_groups == 1
        meta = pq.read_metadata(path).row_group(0)
        columns = {meta.column(i).path_in_schema: meta.column(i) for i in range(meta.num_columns)}
        stats = columns["timestamp"].statistics
        assert stats is not None
        assert stats.has_min_max
        assert stats.min < stats.max
    start = day + 3_600_000_000 + 10_000_000
    window = lake.window("BBB", start, start + 4_000_000)
    assert window.column("transaction_id").to_pylist() == [f"BBB-{k}" for k in range(10, 15)]
