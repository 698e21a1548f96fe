"""Numeric building blocks of detection evaluation: ratios, thresholds, PR-AUC, episodes.

Everything here works on plain numpy arrays and returns ``None`` for a metric that is
undefined (an empty denominator), never a made-up 0 or 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import binomtest
from sklearn.metrics import average_precision_score

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def ratio(numerator: float, denominator: float) -> float | None:
    """Return numerator / denominator, or None when the denominator is zero."""
    if denominator == 0:
        return None
    return float(numerator) / float(denominator)


@dataclass(frozen=True)
class Interval:
    """A confidence interval of a share, both ends included."""

    low: float
    high: float


def recall_interval(n_caught: int, n_total: int, confidence: float = 0.95) -> Interval | None:
    """Wilson score interval of a recall of ``n_caught`` out of ``n_total``; None for none.

    With 91 episodes one episode is 1.1 points, so a recall near a target is read with it."""
    if n_total == 0:
        return None
    ci = binomtest(n_caught, n_total).proportion_ci(confidence_level=confidence, method="wilson")
    return Interval(float(ci.low), float(ci.high))


def f1(precision: float | None, recall: float | None) -> float | None:
    """Harmonic mean of precision and recall; None if either is undefined."""
    if precision is None or recall is None:
        return None
    if precision + recall == 0.0:
        return 0.0
    return 2.0 * precision * recall / (precision + recall)


def mean_defined(values: list[float | None]) -> float | None:
    """Mean of the values that are defined; None if none are."""
    defined = [v for v in values if v is not None]
    if not defined:
        return None
    return float(sum(defined) / len(defined))


def threshold_at_fpr(negative_scores: FloatArray, fpr: float) -> float | None:
    """Lowest threshold with at most ``fpr`` of the negatives scoring at or above it.

    With ``n`` negatives, ``k = floor(fpr * n)`` may reach the threshold. The answer is the
    lowest negative score ``v`` with at most ``k`` negatives ``>= v``; when ties make that
    impossible (or ``k`` is 0) it is the next float above the highest score that must stay
    below it, so no more than ``k`` negatives are ever at or above the threshold. Returns
    None when there are no negatives.
    """
    n = int(negative_scores.size)
    if n == 0:
        return None
    # The epsilon keeps e.g. 0.57 * 100 == 56.999... from losing an event to rounding.
    k = min(n, math.floor(fpr * n + 1e-9))
    if k == 0:
        return float(np.nextafter(negative_scores.max(), np.inf))
    if k == n:
        return float(negative_scores.min())
    kth_highest = float(np.partition(negative_scores, n - k)[n - k])
    if int(np.count_nonzero(negative_scores >= kth_highest)) <= k:
        return kth_highest
    # Ties at the k-th highest score would let too many negatives through: move up to the
    # next distinct score (at most k - 1 negatives are strictly above the tie).
    above = negative_scores[negative_scores > kth_highest]
    if above.size:
        return float(above.min())
    return float(np.nextafter(kth_highest, np.inf))


def average_precision(
    positive: BoolArray, scores: FloatArray, *, sorted_ascending: bool = False
) -> float | None:
    """PR-AUC (sklearn's average precision) of ``scores`` for ``positive``.

    None when there are no positives or no negatives: the figure then says nothing about
    separating the two. With ``sorted_ascending`` (scores in ascending order) it runs in
    linear time: sklearn's stable sort is linear on sorted input, and negatives below the
    lowest-scoring positive, which never enter a precision at a positive's threshold, are
    dropped before the call without changing the result.
    """
    n_pos = int(np.count_nonzero(positive))
    if n_pos == 0 or n_pos == positive.size:
        return None
    if sorted_ascending:
        # Keep negatives tied with the lowest positive: they share its threshold.
        lowest = scores[int(np.argmax(positive))]
        first = int(np.searchsorted(scores, lowest, side="left"))
        positive, scores = positive[first:], scores[first:]
    return float(average_precision_score(positive, scores))


@dataclass(frozen=True)
class EpisodeOutcomes:
    """Per-episode results: the episode's typology and whether and how it was caught."""

    typology: IntArray
    caught: BoolArray
    caught_at_fpr: BoolArray
    typed_correctly: BoolArray
    n_mixed: int

    @property
    def n_episodes(self) -> int:
        """Number of episodes."""
        return int(self.typology.size)


def episode_outcomes(
    episode: IntArray,
    true_type: IntArray,
    predicted_type: IntArray,
    flagged: BoolArray,
    above_fpr_threshold: BoolArray,
    *,
    n_episodes: int,
    n_types: int,
) -> EpisodeOutcomes:
    """Roll event results up to episodes (all arrays hold only episode members).

    ``episode`` holds episode codes ``0..n_episodes-1``, the type arrays class codes
    ``0..n_types-1``. An episode's typology is its events' most common true type (ties go
    to the lower code); it is caught when any event is flagged (or at or above the FPR
    threshold), and typed correctly when it is caught and its typology is strictly the most
    common ``predicted_type`` among its flagged events.
    """
    shape = (n_episodes, n_types)
    rows = np.arange(n_episodes)

    true_counts = np.bincount(episode * n_types + true_type, minlength=n_episodes * n_types)
    true_counts = true_counts.reshape(shape)
    typology = true_counts.argmax(axis=1).astype(np.int64)
    n_mixed = int(np.count_nonzero((true_counts > 0).sum(axis=1) > 1))

    caught = np.bincount(episode[flagged], minlength=n_episodes) > 0
    caught_at_fpr = np.bincount(episode[above_fpr_threshold], minlength=n_episodes) > 0

    flagged_codes = episode[flagged] * n_types + predicted_type[flagged]
    predicted_counts = np.bincount(flagged_codes, minlength=n_episodes * n_types).reshape(shape)
    own = predicted_counts[rows, typology]
    others = predicted_counts.copy()
    others[rows, typology] = -1
    typed_correctly = caught & (own > others.max(axis=1, initial=-1))

    return EpisodeOutcomes(
        typology=typology,
        caught=caught,
        caught_at_fpr=caught_at_fpr,
        typed_correctly=typed_correctly,
        n_mixed=n_mixed,
    )
