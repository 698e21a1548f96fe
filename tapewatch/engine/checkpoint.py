"""Worker checkpoints: pipeline state and source positions, written atomically."""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

CHECKPOINT_FILE = "checkpoint.pkl"
#: 2: key indexes keep their key list alone (slots rebuilt on load)
FORMAT = 2


@dataclass(frozen=True)
class Checkpoint:
    """Everything a worker needs to go on exactly where it stopped."""

    model_version: str
    #: what the worker reads (its source URL)
    source: str
    #: ScoringPipeline.snapshot()
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
        if version != FORMAT:
            raise ValueError(f"{self.path}: checkpoint format {version}, expected {FORMAT}")
        if not isinstance(checkpoint, Checkpoint):
            raise ValueError(f"{self.path}: not a tapewatch checkpoint")
        return checkpoint

    def save(self, checkpoint: Checkpoint) -> None:
        """Replace the checkpoint atomically: a crash leaves the old or the new one whole."""
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump((FORMAT, checkpoint), f, protocol=pickle.HIGHEST_PROTOCOL)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
