"""Adding the autoencoder to a trained supervised model and setting the ensemble threshold."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from tapewatch.detect.anomaly import AnomalyDetector, AutoencoderConfig
from tapewatch.detect.supervised import NONE_CLASS
from tapewatch.features.catalog import feature_columns
from tapewatch.features.engine import TRADER_COLUMNS, compute_features_table, trader_slots
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
) -> tuple[ModelBundle, F64]:
    """Train the autoencoder (on the unlabelled day if given, else on the labelled one) and
    set the ensemble's thresholds on the labelled validation split; also the ae_score of
    every labelled event."""
    columns = feature_columns(bundle.detector.features)
    if unlabelled is not None:
        features = compute_features_table(unlabelled, bundle.feature_config)
        events, source = unlabelled, unlabelled_name or "unlabelled events"
    else:
        features, events, source = data.features, data.events, "the labelled training events"
    fit: AnomalyFit = fit_anomaly_detector(
        events,
        features,
        bundle.detector.score(features),
        feature_config=bundle.feature_config,
        columns=columns,
        config=config,
        source=source,
        on_epoch=on_epoch,
    )
    metadata = {**bundle.metadata, "autoencoder": fit.summary}
    with_ae = replace(bundle, anomaly=fit.detector, ae_config=config, metadata=metadata)
    # trained on the labelled day: its errors are already known, one pass is enough
    ae = (
        fit.detector.calibrated(fit.mean_errors)
        if unlabelled is None
        else anomaly_scores(with_ae, data.events, data.features)
    )
    return set_ensemble_thresholds(with_ae, data, ae), ae


def set_ensemble_thresholds(bundle: ModelBundle, data: TrainingSet, ae: F64) -> ModelBundle:
    """Ensemble thresholds passing `target_fpr` of normal validation events, with and
    without trader ids (as for the supervised threshold); `ae` is every labelled event's
    ae_score."""
    anomaly = _anomaly(bundle)
    valid = data.split.valid
    normal = valid[data.classes[valid] == NONE_CLASS]
    x = data.features[normal]
    # without trader ids an event has no key history and no trader features
    x_masked = x.copy()
    x_masked[:, TRADER_COLUMNS] = np.nan
    no_key = np.full(len(normal), -1, dtype=np.int64)
    ts = np.zeros(len(normal))  # keyless events: their times never matter
    idle = bundle.feature_config.evict_idle_seconds
    ae_masked = anomaly.score(anomaly.errors_of(no_key, ts, x_masked, idle))
    w = bundle.scoring.ensemble_weight
    fpr = bundle.scoring.target_fpr
    scoring = replace(
        bundle.scoring,
        ensemble_threshold=fpr_threshold(w * bundle.detector.score(x) + (1 - w) * ae[normal], fpr),
        anonymous_ensemble_threshold=fpr_threshold(
            w * bundle.detector.score(x_masked) + (1 - w) * ae_masked, fpr
        ),
    )
    return replace(bundle, scoring=scoring)


def anomaly_scores(bundle: ModelBundle, events: pa.Table, features: F32) -> F64:
    """ae_score of every row of an events table (a whole day, in order) and its features."""
    anomaly = _anomaly(bundle)
    slots, ts = trader_slots(events, bundle.feature_config.timezone)
    return anomaly.score(
        anomaly.errors_of(slots, ts, features, bundle.feature_config.evict_idle_seconds)
    )


def _anomaly(bundle: ModelBundle) -> AnomalyDetector:
    if bundle.anomaly is None:
        raise ValueError("this model has no autoencoder")
    return bundle.anomaly
