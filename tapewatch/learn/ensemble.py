"""Adding the autoencoder to a trained supervised model and setting the ensemble threshold."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from tapewatch.detect.anomaly import MISSING, AnomalyDetector, AutoencoderConfig
from tapewatch.detect.supervised import NONE_CLASS
from tapewatch.features.catalog import feature_columns
from tapewatch.features.engine import TRADER_COLUMNS, compute_features_table, map_windows
from tapewatch.learn.anomaly import AnomalyFit, fit_anomaly_detector
from tapewatch.learn.registry import ModelBundle
from tapewatch.learn.train import TrainingSet, fpr_threshold

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


def add_autoencoder(
    bundle: ModelBundle,
    data: TrainingSet,
    config: AutoencoderConfig,
    *,
    unlabelled: pa.Table | None = None,
    unlabelled_name: str = "",
    on_epoch: Callable[[int, float, float], None] | None = None,
) -> ModelBundle:
    """Train the autoencoder (on the unlabelled day if given, else on the labelled one) and
    set the ensemble's thresholds on the labelled validation split."""
    columns = feature_columns(bundle.detector.features)
    if unlabelled is not None:
        features = compute_features_table(unlabelled, bundle.feature_config)
        events, source = unlabelled, unlabelled_name or "unlabelled events"
    else:
        features, events, source = data.features, data.events, "the labelled training events"
    fit: AnomalyFit = fit_anomaly_detector(
        events,
        bundle.detector.score(features),
        feature_config=bundle.feature_config,
        columns=columns,
        config=config,
        source=source,
        on_epoch=on_epoch,
    )
    metadata = {**bundle.metadata, "autoencoder": fit.summary}
    with_ae = replace(bundle, anomaly=fit.detector, ae_config=config, metadata=metadata)
    return set_ensemble_thresholds(with_ae, data)


def set_ensemble_thresholds(bundle: ModelBundle, data: TrainingSet) -> ModelBundle:
    """Ensemble thresholds passing `target_fpr` of normal validation events, with and
    without their trader features (as for the supervised threshold)."""
    anomaly = _anomaly(bundle)
    valid = data.split.valid
    normal = valid[data.classes[valid] == NONE_CLASS]
    rows = np.zeros(data.events.num_rows, dtype=bool)
    rows[normal] = True
    positions = [int(np.flatnonzero(np.asarray(anomaly.columns) == c)[0]) for c in TRADER_COLUMNS]

    def both(_: F32, windows: F32) -> tuple[F64, F64]:
        masked = windows.copy()
        masked[:, :, positions] = MISSING
        return anomaly.score(anomaly.feature_errors(windows)), anomaly.score(
            anomaly.feature_errors(masked)
        )

    parts = map_windows(
        data.events,
        bundle.feature_config,
        anomaly.sequence_buffer(),
        rows,
        both,
    )
    ae = np.concatenate([p[0] for p in parts])
    ae_masked = np.concatenate([p[1] for p in parts])
    x = data.features[normal]
    x_masked = x.copy()
    x_masked[:, TRADER_COLUMNS] = np.nan
    w = bundle.scoring.ensemble_weight
    fpr = bundle.scoring.target_fpr
    scoring = replace(
        bundle.scoring,
        ensemble_threshold=fpr_threshold(w * bundle.detector.score(x) + (1 - w) * ae, fpr),
        anonymous_ensemble_threshold=fpr_threshold(
            w * bundle.detector.score(x_masked) + (1 - w) * ae_masked, fpr
        ),
    )
    return replace(bundle, scoring=scoring)


def anomaly_scores(bundle: ModelBundle, events: pa.Table, rows: npt.NDArray[np.bool_]) -> F64:
    """ae_score of the chosen rows of an events table, in row order."""
    anomaly = _anomaly(bundle)
    parts = map_windows(
        events,
        bundle.feature_config,
        anomaly.sequence_buffer(),
        rows,
        lambda _, windows: anomaly.score(anomaly.feature_errors(windows)),
    )
    return np.concatenate(parts) if parts else np.empty(0)


def _anomaly(bundle: ModelBundle) -> AnomalyDetector:
    if bundle.anomaly is None:
        raise ValueError("this model has no autoencoder")
    return bundle.anomaly
