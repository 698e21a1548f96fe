"""Training copies without trader features: which rows, which columns."""

from __future__ import annotations

import numpy as np

from tapewatch.features.catalog import FEATURE_NAMES, N_FEATURES, TRADER_FEATURES
from tapewatch.learn.train import WASH_CLASS, with_anonymous_copies


def test_copies_mask_trader_columns_and_skip_wash_trades() -> None:
    rng = np.random.default_rng(0)
    features = rng.random((2000, N_FEATURES)).astype(np.float32)
    classes = rng.integers(0, 7, 2000)
    out, out_classes = with_anonymous_copies(features, classes, 0.5, np.random.default_rng(1))
    copies, copy_classes = out[2000:], out_classes[2000:]
    assert np.array_equal(out[:2000], features)
    assert 700 < len(copies) < 1000  # about half of the non-wash rows
    assert WASH_CLASS not in copy_classes
    trader = [FEATURE_NAMES.index(n) for n in TRADER_FEATURES]
    others = [j for j in range(N_FEATURES) if j not in trader]
    assert np.isnan(copies[:, trader]).all()
    assert np.isfinite(copies[:, others]).all()


def test_a_zero_share_adds_nothing() -> None:
    features = np.zeros((10, N_FEATURES), dtype=np.float32)
    classes = np.zeros(10, dtype=np.int64)
    out, _ = with_anonymous_copies(features, classes, 0.0, np.random.default_rng(0))
    assert out is features
