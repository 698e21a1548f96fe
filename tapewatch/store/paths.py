"""The data directory every command shares, and the default place of each thing in it.

One store (`tapewatch.db`) holds the alerts of `score`, `stream` and the workbench, so what
one command writes the others read without a flag.
"""

from __future__ import annotations

from pathlib import Path

#: the data directory, relative to where a command runs
DATA_DIR = Path("tapewatch-data")
#: the store: alerts, cases, labels, users, model versions, the audit log (SQLite)
DEFAULT_DB = DATA_DIR / "tapewatch.db"
#: scored events, as Parquet by date and instrument
DEFAULT_LAKE = DATA_DIR / "lake"
#: rejected rows, one JSON Lines file per input
DEFAULT_DEADLETTER = DATA_DIR / "deadletter"
#: stream workers' checkpoints, a folder per worker
DEFAULT_CHECKPOINTS = DATA_DIR / "checkpoints"
#: model directories
DEFAULT_MODELS = DATA_DIR / "models"
