"""The Python SDK: score events from a notebook or another service with a trained model.

    from tapewatch.sdk import Detector
    detector = Detector.load("tapewatch-data/models/demo")
    detector.predict({"transaction_id": "T1", "timestamp": "2026-03-03T14:30:00Z", ...})

A Detector keeps each trader's live state, like the service: events are scored in the
context of the ones given before them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tapewatch.engine.live import LiveScorer
from tapewatch.learn.registry import load_model


class InvalidEventError(ValueError):
    """An event that breaks the data contract; the message names the field and why."""


class Detector:
    """A trained model with live per-trader state."""

    def __init__(self, scorer: LiveScorer) -> None:
        self.scorer = scorer

    @classmethod
    def load(cls, model_dir: str | Path, *, threshold: float | None = None) -> Detector:
        """The model in `model_dir` (written by `tapewatch train`)."""
        return cls(LiveScorer(load_model(Path(model_dir)), source="sdk", threshold=threshold))

    @property
    def version(self) -> str:
        """The model version."""
        return self.scorer.version

    def predict(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Score one event: score, flagged, predicted_type, risk_level, top_factors and
        processing_ms. Raises InvalidEventError for an event the contract rejects."""
        return self.predict_many([event])[0]

    def predict_many(self, events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Score events in order; one result each. Raises InvalidEventError naming the
        first rejected event (counted from 1) and field."""
        result = self.scorer.score_records(list(events), explain="all")
        if result.rejected:
            raise InvalidEventError("event " + result.rejected[0].message.removeprefix("line "))
        out = []
        for verdict in result.verdicts:
            row = asdict(verdict)
            row["risk_level"] = verdict.risk_level.value
            row["processing_ms"] = result.processing_ms
            out.append(row)
        return out
