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

#: runs the command line in-process, then prints the top-level modules it loaded
PROBE = """
import json, sys
from tapewatch.cli.app import main
sys.argv = ["tapewatch", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exc:
    if exc.code not in (0, None):
        raise
print("\\nMODULES " + json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def loaded(args: list[str], cwd: Path) -> set[str]:
    """The top-level modules `tapewatch ARGS` loaded."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)],
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
    modules = loaded(["--help"], tmp_path)
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
    modules = loaded(args, scoring_setup)
    assert {"numpy", "pyarrow", "onnxruntime"} <= modules  # it did score
    assert not modules & set(TRAINING_ONLY)


def test_serving_loads_no_training_library(scoring_setup: Path) -> None:
    probe = (
        "import json, sys; from pathlib import Path\n"
        "from tapewatch.api.app import create_app\n"
        "from tapewatch.api.service import ServiceSettings\n"
        "app = create_app(ServiceSettings(db='serve.db', lake=None, model_dir=Path('model')))\n"
        "app.state.service.prepare()\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=scoring_setup, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    modules = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert {"fastapi", "onnxruntime"} <= modules
    assert not modules & set(TRAINING_ONLY)
