"""Scoring settings stored with a model: thresholds, alert grouping, ensemble weights."""

from __future__ import annotations

import math
from dataclasses import dataclass

EXPLANATION_METHODS = ("treeshap", "saabas")
#: the share of NONE events let through by the threshold detection is reported at
#: (`tapewatch evaluate`): episode recall is read at this false-positive rate
DEFAULT_FPR = 0.005


@dataclass(frozen=True)
class Cascade:
    """Early exits for clearly normal rows: after each stage's first `trees` trees, rows
    whose margin (log-odds) is below the stage's `cutoff` keep it and skip the rest."""

    stages: tuple[tuple[int, float], ...]

    def __post_init__(self) -> None:
        trees = [t for t, _ in self.stages]
        if not trees or trees != sorted(set(trees)) or trees[0] <= 0:
            raise ValueError(f"cascade stages need increasing positive tree counts, got {trees}")


@dataclass(frozen=True)
class ScoringConfig:
    """How scores become flags and alerts."""

    #: an event is flagged when its score is at or above this
    alert_threshold: float = 0.5
    #: training sets alert_threshold so that this share of normal validation events reach it
    target_fpr: float = 0.003
    #: the same for events without a known trader (their trader features are missing);
    #: None: alert_threshold serves them too
    anonymous_threshold: float | None = None
    #: screen trees after which clearly normal rows exit early (empty: no cascade), and
    #: each stage's cutoff in log-odds, set in training (`learn.train.cascade_cutoffs`)
    #: below the validation events near the threshold (none set: no cascade)
    cascade_trees: tuple[int, ...] = (20, 40, 80, 160)
    cascade_cutoffs: tuple[float, ...] = ()
    #: flagged events of one trader, instrument and typology closer than this form one alert
    alert_gap_seconds: float = 60.0
    #: ensemble score = w * xgb_score + (1 - w) * ae_score, when the model has an autoencoder;
    #: the seed design's 0.6 lost episode recall on known typologies and caught no more of
    #: two typologies the supervised model never saw (benchmarks/withheld.py,
    #: docs/PERFORMANCE.md)
    ensemble_weight: float = 0.9
    #: the ensemble's alert thresholds, set in training like alert_threshold (None: no
    #: autoencoder, the supervised score alone decides)
    ensemble_threshold: float | None = None
    anonymous_ensemble_threshold: float | None = None
    #: an ae_score this high calls an event a novel anomaly in its explanation
    novelty_level: float = 0.99
    #: features reported per alert
    top_features: int = 5
    #: "treeshap" (exact) or "saabas" (path attribution, an approximation, cheaper)
    explanation: str = "treeshap"

    @property
    def cascade(self) -> Cascade | None:
        """The screen's early exit, if any."""
        if not self.cascade_cutoffs:
            return None
        stages = [
            (t, c)
            for t, c in zip(self.cascade_trees, self.cascade_cutoffs, strict=True)
            if math.isfinite(c)
        ]
        return Cascade(tuple(stages)) if stages else None

    def __post_init__(self) -> None:
        # JSON gives lists; a frozen config keeps tuples (hashable, compared by value)
        object.__setattr__(self, "cascade_trees", tuple(int(t) for t in self.cascade_trees))
        object.__setattr__(self, "cascade_cutoffs", tuple(float(c) for c in self.cascade_cutoffs))
        if self.cascade_cutoffs and len(self.cascade_cutoffs) != len(self.cascade_trees):
            raise ValueError("cascade_cutoffs needs one cutoff per entry of cascade_trees")
        if not 0.0 <= self.alert_threshold <= 1.0:
            raise ValueError(f"alert_threshold must be in [0, 1], got {self.alert_threshold}")
        if not 0.0 < self.target_fpr < 1.0:
            raise ValueError(f"target_fpr must be in (0, 1), got {self.target_fpr}")
        if self.explanation not in EXPLANATION_METHODS:
            raise ValueError(
                f"explanation must be one of {EXPLANATION_METHODS}, got {self.explanation!r}"
            )
        if not 0.0 <= self.ensemble_weight <= 1.0:
            raise ValueError(f"ensemble_weight must be in [0, 1], got {self.ensemble_weight}")
        if self.alert_gap_seconds <= 0:
            raise ValueError("alert_gap_seconds must be > 0")
