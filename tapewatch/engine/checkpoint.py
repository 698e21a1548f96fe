"""Worker checkpoints: pipeline state and source positions, written atomically."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO

CHECKPOINT_FILE = "checkpoint.pkl"
#: 2: key indexes keep their key list alone (slots rebuilt on load); the state may follow
#: the checkpoint's own pickle in the file
FORMAT = 2


@dataclass(frozen=True)
class Checkpoint:
    """Everything a worker needs to go on exactly where it stopped."""

    model_version: str
    #: what the worker reads (its source URL)
    source: str
    #: ScoringPipeline.snapshot() (empty in a saved checkpoint whose state was written
    #: straight into the file; filled again on load)
    pipeline: bytes
    #: per partition, the position of the last event inside `pipeline`
    positions: dict[str, str] = field(default_factory=dict)
    #: the last scored-event lake segment written
    lake_segment: int = 0
    #: running totals (events, alerts, dead letters) so a restart reports the whole run
    totals: dict[str, int] = field(default_factory=dict)


class CheckpointStore:
    """One worker's checkpoint file in a directory of its own."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / CHECKPOINT_FILE

    def load(self) -> Checkpoint | None:
        """The last checkpoint, or None before the first."""
        if not self.path.exists():
            return None
        # written by this worker (`save`); a checkpoint directory is trusted like a model's
        with self.path.open("rb") as f:
            version, checkpoint = pickle.load(f)  # noqa: S301
            state = f.read()
        if version != FORMAT:
            raise ValueError(f"{self.path}: checkpoint format {version}, expected {FORMAT}")
        if not isinstance(checkpoint, Checkpoint):
            raise ValueError(f"{self.path}: not a tapewatch checkpoint")
        return replace(checkpoint, pipeline=state) if state else checkpoint

    def save(
        self, checkpoint: Checkpoint, write_state: Callable[[BinaryIO], None] | None = None
    ) -> None:
        """Replace the checkpoint atomically: a crash leaves the old or the new one whole.

        `write_state` writes the pipeline's state into the file after the checkpoint, so
        a large state is pickled frame by frame to disk instead of into one large bytes
        object first (allocating and freeing tens of MB holds the GIL for milliseconds).
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump((FORMAT, checkpoint), f, protocol=pickle.HIGHEST_PROTOCOL)
            if write_state is not None:
                write_state(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
