"""From class probabilities to the contract's score columns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from tapewatch.detect.scoring import ScoringConfig
from tapewatch.detect.supervised import NONE_CLASS, SupervisedDetector
from tapewatch.features.catalog import FEATURE_NAMES
from tapewatch.schema.columns import SCORE_SCHEMA
from tapewatch.schema.enums import TYPOLOGIES

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
#: a trader feature defined on every row of a known trader
ANONYMITY_PROBE = FEATURE_NAMES.index("trader_rate_60s")
TYPOLOGY_NAMES = np.array([str(t) for t in TYPOLOGIES], dtype=object)


@dataclass(frozen=True)
class Decisions:
    """Per-event score, flag and most likely typology."""

    score: F64
    xgb_score: F64
    flagged: npt.NDArray[np.bool_]
    predicted: I64

    @property
    def predicted_names(self) -> npt.NDArray[np.object_]:
        """Typology names of `predicted`."""
        return TYPOLOGY_NAMES[self.predicted]


def decide(detector: SupervisedDetector, features: F32, scoring: ScoringConfig) -> Decisions:
    """Score rows, flag those reaching the threshold and name the flagged rows' typology."""
    xgb_score = detector.score(features, scoring.cascade)
    score = xgb_score
    threshold = np.full(len(score), scoring.alert_threshold)
    if scoring.anonymous_threshold is not None:
        threshold[anonymous_rows(features)] = scoring.anonymous_threshold
    flagged = score >= threshold
    predicted = np.full(len(score), NONE_CLASS, dtype=np.int64)
    predicted[flagged] = detector.typology(features[flagged])
    return Decisions(score, xgb_score, flagged, predicted)


def anonymous_rows(features: F32) -> npt.NDArray[np.bool_]:
    """Rows whose trader is unknown: their trader features are missing."""
    rows: npt.NDArray[np.bool_] = np.isnan(features[:, ANONYMITY_PROBE])
    return rows


def scores_table(transaction_ids: pa.Array | pa.ChunkedArray, decisions: Decisions) -> pa.Table:
    """The contract's scores table for these events."""
    n = len(decisions.score)
    return pa.Table.from_arrays(
        [
            transaction_ids,
            pa.array(decisions.score, pa.float64()),
            pa.array(decisions.flagged),
            pa.array(decisions.predicted_names, pa.string()),
            pa.array(decisions.xgb_score, pa.float64()),
            pa.nulls(n, pa.float64()),
            pa.array([[]] * n, pa.list_(pa.string())),
        ],
        schema=SCORE_SCHEMA,
    )
