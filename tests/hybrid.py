"""The small hybrid model the tests share (the `hybrid` fixture of conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from tapewatch.learn.registry import ModelBundle
from tapewatch.learn.workflow import TrainOutcome


@dataclass(frozen=True)
class Hybrid:
    """A labelled training day, the model trained on it with the autoencoder, an unseen day."""

    train_day: pa.Table
    outcome: TrainOutcome
    unseen_day: pa.Table

    @property
    def model(self) -> ModelBundle:
        return self.outcome.bundle
