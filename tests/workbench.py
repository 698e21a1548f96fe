"""A populated workbench for the store, API and browser tests: the hybrid model scored
over its unseen day into a SQLite store and a lake, and one user of each role."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from tapewatch.engine.batch import score_file
from tapewatch.learn.registry import ModelBundle, save_model
from tapewatch.schema.writers import write_parquet_atomic
from tapewatch.store.alerts import AlertStore
from tapewatch.store.lake import ScoredLake
from tapewatch.store.models import Role
from tapewatch.store.users import add_user
from tapewatch.store.versions import register_model


@dataclass(frozen=True)
class Workbench:
    """Where the workbench's files are, and an API key per role."""

    db: str
    lake: Path
    model_dir: Path
    events: Path
    alerts: pa.Table
    keys: dict[Role, str]


def build_workbench(model: ModelBundle, day: pa.Table, root: Path) -> Workbench:
    """Score `day` with `model` into a new store and lake under `root`."""
    model_dir = root / "model"
    saved = save_model(model, model_dir)
    events = root / "day.parquet"
    write_parquet_atomic(day, events)
    lake = root / "lake"
    result = score_file(
        events,
        saved,
        scores_out=root / "scores.parquet",
        alerts_out=None,
        deadletter_dir=root / "deadletter",
        lake=ScoredLake(lake),
    )
    db = str(root / "tapewatch.db")
    store = AlertStore(db)
    register_model(store.engine, saved.version, str(model_dir), saved.config_hash)
    store.put(result.alerts)
    keys = {role: add_user(store.engine, f"{role.value}-user", role) for role in Role}
    store.close()
    return Workbench(db, lake, model_dir, events, result.alerts, keys)


def copy_store(db: str, into: Path) -> str:
    """A copy of a SQLite store (with its WAL files) that a test may change."""
    target = into / Path(db).name
    for suffix in ("", "-wal", "-shm"):
        if Path(db + suffix).exists():
            shutil.copy(db + suffix, str(target) + suffix)
    return str(target)
