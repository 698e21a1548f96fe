"""TreeSHAP from precomputed tables gives XGBoost's own `pred_contribs`."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb
from hypothesis import given, settings
from hypothesis import strategies as st

from tapewatch.detect.forest import Forest
from tapewatch.detect.supervised import SupervisedDetector, XGBoostConfig
from tapewatch.detect.treeshap import ShapTables
from tapewatch.features.catalog import FEATURE_NAMES


def _data(seed: int, n: int = 600, width: int = 8) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, width)).astype(np.float32)
    x[rng.random(x.shape) < 0.15] = np.nan  # missing values take the default branches
    # an interaction and a repeated threshold feature, so paths test a feature twice
    a, b = np.nan_to_num(x[:, 0]), np.nan_to_num(x[:, 1])
    return x, (a * b + np.abs(a + b) > 0.8).astype(np.int64)


def _tables(booster: xgb.Booster) -> tuple[Forest, ShapTables]:
    forest = Forest.from_booster(booster)
    tables = ShapTables.build(forest)
    assert tables is not None
    return forest, tables


@settings(max_examples=12, deadline=None)
@given(st.integers(1, 7), st.integers(0, 1_000))
def test_table_contributions_are_xgboost_treeshap(depth: int, seed: int) -> None:
    x, y = _data(seed)
    params = {"objective": "binary:logistic", "max_depth": depth, "nthread": 1, "seed": seed}
    booster = xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=15)
    forest, tables = _tables(booster)
    got = tables.contributions(x)
    want = booster.predict(xgb.DMatrix(x), pred_contribs=True)
    assert got.shape == (len(x), x.shape[1])
    np.testing.assert_allclose(got, want[:, :-1], rtol=0, atol=1e-5)
    # with the bias, they add up to the margin
    np.testing.assert_allclose(got.sum(axis=1) + want[:, -1], forest.margins(x), atol=1e-4)


def test_paths_that_test_a_feature_twice_are_covered() -> None:
    x, y = _data(3, width=2)  # two features, depth 6: every deep path repeats one
    params = {"objective": "binary:logistic", "max_depth": 6, "nthread": 1, "seed": 0}
    booster = xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=10)
    forest, tables = _tables(booster)
    assert tables.n_distinct.max() == 2
    assert forest.depths.max() > 2
    want = booster.predict(xgb.DMatrix(x), pred_contribs=True)[:, :-1]
    np.testing.assert_allclose(tables.contributions(x), want, rtol=0, atol=1e-5)


def test_tables_too_large_are_not_built() -> None:
    x, y = _data(4)
    params = {"objective": "binary:logistic", "max_depth": 6, "nthread": 1, "seed": 0}
    forest = Forest.from_booster(xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=5))
    assert ShapTables.build(forest, max_values=10) is None
    assert ShapTables.build(forest) is not None


@pytest.mark.parametrize("max_values", [None, 10])
def test_the_detector_s_exact_contributions_are_xgboost_s(
    max_values: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With tables, and with XGBoost when the tables would be too large."""
    if max_values is not None:
        monkeypatch.setattr("tapewatch.detect.treeshap.MAX_TABLE_VALUES", max_values)
    rng = np.random.default_rng(5)
    n = 800
    rows = rng.normal(size=(n, len(FEATURE_NAMES))).astype(np.float32)
    classes = np.zeros(n, dtype=np.int64)
    classes[rows[:, 3] > 1.0] = 1
    classes[rows[:, 5] > 1.2] = 2
    config = XGBoostConfig(n_estimators=20, typology_estimators=5, n_jobs=1)
    detector = SupervisedDetector(config).fit(rows[:600], classes[:600], rows[600:], classes[600:])
    got = detector.contributions(rows[:50])
    matrix = xgb.DMatrix(detector._select(rows[:50]), feature_names=list(detector.features))
    want = detector.screen.predict(matrix, pred_contribs=True)[:, :-1]
    np.testing.assert_allclose(got[:, detector._columns], want, rtol=0, atol=1e-5)
    assert (detector._shap_tables() is None) == (max_values is not None)
