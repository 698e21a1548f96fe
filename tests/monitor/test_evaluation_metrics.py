"""Numeric building blocks of evaluation: thresholds, PR-AUC, ratios."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score

from tapewatch.monitor.metrics import (
    Interval,
    average_precision,
    f1,
    mean_defined,
    ratio,
    recall_interval,
    threshold_at_fpr,
)

Z95 = 1.959963984540054  # the normal quantile of 0.975


def as_pair(interval: Interval | None) -> tuple[float, float]:
    assert interval is not None
    return interval.low, interval.high


def wilson_by_hand(k: int, n: int) -> tuple[float, float]:
    """The Wilson score interval as textbooks write it."""
    p = k / n
    centre = p + Z95**2 / (2 * n)
    spread = Z95 * np.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n))
    return (centre - spread) / (1 + Z95**2 / n), (centre + spread) / (1 + Z95**2 / n)


def share_at_or_above(scores: np.ndarray, threshold: float | None) -> float:
    assert threshold is not None
    return float(np.mean(scores >= threshold))


def test_threshold_on_distinct_scores_admits_exactly_k() -> None:
    scores = np.arange(1000, dtype=np.float64) / 1000
    threshold = threshold_at_fpr(scores, 0.005)
    assert threshold == pytest.approx(0.995)
    assert share_at_or_above(scores, threshold) == 0.005


def test_threshold_rounding_does_not_lose_an_event() -> None:
    scores = np.arange(100, dtype=np.float64)
    # 0.57 * 100 is 56.99999999999999 in floating point.
    assert share_at_or_above(scores, threshold_at_fpr(scores, 0.57)) == pytest.approx(0.57)


def test_threshold_moves_above_ties_rather_than_exceed_the_rate() -> None:
    scores = np.array([0.1] * 90 + [0.7] * 5 + [0.9] * 5)
    # 10% allowed = 10 events; 0.7 admits exactly 10.
    assert threshold_at_fpr(scores, 0.10) == 0.7
    # 8% allowed = 8 events; 0.7 would admit 10, so the threshold is the next score, 0.9.
    assert threshold_at_fpr(scores, 0.08) == 0.9
    # 3% allowed = 3 events; even 0.9 admits 5: the threshold goes just above 0.9.
    threshold = threshold_at_fpr(scores, 0.03)
    assert threshold is not None
    assert threshold > 0.9
    assert share_at_or_above(scores, threshold) == 0.0


def test_threshold_edge_rates() -> None:
    scores = np.array([0.2, 0.4, 0.6])
    zero = threshold_at_fpr(scores, 0.0)
    assert zero is not None
    assert zero > 0.6
    assert share_at_or_above(scores, zero) == 0.0
    assert threshold_at_fpr(scores, 1.0) == 0.2
    # 3 events at 0.5% allow none through.
    assert share_at_or_above(scores, threshold_at_fpr(scores, 0.005)) == 0.0
    assert threshold_at_fpr(np.array([], dtype=np.float64), 0.005) is None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 20), min_size=1, max_size=300),
    st.floats(0.0, 1.0),
)
def test_threshold_never_exceeds_the_rate_and_is_tight(values: list[int], fpr: float) -> None:
    scores = np.array(values, dtype=np.float64) / 20
    threshold = threshold_at_fpr(scores, fpr)
    assert threshold is not None
    admitted = int(np.count_nonzero(scores >= threshold))
    allowed = int(np.floor(fpr * scores.size + 1e-9))
    assert admitted <= allowed
    # No lower data value would also stay within the rate.
    lower = scores[scores < threshold]
    if lower.size:
        assert int(np.count_nonzero(scores >= lower.max())) > allowed


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 10)), min_size=2, max_size=200))
def test_sorted_average_precision_matches_sklearn(pairs: list[tuple[bool, int]]) -> None:
    positive = np.array([p for p, _ in pairs], dtype=np.bool_)
    scores = np.array([s for _, s in pairs], dtype=np.float64) / 10  # plenty of ties
    expected = None
    if 0 < positive.sum() < positive.size:
        expected = float(average_precision_score(positive, scores))
    assert average_precision(positive, scores) == expected
    order = np.argsort(scores, kind="stable")
    fast = average_precision(positive[order], scores[order], sorted_ascending=True)
    if expected is None:
        assert fast is None
    else:
        assert fast == pytest.approx(expected, abs=1e-12)


def test_undefined_figures_are_none() -> None:
    assert ratio(1, 0) is None
    assert ratio(0, 4) == 0.0
    assert f1(None, 0.5) is None
    assert f1(0.0, 0.0) == 0.0
    assert f1(0.5, 1.0) == pytest.approx(2 / 3)
    assert mean_defined([None, None]) is None
    assert mean_defined([None, 0.5, 1.0]) == 0.75


def test_recall_interval_is_the_wilson_interval() -> None:
    # 89 of 91 episodes: 97.8 %, and the data cannot tell it from 92 % or from 99 %.
    interval = recall_interval(89, 91)
    assert interval is not None
    low, high = interval.low, interval.high
    assert (low, high) == pytest.approx(wilson_by_hand(89, 91))
    assert 0.92 < low < 0.93
    assert 0.99 < high < 0.995
    # all caught: the upper end is 1, the lower 1 / (1 + z^2 / n)
    assert as_pair(recall_interval(5, 5)) == pytest.approx((1 / (1 + Z95**2 / 5), 1.0))
    assert as_pair(recall_interval(0, 4)) == pytest.approx((0.0, wilson_by_hand(0, 4)[1]))
    assert recall_interval(0, 0) is None


@given(st.integers(1, 5000), st.data())
def test_recall_interval_holds_the_recall(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(0, n))
    low, high = as_pair(recall_interval(k, n))
    assert 0.0 <= low <= k / n <= high <= 1.0
    assert (low, high) == pytest.approx(wilson_by_hand(k, n), abs=1e-9)
