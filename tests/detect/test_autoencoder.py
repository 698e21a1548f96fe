"""The LSTM autoencoder: ONNX export agrees with PyTorch, training lowers the error."""

from __future__ import annotations

import numpy as np
import pytest

from tapewatch.detect.anomaly import AnomalyDetector, AutoencoderConfig
from tapewatch.detect.autoencoder import torch_feature_errors, train_autoencoder

C = 10
K = 6


def normal_windows(n: int, seed: int) -> np.ndarray:
    """Windows of a smooth, correlated process with heavy-tailed counts and gaps."""
    rng = np.random.default_rng(seed)
    level = rng.normal(size=(n, 1, C))
    drift = np.cumsum(rng.normal(scale=0.1, size=(n, K, C)), axis=1)
    w = (level + drift).astype(np.float32)
    w[:, :, 0] = np.exp(w[:, :, 0]) * 50  # a count-like feature
    w[rng.random((n, K)) < 0.1, 1] = np.nan  # a sometimes-missing feature
    w[: n // 10, : K // 2] = np.nan  # keys with short histories
    return w


@pytest.fixture(scope="module")
def trained() -> tuple:
    config = AutoencoderConfig(window=K, hidden=8, bottleneck=4, max_epochs=6, batch_size=128)
    return train_autoencoder(normal_windows(3000, 1), normal_windows(500, 2), config), config


def test_onnx_runtime_agrees_with_pytorch_to_1e_4(trained: tuple) -> None:
    model, _config = trained
    windows = normal_windows(700, 3)
    windows[5, -1, 3] = 1e6  # an extreme value is clipped the same way by both
    detector = AnomalyDetector(
        model.onnx_model, np.array([0.0, 1.0]), tuple(range(C)), K, model.scaling
    )
    # scoring standardises each row once, outside the graph; PyTorch does it inside
    onnx = detector.feature_errors(detector.standardise(windows))
    torch = torch_feature_errors(model.module, windows)
    assert onnx.shape == (700, C)
    assert np.isfinite(onnx).all()
    np.testing.assert_allclose(onnx, torch, atol=1e-4, rtol=0)


def test_training_lowers_the_validation_error_and_stops_early(trained: tuple) -> None:
    model, config = trained
    assert 1 <= model.epochs <= config.max_epochs
    untrained = train_autoencoder(
        normal_windows(300, 1),
        normal_windows(100, 2),
        AutoencoderConfig(window=K, hidden=8, bottleneck=4, max_epochs=1, learning_rate=1e-6),
    )
    assert model.valid_loss < 0.8 * untrained.valid_loss


def test_unusual_windows_score_higher_than_normal_ones(trained: tuple) -> None:
    model, _ = trained
    first = AnomalyDetector(model.onnx_model, np.array([1.0]), tuple(range(C)), K, model.scaling)
    reference = first.feature_errors(first.standardise(normal_windows(1000, 4))).mean(axis=1)
    detector = AnomalyDetector(model.onnx_model, reference, tuple(range(C)), K, model.scaling)
    normal = detector.score(detector.feature_errors(detector.standardise(normal_windows(500, 5))))
    odd = normal_windows(500, 6)
    odd[:, :, 2] = np.where(np.arange(K) % 2 == 0, 4.0, -4.0)  # a flickering feature
    unusual = detector.score(detector.feature_errors(detector.standardise(odd)))
    assert np.median(unusual) > 0.95 > np.median(normal)
    assert ((normal >= 0) & (normal <= 1)).all()


def test_standardisation_round_trips_unclipped_values(trained: tuple) -> None:
    model, _ = trained
    detector = AnomalyDetector(model.onnx_model, np.array([1.0]), tuple(range(C)), K, model.scaling)
    rows = normal_windows(200, 7)[:, -1, :]
    back = detector.unstandardise(detector.standardise(rows))
    np.testing.assert_allclose(back, rows, rtol=1e-4, atol=1e-5)  # NaN stays NaN
