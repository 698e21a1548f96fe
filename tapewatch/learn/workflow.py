"""The training workflow: features, split, optional tuning, fit, held-out evaluation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from tapewatch.detect.anomaly import AutoencoderConfig
from tapewatch.detect.decision import decide, scores_table
from tapewatch.detect.scoring import ScoringConfig
from tapewatch.detect.supervised import N_CLASSES, XGBoostConfig
from tapewatch.features.config import FeatureConfig
from tapewatch.learn.ensemble import add_autoencoder
from tapewatch.learn.registry import TEST_METRICS, ModelBundle
from tapewatch.learn.train import fit_model, prepare
from tapewatch.learn.tune import tune
from tapewatch.monitor.evaluation import EvaluationReport, evaluate


@dataclass(frozen=True)
class TrainOutcome:
    """A trained model and its evaluation on the held-out test split."""

    bundle: ModelBundle
    test_report: EvaluationReport
    xgb_config: XGBoostConfig


def train_on_events(
    events: pa.Table,
    *,
    data_path: str,
    data_hash: str,
    feature_config: FeatureConfig | None = None,
    xgb_config: XGBoostConfig | None = None,
    tune_trials: int = 0,
    on_features: Callable[[int], None] | None = None,
    on_trial: Callable[[int, float], None] | None = None,
    ae_config: AutoencoderConfig | None = None,
    unlabelled: pa.Table | None = None,
    unlabelled_name: str = "",
    on_epoch: Callable[[int, float, float], None] | None = None,
    scoring: ScoringConfig | None = None,
) -> TrainOutcome:
    """Train a model on a labelled events table and evaluate it on its test split.

    With `ae_config` the autoencoder is trained too, on `unlabelled` events when given (a
    firm's real data) and on the labelled table's likely-normal events otherwise.
    """
    feature_config = feature_config or FeatureConfig()
    xgb_config = xgb_config or XGBoostConfig()
    data = prepare(events, feature_config, on_features)
    if tune_trials > 0:
        xgb_config = tune(data, xgb_config, tune_trials, seed=xgb_config.seed, on_trial=on_trial)
    s = data.split
    metadata = {
        "data": {
            "path": data_path,
            "sha256": data_hash,
            "n_events": events.num_rows,
            "n_train": len(s.train),
            "n_valid": len(s.valid),
            "n_test": len(s.test),
            "class_counts": np.bincount(data.classes, minlength=N_CLASSES).tolist(),
        },
        "tuning_trials": tune_trials,
    }
    bundle = fit_model(
        data,
        feature_config=feature_config,
        xgb_config=xgb_config,
        scoring=scoring,
        metadata=metadata,
    )
    ae_test = None
    if ae_config is not None:
        bundle, ae_all = add_autoencoder(
            bundle,
            data,
            ae_config,
            unlabelled=unlabelled,
            unlabelled_name=unlabelled_name,
            on_epoch=on_epoch,
        )
        ae_test = ae_all[s.test]
    test_events = events.take(pa.array(s.test))
    decisions = decide(bundle.detector, data.features[s.test], bundle.scoring, ae_test)
    report = evaluate(scores_table(test_events.column("transaction_id"), decisions), test_events)
    bundle.metadata[TEST_METRICS] = report.to_dict()
    return TrainOutcome(bundle, report, xgb_config)
