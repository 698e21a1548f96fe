"""The compiled forest gives XGBoost's own margins, digit for digit, early exits included."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb

from tapewatch.detect.forest import Forest


def _booster(objective: str, labels: np.ndarray, x: np.ndarray, **extra: object) -> xgb.Booster:
    params = {"objective": objective, "max_depth": 4, "nthread": 1, "seed": 0, **extra}
    return xgb.train(params, xgb.DMatrix(x, label=labels), num_boost_round=40)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(700, 9)).astype(np.float32)
    # missing values take each node's learned default branch, both ways
    x[rng.random(x.shape) < 0.15] = np.nan
    y = (np.nan_to_num(x[:, 0]) + np.nan_to_num(x[:, 1]) > 0).astype(np.int64)
    return x, y + (np.nan_to_num(x[:, 2]) > 1)


@pytest.mark.parametrize("rounds", [(0, 0), (0, 10), (10, 40), (39, 40)])
def test_binary_margins_equal_xgboost(
    data: tuple[np.ndarray, np.ndarray], rounds: tuple[int, int]
) -> None:
    x, y = data
    booster = _booster("binary:logistic", (y > 0).astype(np.int64), x)
    forest = Forest.from_booster(booster)
    x = x.copy()
    x[:5, 4] = np.inf  # XGBoost trains on finite values, but may be asked about any
    # a block of columns of a wider matrix, as the detector passes its feature columns
    wide = np.zeros((len(x), 14), dtype=np.float32)
    wide[:, 3:12] = x
    block = wide[:, 3:12]
    assert not block.flags.c_contiguous
    want = booster.inplace_predict(x, predict_type="margin", iteration_range=rounds)
    for rows in (block, x[:1], x[:65]):
        got = forest.margins(rows, rounds)
        np.testing.assert_array_equal(got, want[: len(rows)])


def test_both_default_branches_are_taken(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = data
    forest = Forest.from_booster(_booster("binary:logistic", (y > 0).astype(np.int64), x))
    splits = forest.nodes[forest.nodes[:, 0] != np.arange(len(forest.nodes))]
    assert (splits[:, 2] < 0).any()
    assert (splits[:, 2] >= 0).any()


def test_multiclass_margins_equal_xgboost(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = data
    booster = _booster("multi:softprob", y, x, num_class=3)
    forest = Forest.from_booster(booster)
    assert (forest.n_groups, forest.n_rounds, forest.n_trees) == (3, 40, 120)
    for rounds in ((0, 0), (5, 17)):
        want = booster.inplace_predict(x, predict_type="margin", iteration_range=rounds)
        np.testing.assert_array_equal(forest.margins(x, rounds), want)
    probabilities = booster.inplace_predict(x)
    np.testing.assert_array_equal(forest.margins(x).argmax(axis=1), probabilities.argmax(axis=1))


def test_cascade_is_the_staged_sum_with_early_exits(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = data
    booster = _booster("binary:logistic", (y > 0).astype(np.int64), x)
    forest = Forest.from_booster(booster)
    base = float(forest.base[0])
    ends = np.array([5, 15, 40], dtype=np.int64)
    cutoffs = np.array([-1.0, 0.5, -np.inf])

    # the same by XGBoost: each range's margin carries the base once
    def part(rows: np.ndarray, begin: int, end: int) -> np.ndarray:
        out = booster.inplace_predict(x[rows], predict_type="margin", iteration_range=(begin, end))
        return np.asarray(out, dtype=np.float64)

    want = part(np.arange(len(x)), 0, 5)
    alive = np.flatnonzero(want >= -1.0)
    want[alive] += part(alive, 5, 15) - base
    alive = alive[want[alive] >= 0.5]
    want[alive] += part(alive, 15, 40) - base
    assert 0 < len(alive) < len(x)

    got = forest.cascade(x, ends, cutoffs, base)
    np.testing.assert_array_equal(got, want)
    # every row runs every tree when no stage lets it leave
    full = forest.cascade(x, ends, np.full(3, -np.inf), base)
    np.testing.assert_allclose(full, forest.margins(x), rtol=0, atol=1e-5)


def test_wrong_width_and_categorical_models_are_refused(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    x, y = data
    forest = Forest.from_booster(_booster("binary:logistic", (y > 0).astype(np.int64), x))
    with pytest.raises(ValueError, match="9 features"):
        forest.margins(x[:, :8])
    assert forest.margins(x[:0]).shape == (0,)
    cats = np.random.default_rng(1).integers(0, 4, size=(200, 1))
    matrix = xgb.DMatrix(
        cats.astype(np.float32),
        label=(cats[:, 0] == 2),
        feature_types=["c"],
        enable_categorical=True,
    )
    categorical = xgb.train({"max_depth": 2, "tree_method": "hist"}, matrix, num_boost_round=3)
    with pytest.raises(ValueError, match="categorical"):
        Forest.from_booster(categorical)


def test_path_contributions_are_xgboost_approximate_contributions(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    x, y = data
    booster = _booster("binary:logistic", (y > 0).astype(np.int64), x)
    forest = Forest.from_booster(booster)
    got = forest.path_contributions(x)
    want = booster.predict(xgb.DMatrix(x), pred_contribs=True, approx_contribs=True)
    assert got.shape == want.shape == (len(x), 10)
    # the same terms, added up in another order
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    np.testing.assert_allclose(got.sum(axis=1), forest.margins(x), rtol=0, atol=1e-4)
    assert np.count_nonzero(got[:, :-1]) > len(x)  # features do get credit
