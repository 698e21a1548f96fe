"""Scoring settings stored with a model: thresholds, alert grouping, ensemble weights."""

from __future__ import annotations

from dataclasses import dataclass

EXPLANATION_METHODS = ("treeshap", "saabas")


@dataclass(frozen=True)
class ScoringConfig:
    """How scores become flags and alerts."""

    #: an event is flagged when its score is at or above this
    alert_threshold: float = 0.5
    #: training sets alert_threshold so that this share of normal validation events reach it
    target_fpr: float = 0.003
    #: flagged events of one trader, instrument and typology closer than this form one alert
    alert_gap_seconds: float = 60.0
    #: features reported per alert
    top_features: int = 5
    #: "treeshap" (exact, about 1-3 ms an alert) or "saabas" (path attribution, ~50x cheaper)
    explanation: str = "treeshap"

    def __post_init__(self) -> None:
        if not 0.0 <= self.alert_threshold <= 1.0:
            raise ValueError(f"alert_threshold must be in [0, 1], got {self.alert_threshold}")
        if not 0.0 < self.target_fpr < 1.0:
            raise ValueError(f"target_fpr must be in (0, 1), got {self.target_fpr}")
        if self.explanation not in EXPLANATION_METHODS:
            raise ValueError(
                f"explanation must be one of {EXPLANATION_METHODS}, got {self.explanation!r}"
            )
        if self.alert_gap_seconds <= 0:
            raise ValueError("alert_gap_seconds must be > 0")
