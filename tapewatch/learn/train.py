"""Training the supervised detector on labelled events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from tapewatch.detect.decision import anonymous_rows
from tapewatch.detect.scoring import ScoringConfig
from tapewatch.detect.supervised import NONE_CLASS, SupervisedDetector, XGBoostConfig
from tapewatch.errors import UserError
from tapewatch.features.config import FeatureConfig
from tapewatch.features.engine import TRADER_COLUMNS, compute_features_table
from tapewatch.learn.registry import ModelBundle
from tapewatch.learn.split import Split, split_rows
from tapewatch.monitor.metrics import threshold_at_fpr
from tapewatch.schema.enums import TYPOLOGIES, ManipulationType

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


class TrainingDataError(UserError):
    """Labelled data that cannot train a model."""


@dataclass(frozen=True)
class TrainingSet:
    """Features, class indices and the split of one labelled events table."""

    events: pa.Table
    features: F32
    classes: I64
    split: Split


def class_indices(events: pa.Table) -> I64:
    """Position in TYPOLOGIES of each event's manipulation_type."""
    if "manipulation_type" not in events.column_names:
        raise TrainingDataError("training data has no labels (manipulation_type column)")
    lookup = {str(t): i for i, t in enumerate(TYPOLOGIES)}
    return np.array(
        [lookup[v] for v in events.column("manipulation_type").to_pylist()], dtype=np.int64
    )


def prepare(
    events: pa.Table, config: FeatureConfig, on_progress: Callable[[int], None] | None = None
) -> TrainingSet:
    """Features, classes and split of a labelled table."""
    classes = class_indices(events)
    if len(np.unique(classes)) < 2:
        raise TrainingDataError("training data needs normal and manipulation events")
    features = compute_features_table(events, config, on_progress=on_progress)
    split = split_rows(events)
    for name, idx in (("train", split.train), ("validation", split.valid)):
        if len(np.unique(classes[idx])) < 2:
            raise TrainingDataError(f"the {name} split has a single class: give more data")
    return TrainingSet(events, features, classes, split)


def fit_model(
    data: TrainingSet,
    *,
    feature_config: FeatureConfig,
    xgb_config: XGBoostConfig,
    scoring: ScoringConfig | None = None,
    metadata: dict[str, Any] | None = None,
) -> ModelBundle:
    """Train on the train split, early-stop and set the alert threshold on validation.

    The threshold lets `scoring.target_fpr` of the normal validation events through: a
    false-positive rate does not depend on how much abuse the training day was given. A
    share of rows is also given without trader features (feeds without trader ids), with
    its own threshold set the same way. The screen's early exit is set on the same rows.
    """
    scoring = scoring or ScoringConfig()
    s = data.split
    rng = np.random.default_rng(xgb_config.seed)
    share = xgb_config.anonymous_share
    train, train_classes = with_anonymous_copies(
        data.features[s.train], data.classes[s.train], share, rng
    )
    valid, valid_classes = with_anonymous_copies(
        data.features[s.valid], data.classes[s.valid], share, rng
    )
    detector = SupervisedDetector(xgb_config).fit(train, train_classes, valid, valid_classes)
    valid_scores = detector.score(valid)
    normal = valid_classes == NONE_CLASS
    anonymous = anonymous_rows(valid)
    threshold = fpr_threshold(valid_scores[normal & ~anonymous], scoring.target_fpr)
    scoring = replace(
        scoring,
        alert_threshold=threshold,
        anonymous_threshold=(
            fpr_threshold(valid_scores[normal & anonymous], scoring.target_fpr)
            if (normal & anonymous).any()
            else None
        ),
        cascade_cutoffs=cascade_cutoffs(
            detector, valid, valid_scores, threshold, scoring.cascade_trees
        ),
    )
    return ModelBundle(detector, feature_config, xgb_config, scoring, metadata=dict(metadata or {}))


#: log-odds of slack below each stage's cutoff margin
CASCADE_SLACK = 1.0
#: share of the validation events at half the threshold and above that may set no cutoff:
#: the lowest early margins of so many events are outliers that would keep the cascade from
#: exiting anything
CASCADE_OUTLIERS = 0.001
#: events from this share of the threshold up always set the cutoff (the ensemble can flag an
#: event whose supervised score is a little under the threshold)
CASCADE_KEEP = 0.8


def cascade_cutoffs(
    detector: SupervisedDetector,
    valid: F32,
    valid_scores: F64,
    threshold: float,
    trees: tuple[int, ...],
) -> tuple[float, ...]:
    """Early-exit cutoff of each cascade stage, from the validation events' margins after
    that stage's trees, with slack: below every event from 0.8 of the threshold up, and below
    all but the lowest 0.1 % of the events from half the threshold up (the risk levels from
    MEDIUM on). No cutoffs (no early exit) when there is nothing to set them from.
    """
    near = valid_scores >= threshold / 2
    if not trees or not near.any():
        return ()
    keep = valid_scores[near] >= CASCADE_KEEP * threshold
    rows, rounds = valid[near], detector.n_trees["screen"]
    cutoffs = []
    for k in trees:
        if k >= rounds:  # a stage at or past the screen's last tree exits nothing
            cutoffs.append(float("-inf"))
            continue
        early = detector.margin(rows, k)
        floor = float(np.quantile(early, CASCADE_OUTLIERS))
        if keep.any():
            floor = min(floor, float(early[keep].min()))
        cutoffs.append(floor - CASCADE_SLACK)
    return tuple(cutoffs)


def fpr_threshold(normal_scores: F64, fpr: float) -> float:
    """Threshold letting `fpr` of these normal scores through (0.5 with none to set it)."""
    cut = threshold_at_fpr(normal_scores, fpr)
    return 0.5 if cut is None else min(cut, 1.0)


WASH_CLASS = TYPOLOGIES.index(ManipulationType.WASH_TRADING)


def with_anonymous_copies(
    features: F32, classes: I64, share: float, rng: np.random.Generator
) -> tuple[F32, I64]:
    """Rows plus copies of a random share of them with the trader features missing.

    Wash-trading rows get no copy: without trader ids nothing tells them from a trade.
    """
    if share <= 0:
        return features, classes
    eligible = np.flatnonzero(classes != WASH_CLASS)
    picked = eligible[rng.random(len(eligible)) < share]
    masked = features[picked].copy()
    masked[:, TRADER_COLUMNS] = np.nan
    return np.vstack([features, masked]), np.concatenate([classes, classes[picked]])
