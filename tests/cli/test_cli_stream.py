"""`tapewatch stream` from a file and from standard input, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hybrid import Hybrid
from kit import same_alerts
from servers import served_alerts, tapewatch_serve

from tapewatch.engine.batch import score_events
from tapewatch.engine.pipeline import Provenance
from tapewatch.learn.registry import save_model


@pytest.fixture(scope="module")
def setup(hybrid: Hybrid, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pa.Table]:
    work = tmp_path_factory.mktemp("cli-stream")
    model = save_model(hybrid.model, work / "model")
    day = hybrid.unseen_day.slice(0, 12_000)
    pq.write_table(day, work / "day.parquet")
    lines = [json.dumps(r, default=str) for r in day.to_pylist()]
    (work / "day.jsonl").write_text("\n".join(lines) + "\n")
    _, alerts = score_events(day, model, Provenance(model.version, "", ""))
    return work, alerts


def run(args: list[str], cwd: Path, stdin: Path | None = None) -> subprocess.CompletedProcess[str]:
    with (stdin or Path("/dev/null")).open("rb") as feed:
        done = subprocess.run(
            [sys.executable, "-m", "tapewatch.cli.app", *args],
            cwd=cwd, stdin=feed, capture_output=True, timeout=300, check=False,
        )  # fmt: skip
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode(), done.stderr.decode()
    )


@pytest.mark.parametrize("source", ["file://day.parquet", "stdin"])
def test_stream_writes_the_same_alerts_as_score(setup: tuple[Path, pa.Table], source: str) -> None:
    work, expected = setup
    name = source.split(":")[0]
    done = run(
        ["stream", "--source", source, "--model", "model", "--db", f"{name}.db",
         "--lake", f"{name}-lake", "--checkpoint-dir", f"{name}-ckpt",
         "--alerts-out", f"{name}-alerts.parquet", "--quiet"],
        work,
        stdin=work / "day.jsonl" if source == "stdin" else None,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "end of input: 12,000 events scored" in " ".join(done.stdout.split())
    assert same_alerts(pq.read_table(work / f"{name}-alerts.parquet"), expected)


def test_an_unknown_source_is_one_clear_error(setup: tuple[Path, pa.Table]) -> None:
    work, _ = setup
    done = run(["stream", "--source", "kafka://x", "--model", "model", "--quiet"], work)
    assert done.returncode == 2
    assert "unknown source 'kafka://x'" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_with_defaults_shows_what_stream_wrote_with_defaults(
    setup: tuple[Path, pa.Table], tmp_path: Path
) -> None:
    work, expected = setup
    done = run(
        ["stream", "--source", f"file://{work / 'day.parquet'}", "--model", str(work / "model"),
         "--quiet"],
        tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    said = " ".join(done.stdout.split())
    assert f"{expected.num_rows:,} alerts in tapewatch-data/tapewatch.db" in said
    added = run(["users", "add", "ann", "--role", "analyst"], tmp_path)
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip().splitlines()[-1]
    with tapewatch_serve(cwd=tmp_path) as base:
        assert served_alerts(base, key) == expected.num_rows > 0
