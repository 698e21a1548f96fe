"""From class probabilities to the contract's score columns."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

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
    """Per-event score, flag and most likely typology, and which detector spoke."""

    score: F64
    xgb_score: F64
    flagged: npt.NDArray[np.bool_]
    predicted: I64
    #: the supervised score reaches its own threshold: a known pattern
    known: npt.NDArray[np.bool_]
    #: calibrated anomaly score (None without an autoencoder) and its novelty flag
    ae_score: F64 | None = None
    novel: npt.NDArray[np.bool_] | None = None
    #: the threshold each row's score was held against
    threshold: F64 | None = None

    @property
    def predicted_names(self) -> npt.NDArray[np.object_]:
        """Typology names of `predicted`."""
        return TYPOLOGY_NAMES[self.predicted]


def detector_label(known: bool, novel: bool) -> str:
    """Which detector raised an event or alert: known pattern, novel anomaly, or both;
    "combined score" when only the ensemble of the two crossed its threshold."""
    if known:
        return BOTH if novel else KNOWN
    return NOVEL if novel else COMBINED


KNOWN = "known pattern"
NOVEL = "novel anomaly"
BOTH = "known pattern and novel anomaly"
COMBINED = "combined score"


def decide(
    detector: SupervisedDetector,
    features: F32,
    scoring: ScoringConfig,
    ae_score: F64 | None = None,
) -> Decisions:
    """Score rows, flag those reaching the threshold and name the flagged rows' typology.

    With an anomaly score and an ensemble threshold the ensemble decides; otherwise the
    supervised score alone does.
    """
    xgb_score = detector.score(features, scoring.cascade)
    anonymous = anonymous_rows(features)
    known = xgb_score >= _thresholds(
        anonymous, scoring.alert_threshold, scoring.anonymous_threshold
    )
    novel = None
    if ae_score is not None and scoring.ensemble_threshold is not None:
        w = scoring.ensemble_weight
        score = w * xgb_score + (1 - w) * ae_score
        threshold = _thresholds(
            anonymous, scoring.ensemble_threshold, scoring.anonymous_ensemble_threshold
        )
        flagged = score >= threshold
        novel = ae_score >= scoring.novelty_level
    else:
        threshold = _thresholds(anonymous, scoring.alert_threshold, scoring.anonymous_threshold)
        score, flagged = xgb_score, known
    predicted = np.full(len(score), NONE_CLASS, dtype=np.int64)
    predicted[flagged] = detector.typology(features[flagged])
    return Decisions(score, xgb_score, flagged, predicted, known, ae_score, novel, threshold)


class RiskLevel(StrEnum):
    """How urgent a score is, relative to the threshold it was held against."""

    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


def risk_bands(threshold: float) -> list[tuple[RiskLevel, float]]:
    """Each risk level with the lowest score it starts at, most urgent first: CRITICAL in
    the upper half of the way from the threshold to 1, HIGH once flagged, MEDIUM from half
    the threshold, LOW below."""
    return [
        (RiskLevel.CRITICAL, (1.0 + threshold) / 2),
        (RiskLevel.HIGH, threshold),
        (RiskLevel.MEDIUM, threshold / 2),
        (RiskLevel.LOW, 0.0),
    ]


def risk_level(score: float, threshold: float) -> RiskLevel:
    """The risk level of a score held against a threshold (see `risk_bands`)."""
    return next(level for level, low in risk_bands(threshold) if score >= low)


def _thresholds(anonymous: npt.NDArray[np.bool_], known: float, unknown: float | None) -> F64:
    threshold = np.full(len(anonymous), known)
    if unknown is not None:
        threshold[anonymous] = unknown
    return threshold


def anonymous_rows(features: F32) -> npt.NDArray[np.bool_]:
    """Rows whose trader is unknown: their trader features are missing."""
    rows: npt.NDArray[np.bool_] = np.isnan(features[:, ANONYMITY_PROBE])
    return rows


def scores_table(
    transaction_ids: pa.Array | pa.ChunkedArray,
    decisions: Decisions,
    rule_hits: pa.Array | None = None,
) -> pa.Table:
    """The contract's scores table for these events."""
    n = len(decisions.score)
    return pa.Table.from_arrays(
        [
            transaction_ids,
            pa.array(decisions.score, pa.float64()),
            pa.array(decisions.flagged),
            pa.array(decisions.predicted_names, pa.string()),
            pa.array(decisions.xgb_score, pa.float64()),
            pa.nulls(n, pa.float64())
            if decisions.ae_score is None
            else pa.array(decisions.ae_score, pa.float64()),
            rule_hits if rule_hits is not None else pa.array([[]] * n, pa.list_(pa.string())),
        ],
        schema=SCORE_SCHEMA,
    )
