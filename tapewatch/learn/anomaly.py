"""Training the anomaly detector on the likely-normal events of a (real, unlabelled) day."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from tapewatch.detect.anomaly import AnomalyDetector, AutoencoderConfig
from tapewatch.detect.autoencoder import Sequences, train_autoencoder
from tapewatch.features.config import FeatureConfig
from tapewatch.features.engine import trader_slots
from tapewatch.features.sequences import KeyClock, Segments
from tapewatch.learn.split import split_rows

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]
#: share of time blocks held out to stop training and calibrate the score, and block length
VALID_SHARE = 0.2
BLOCK_SECONDS = 60


@dataclass(frozen=True)
class AnomalyFit:
    """The fitted detector and what its training saw."""

    detector: AnomalyDetector
    summary: dict[str, Any]
    #: each event's reconstruction error (mean over the columns), from the scoring path
    mean_errors: F64


def fit_anomaly_detector(
    events: pa.Table,
    features: F32,
    xgb_scores: F64,
    *,
    feature_config: FeatureConfig,
    columns: tuple[int, ...],
    config: AutoencoderConfig,
    source: str,
    on_epoch: Callable[[int, float, float], None] | None = None,
) -> AnomalyFit:
    """Train on events the supervised screen finds likely normal; calibrate on held-out ones.

    Events are split by time block (instrument and minute), never by row: events in
    training blocks are the network's targets; events in validation blocks stop it early
    and calibrate its score, so the calibration sample is normal data the network was
    never fitted to. Short blocks spread it over the whole day and every instrument.
    """
    normal = xgb_scores < config.normal_below
    if not normal.any():
        raise ValueError(
            f"no event scores below {config.normal_below}: nothing to learn normal from"
        )
    split = split_rows(events, valid_share=VALID_SHARE, test_share=0.0, block_seconds=BLOCK_SECONDS)
    held_out = np.zeros(len(normal), dtype=bool)
    held_out[split.valid] = True
    slots, ts = trader_slots(events, feature_config.timezone)
    idle = feature_config.evict_idle_seconds
    segments = KeyClock().segments(slots, ts, idle)
    index, target = training_sequences(segments, config.window)
    rng = np.random.default_rng(config.seed)
    index, target = _sample(index, target & normal[index], config.max_events, rng)
    if not (target & ~held_out[index]).any() or not (target & held_out[index]).any():
        raise ValueError("too few likely-normal events to train and calibrate the autoencoder")
    rows = np.where(index[..., None] >= 0, features[index][..., list(columns)], np.nan)
    sequences = Sequences(
        rows.astype(np.float32), target & ~held_out[index], target & held_out[index]
    )
    trained = train_autoencoder(sequences, config, on_epoch)
    uncalibrated = AnomalyDetector(
        trained.onnx_model, np.zeros(1), columns, trained.scaling, config
    )
    mean_errors = uncalibrated.errors_of(slots, ts, features, idle).mean(axis=1, dtype=np.float64)
    calibration = mean_errors[normal & held_out]
    detector = AnomalyDetector(trained.onnx_model, calibration, columns, trained.scaling, config)
    summary = {
        "trained_on": source,
        "likely_normal_events": int(normal.sum()),
        "events": {
            "train": int(sequences.train.sum()),
            "valid": int(sequences.valid.sum()),
            "calibration": len(calibration),
        },
        "sequences": len(index),
        "epochs": trained.epochs,
        "train_loss": round(trained.train_loss, 6),
        "valid_loss": round(trained.valid_loss, 6),
    }
    return AnomalyFit(detector, summary, mean_errors)


def training_sequences(segments: Segments, window: int) -> tuple[I64, B]:
    """Row indices (n x 2K, -1 padded) of training sequences, and which steps are targets.

    Each segment (one key's continuous history) is cut into runs of K target events; each
    run is preceded by up to K earlier events of the segment that only warm the state up.
    """
    lengths = segments.lengths
    n_runs = -(-lengths // window)
    segment = np.repeat(np.arange(len(lengths)), n_runs)
    run = np.arange(len(segment)) - np.repeat(np.cumsum(n_runs) - n_runs, n_runs)
    first_target = run * window
    begin = np.maximum(first_target - window, 0)
    end = np.minimum(first_target + window, lengths[segment])
    position = begin[:, None] + np.arange(2 * window)[None, :]
    real = position < end[:, None]
    index = np.where(real, segments.rows[segments.starts[segment][:, None] + position * real], -1)
    target = real & (position >= first_target[:, None])
    return index.astype(np.int64), target


def _sample(index: I64, target: B, max_events: int, rng: np.random.Generator) -> tuple[I64, B]:
    """Sequences with any target, in random order, up to `max_events` targets in all."""
    useful = np.flatnonzero(target.any(axis=1))
    order = rng.permutation(useful)
    within = np.cumsum(target[order].sum(axis=1)) <= max_events
    chosen = np.sort(order[within]) if within.any() else order[:1]
    return index[chosen], target[chosen]
