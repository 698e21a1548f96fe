"""Training the anomaly detector on the likely-normal events of a (real, unlabelled) day."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from tapewatch.detect.anomaly import AnomalyDetector, AutoencoderConfig
from tapewatch.detect.autoencoder import train_autoencoder
from tapewatch.features.config import FeatureConfig
from tapewatch.features.engine import map_windows
from tapewatch.features.windows import SequenceBuffer
from tapewatch.learn.split import split_rows

F64 = npt.NDArray[np.float64]
#: share of time blocks held out to stop training and calibrate the score, and block length
VALID_SHARE = 0.2
BLOCK_SECONDS = 60


@dataclass(frozen=True)
class AnomalyFit:
    """The fitted detector and what its training saw."""

    detector: AnomalyDetector
    summary: dict[str, Any]


def fit_anomaly_detector(
    events: pa.Table,
    xgb_scores: F64,
    *,
    feature_config: FeatureConfig,
    columns: tuple[int, ...],
    config: AutoencoderConfig,
    source: str,
    on_epoch: Callable[[int, float, float], None] | None = None,
) -> AnomalyFit:
    """Train on windows the supervised screen finds likely normal; calibrate on held-out ones.

    Windows are split by time block (instrument and minute), never by row: training
    blocks fit the network; validation blocks stop it early and calibrate its score, so
    the calibration sample is normal data the network was never fitted to. Short blocks
    spread the calibration sample over the whole day and every instrument.
    """
    normal = xgb_scores < config.normal_below
    n_normal = int(normal.sum())
    if n_normal == 0:
        raise ValueError(
            f"no event scores below {config.normal_below}: nothing to learn normal from"
        )
    rng = np.random.default_rng(config.seed)
    picked = normal & (rng.random(len(normal)) < min(1.0, config.max_windows / n_normal))
    split = split_rows(events, valid_share=VALID_SHARE, test_share=0.0, block_seconds=BLOCK_SECONDS)
    held_out = np.zeros(len(normal), dtype=bool)
    held_out[split.valid] = True
    parts = map_windows(
        events,
        feature_config,
        SequenceBuffer(config.window, columns),
        picked,
        lambda _, windows: windows,
    )
    windows = (
        np.concatenate(parts) if parts else np.empty((0, config.window, len(columns)), np.float32)
    )
    train, valid = windows[~held_out[picked]], windows[held_out[picked]]
    if min(len(train), len(valid)) == 0:
        raise ValueError("too few likely-normal events to train and calibrate the autoencoder")
    trained = train_autoencoder(train, valid, config, on_epoch)
    uncalibrated = AnomalyDetector(
        trained.onnx_model, np.zeros(1), columns, config.window, trained.scaling
    )
    errors = uncalibrated.feature_errors(uncalibrated.standardise(valid))
    detector = AnomalyDetector(
        trained.onnx_model,
        errors.mean(axis=1, dtype=np.float64),
        columns,
        config.window,
        trained.scaling,
    )
    summary = {
        "trained_on": source,
        "likely_normal_events": n_normal,
        "windows": {"train": len(train), "valid_and_calibration": len(valid)},
        "epochs": trained.epochs,
        "train_loss": round(trained.train_loss, 6),
        "valid_loss": round(trained.valid_loss, 6),
    }
    return AnomalyFit(detector, summary)
