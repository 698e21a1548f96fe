"""The audit of a renamed generated file suggests the right mapping; the CLI commands run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from tapewatch.cli import audit as audit_cmd
from tapewatch.cli import map as map_cmd
from tapewatch.ingest.audit import audit_file, write_audit
from tapewatch.ingest.mapping import FieldSpec, load_mapping
from tapewatch.schema.columns import EVENT_SCHEMA
from tapewatch.schema.writers import write_table_atomic
from tapewatch.synth import MarketConfig, generate_market

RENAMES = {
    "transaction_id": "TxnID",
    "timestamp": "exec_time",
    "order_id": "ord_id",
    "order_status": "status",
    "trader_id": "account",
    "instrument_id": "isin",
    "trading_venue": "mic",
    "side": "buy_sell",
    "price": "px",
    "quantity": "shares",
    "order_type": "ord_type",
    "counterparty_id": "cpty",
}


@pytest.fixture(scope="module")
def renamed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pa.Table]:
    """A generated day with foreign column names, B/S sides and epoch-millisecond times."""
    t = generate_market(MarketConfig(n_events=5000, seed=1)).select(EVENT_SCHEMA.names)
    millis = pc.cast(t["timestamp"], pa.int64()).to_numpy() // 1000
    side = np.where(t["side"].to_numpy(zero_copy_only=False) == "BUY", "B", "S")
    cols = {RENAMES.get(n, n): t[n] for n in t.column_names}
    cols["exec_time"] = pa.array(millis)
    cols["buy_sell"] = pa.array(side)
    path = tmp_path_factory.mktemp("audit") / "feed_2026-03-02.csv"
    write_table_atomic(pa.table(cols), path)
    return path, t


def test_audit_recovers_the_critical_fields(renamed: tuple[Path, pa.Table]) -> None:
    path, _ = renamed
    report = audit_file(path, sample_rows=1000)
    assert report.n_rows == renamed[1].num_rows  # exact count, not the sample
    assert report.n_sampled == 1000
    mapping = report.mapping
    assert mapping is not None
    for canonical, source in RENAMES.items():
        spec = mapping.get(canonical)
        assert spec is not None, canonical
        assert spec.column == source, canonical
    assert mapping.get("timestamp") == FieldSpec("timestamp", column="exec_time", unit="ms")
    side = mapping.get("side")
    assert side is not None
    assert dict(side.values or ()) == {"B": "BUY", "S": "SELL"}
    assert all(item.status != "missing" for item in report.checklist)


def test_audit_without_trader_ids_warns(tmp_path: Path, renamed: tuple[Path, pa.Table]) -> None:
    _path, t = renamed
    bare = tmp_path / "bare.parquet"
    write_table_atomic(t.drop_columns(["trader_id", "counterparty_id"]), bare)
    report = audit_file(bare)
    assert any("no trader ids" in w for w in report.warnings)
    assert report.mapping is not None
    assert report.mapping.get("trader_id") == FieldSpec("trader_id", value="UNKNOWN")


def test_audit_then_map_on_the_command_line(renamed: tuple[Path, pa.Table], tmp_path: Path) -> None:
    path, original = renamed
    app = typer.Typer()
    app.command("audit")(audit_cmd.audit)
    app.command("map")(map_cmd.map_command)
    runner = CliRunner()
    done = runner.invoke(app, ["audit", str(path), "--out-dir", str(tmp_path)])
    assert done.exit_code == 0, done.output
    md = tmp_path / f"{path.stem}.audit.md"
    mapping = tmp_path / f"{path.stem}.schema_mapping.json"
    assert "Contract checklist" in md.read_text(encoding="utf-8")
    assert json.loads(mapping.read_text(encoding="utf-8"))["trader_id"] == "account"
    out = tmp_path / "events.parquet"
    done = runner.invoke(
        app,
        [
            "map",
            str(path),
            "--mapping",
            str(mapping),
            "--out",
            str(out),
            "--deadletter-dir",
            str(tmp_path / "dl"),
        ],
    )
    assert done.exit_code == 0, done.output
    assert f"wrote {original.num_rows:,} events" in done.output
    got = pq.read_table(out)
    assert got.num_rows == original.num_rows
    assert got["order_status"].equals(original["order_status"])
    assert got["side"].equals(original["side"])
    # epoch milliseconds lose the microseconds, nothing else
    delta = pc.subtract(
        pc.cast(original["timestamp"], pa.int64()), pc.cast(got["timestamp"], pa.int64())
    )
    assert 0 <= pc.min(delta).as_py() <= pc.max(delta).as_py() < 1000


def test_written_mapping_loads(renamed: tuple[Path, pa.Table], tmp_path: Path) -> None:
    path, _ = renamed
    report = audit_file(path)
    _, mapping_path = write_audit(report, tmp_path)
    assert mapping_path is not None
    assert load_mapping(mapping_path) == report.mapping
