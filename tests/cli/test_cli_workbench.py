"""The workbench as a user runs it: score into the store, add users, serve, verify the
audit log."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest
from kit import tapewatch
from servers import served_alerts, tapewatch_serve
from workbench import Workbench


@pytest.fixture(scope="module")
def scored(workbench: Workbench, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("cli-workbench")
    done = tapewatch(
        "score", str(workbench.events), "--model", str(workbench.model_dir),
        "--out", "scores.parquet", "--alerts", "alerts.parquet", "--db", "wb.db",
        "--lake", "lake", "--quiet", cwd=work,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    n = pq.read_table(work / "alerts.parquet").num_rows
    assert f"stored {n:,} alerts for review in wb.db" in done.stdout
    return work


def test_serve_shows_the_scored_alerts_to_a_key_holder(scored: Path) -> None:
    added = tapewatch("users", "add", "ann", "--role", "analyst", "--db", "wb.db", cwd=scored)
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip().splitlines()[-1]
    assert key.startswith("tw_")
    with tapewatch_serve("--db", "wb.db", "--lake", "lake", cwd=scored) as base:
        health = httpx.get(f"{base}/health")
        assert health.json()["model_version"].startswith("tw-")
        assert httpx.get(f"{base}/api/v1/alerts").status_code == 401
        expected = pq.read_table(scored / "alerts.parquet").num_rows
        assert served_alerts(base, key) == expected


def test_audit_log_verify_finds_an_edited_entry(scored: Path) -> None:
    tapewatch("users", "add", "bob", "--role", "viewer", "--db", "wb.db", cwd=scored)
    ok = tapewatch("audit-log", "verify", "--db", "wb.db", cwd=scored)
    assert ok.returncode == 0, ok.stderr
    assert "audit log intact" in ok.stdout
    with sqlite3.connect(scored / "wb.db") as db:
        db.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1")
    broken = tapewatch("audit-log", "verify", "--db", "wb.db", cwd=scored)
    assert broken.returncode == 1
    assert "broken at entry 1" in broken.stdout
    refused = tapewatch("audit-log", "prune", "--keep-years", "2", "--db", "wb.db", cwd=scored)
    assert refused.returncode == 2
    assert "at least 5 years" in refused.stderr
