"""The direct dense predictor gives XGBoost's own predictions, digit for digit."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb

from tapewatch.detect.dense_predict import DensePredictor


def _booster(objective: str, labels: np.ndarray, x: np.ndarray, **extra: object) -> xgb.Booster:
    params = {"objective": objective, "max_depth": 3, "nthread": 1, "seed": 0, **extra}
    return xgb.train(params, xgb.DMatrix(x, label=labels), num_boost_round=30)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 9)).astype(np.float32)
    x[rng.random(x.shape) < 0.1] = np.nan
    y = (np.nan_to_num(x[:, 0]) + np.nan_to_num(x[:, 1]) > 0).astype(np.int64)
    return x, y + (np.nan_to_num(x[:, 2]) > 1)


@pytest.mark.parametrize("rounds", [(0, 0), (0, 10), (10, 30)])
def test_binary_margins_and_probabilities_match_inplace_predict(
    data: tuple[np.ndarray, np.ndarray], rounds: tuple[int, int]
) -> None:
    x, y = data
    booster = _booster("binary:logistic", (y > 0).astype(np.int64), x)
    predict = DensePredictor(booster)
    # a block of columns of a wider matrix, as the detector passes its feature columns
    wide = np.zeros((len(x), 14), dtype=np.float32)
    wide[:, 3:12] = x
    block = wide[:, 3:12]
    assert not block.flags.c_contiguous
    for margin in (True, False):
        kind = "margin" if margin else "value"
        want = booster.inplace_predict(x, predict_type=kind, iteration_range=rounds)
        got = predict(block, rounds, margin=margin)
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)


def test_multiclass_probabilities_keep_their_shape(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = data
    booster = _booster("multi:softprob", y, x, num_class=3)
    got = DensePredictor(booster)(x[:7])
    assert got.shape == (7, 3)
    np.testing.assert_array_equal(got, booster.inplace_predict(x[:7]))
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-5)


def test_each_result_is_its_own_copy(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = data
    predict = DensePredictor(_booster("binary:logistic", (y > 0).astype(np.int64), x))
    first = predict(x[:5], margin=True)
    kept = first.copy()
    predict(x[5:50], margin=True)  # XGBoost reuses its output buffer
    np.testing.assert_array_equal(first, kept)
    assert len(predict(x[:0])) == 0
