"""The recurrent LSTM autoencoder: ONNX Runtime agrees with PyTorch, state carries over
batches, training lowers the error, unusual events score high."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tapewatch.detect.anomaly import AnomalyDetector, AutoencoderConfig
from tapewatch.detect.autoencoder import Sequences, TrainedAutoencoder, torch_errors
from tapewatch.detect.autoencoder import train_autoencoder as fit

C = 10
K = 6
CONFIG = AutoencoderConfig(window=K, hidden=8, bottleneck=4, max_epochs=8, batch_size=32)


def key_rows(n_keys: int, length: int, seed: int) -> np.ndarray:
    """Each key's feature rows (keys x length x C): a smooth, correlated process with a
    heavy-tailed count and a sometimes-missing feature."""
    rng = np.random.default_rng(seed)
    level = rng.normal(size=(n_keys, 1, C))
    drift = np.cumsum(rng.normal(scale=0.1, size=(n_keys, length, C)), axis=1)
    rows = (level + drift).astype(np.float32)
    rows[:, :, 0] = np.exp(rows[:, :, 0]) * 50
    rows[rng.random((n_keys, length)) < 0.1, 1] = np.nan
    return rows


def sequences(n_keys: int, seed: int) -> Sequences:
    rows = key_rows(n_keys, 2 * K, seed)
    train = np.zeros(rows.shape[:2], dtype=bool)
    train[:, K:] = True  # the first K steps warm the state up
    valid = np.zeros_like(train)
    valid[-n_keys // 5 :], train[-n_keys // 5 :] = train[-n_keys // 5 :], False
    return Sequences(rows, train, valid)


@pytest.fixture(scope="module")
def trained() -> TrainedAutoencoder:
    return fit(sequences(1500, 1), CONFIG)


def detector_of(
    model: TrainedAutoencoder, calibration: np.ndarray | None = None
) -> AnomalyDetector:
    cal = np.array([0.0, 1.0]) if calibration is None else calibration
    return AnomalyDetector(model.onnx_model, cal, tuple(range(C)), model.scaling, CONFIG)


def interleaved(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keys' rows as one event stream: (slots, times, features), keys interleaved."""
    n_keys, length, _ = rows.shape
    slots = np.tile(np.arange(n_keys), length)
    ts = np.repeat(np.arange(length, dtype=np.float64), n_keys)
    features = rows.transpose(1, 0, 2).reshape(-1, C)
    return slots, ts, np.ascontiguousarray(features)


def test_onnx_runtime_agrees_with_pytorch_to_1e_4_across_batches(
    trained: TrainedAutoencoder,
) -> None:
    rows = key_rows(40, 30, 3)
    rows[5, 7, 3] = 1e6  # an extreme value is clipped the same way by both
    slots, ts, features = interleaved(rows)
    state = detector_of(trained).state()
    parts = [  # uneven batches, so state crosses batch boundaries mid-key
        state.advance(slots[a:b], ts[a:b], features[a:b], 1e9).errors
        for a, b in [(0, 7), (7, 300), (300, 301), (301, len(slots))]
    ]
    onnx = np.concatenate(parts).reshape(30, 40, C).transpose(1, 0, 2)
    assert np.isfinite(onnx).all()
    for key in range(40):
        torch, _, _ = torch_errors(trained.module, rows[key])
        np.testing.assert_allclose(onnx[key], torch, atol=1e-4, rtol=0)


@settings(max_examples=10, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=6))
def test_any_batch_split_gives_the_same_errors(
    trained: TrainedAutoencoder, sizes: list[int]
) -> None:
    slots, ts, features = interleaved(key_rows(30, 40, 4))
    # some keys go idle for a while, so one batch can hold a key's carried history and,
    # after the gap, its fresh restart (shorter, so it runs first)
    rng = np.random.default_rng(0)
    ts = ts + 100.0 * (ts > rng.integers(5, 35, size=30)[slots]) * (slots % 3 == 0)
    detector = detector_of(trained)
    whole = detector.errors_of(slots, ts, features, 50.0)
    state, parts, start = detector.state(), [], 0
    for size in [*sizes, len(slots)]:
        end = min(start + size, len(slots))
        parts.append(
            state.advance(slots[start:end], ts[start:end], features[start:end], 50.0).errors
        )
        start = end
        if start >= len(slots):
            break
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_training_lowers_the_validation_error_and_stops_early(trained: TrainedAutoencoder) -> None:
    assert 1 <= trained.epochs <= CONFIG.max_epochs
    untrained = fit(
        sequences(200, 1),
        AutoencoderConfig(window=K, hidden=8, bottleneck=4, max_epochs=1, learning_rate=1e-6),
    )
    assert trained.valid_loss < 0.8 * untrained.valid_loss


def test_events_unusual_for_their_key_score_higher_than_normal_ones(
    trained: TrainedAutoencoder,
) -> None:
    first = detector_of(trained)
    reference = first.errors_of(*interleaved(key_rows(200, 20, 5)), 1e9).mean(axis=1)
    detector = detector_of(trained, reference)
    normal = detector.score(detector.errors_of(*interleaved(key_rows(100, 20, 6)), 1e9))
    odd_rows = key_rows(100, 20, 7)
    odd_rows[:, :, 2] = np.where(np.arange(20) % 2 == 0, 8.0, -8.0)  # a flickering feature
    unusual = detector.score(detector.errors_of(*interleaved(odd_rows), 1e9))
    assert np.median(unusual) > 0.95 > np.median(normal)
    assert ((normal >= 0) & (normal <= 1)).all()


def test_an_idle_key_starts_afresh(trained: TrainedAutoencoder) -> None:
    rows = key_rows(1, 12, 8)[0]
    detector = detector_of(trained)
    slots = np.zeros(12, dtype=np.int64)
    gap = np.r_[np.arange(6.0), 1000 + np.arange(6.0)]  # 994 s between the halves
    errors = detector.errors_of(slots, gap, rows, idle_seconds=60.0)
    second_half, _, _ = torch_errors(trained.module, rows[6:])
    np.testing.assert_allclose(errors[6:], second_half, atol=1e-4)
    carried, _, _ = torch_errors(trained.module, rows)
    assert not np.allclose(errors[6:], carried[6:], atol=1e-4)
