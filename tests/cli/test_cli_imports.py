"""What each command loads: a command imports only what it runs, so `--help` loads no
numerical library and scoring never loads the training libraries."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hybrid import Hybrid

from tapewatch.learn.registry import save_model

#: libraries only training needs: scoring reads the model directory without them
TRAINING_ONLY = ("torch", "xgboost", "sklearn", "optuna")

#: runs the command line in-process with the arguments given as JSON
CLI = """
from tapewatch.cli.app import main
sys.argv = ["tapewatch", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exc:
    if exc.code not in (0, None):
        raise
"""
#: opens the service on the model directory `model`, as `tapewatch serve` does
SERVICE = """
from pathlib import Path
from tapewatch.api.app import create_app
from tapewatch.api.service import ServiceSettings
app = create_app(ServiceSettings(db="serve.db", lake=None, model_dir=Path("model")))
app.state.service.prepare()
"""
#: printed last: the top-level modules the code before it loaded
MODULES = 'print("\\nMODULES " + json.dumps(sorted({m.split(".")[0] for m in sys.modules})))'


def loaded(code: str, cwd: Path, args: list[str] | None = None) -> set[str]:
    """The top-level modules a fresh interpreter loaded running `code` (with `args`)."""
    done = subprocess.run(
        [sys.executable, "-c", f"import json, sys\n{code}\n{MODULES}", json.dumps(args or [])],
        cwd=cwd, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.rsplit("MODULES ", 1)[1]))


@pytest.fixture(scope="module")
def scoring_setup(hybrid: Hybrid, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("cli-imports")
    save_model(hybrid.model, work / "model")
    pq.write_table(hybrid.unseen_day.slice(0, 2_000), work / "day.parquet")
    return work


def test_help_loads_no_numerical_library(tmp_path: Path) -> None:
    modules = loaded(CLI, tmp_path, ["--help"])
    assert "typer" in modules
    assert not modules & {"numpy", "pyarrow", "numba", "sqlalchemy", *TRAINING_ONLY}


@pytest.mark.parametrize("command", ["score", "stream"])
def test_scoring_loads_no_training_library(scoring_setup: Path, command: str) -> None:
    args = {
        "score": ["score", "day.parquet", "--model", "model", "--out", "scores.parquet",
                  "--alerts", "alerts.parquet", "--db", "score.db", "--quiet"],
        "stream": ["stream", "--source", "file://day.parquet", "--model", "model",
                   "--db", "stream.db", "--quiet"],
    }[command]  # fmt: skip
    modules = loaded(CLI, scoring_setup, args)
    assert {"numpy", "pyarrow", "onnxruntime"} <= modules  # it did score
    assert not modules & set(TRAINING_ONLY)


def test_serving_loads_no_training_library(scoring_setup: Path) -> None:
    modules = loaded(SERVICE, scoring_setup)
    assert {"fastapi", "onnxruntime"} <= modules
    assert not modules & set(TRAINING_ONLY)
