"""Training the autoencoder beside XGBoost: calibration, ensemble thresholds, the model directory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.compute as pc
from hybrid import Hybrid

from tapewatch.engine.batch import score_events
from tapewatch.engine.pipeline import Provenance
from tapewatch.features.engine import compute_features_table
from tapewatch.learn.ensemble import anomaly_scores
from tapewatch.learn.registry import load_model, save_model
from tapewatch.learn.split import split_rows


def ks_to_uniform(values: np.ndarray) -> float:
    """Kolmogorov-Smirnov distance between a sample and the uniform law on [0, 1]."""
    x = np.sort(values)
    n = len(x)
    return float(max((np.arange(1, n + 1) / n - x).max(), (x - np.arange(n) / n).max()))


def test_ae_score_of_unseen_normal_events_is_close_to_uniform(hybrid: Hybrid) -> None:
    day = hybrid.train_day
    # the test split's time blocks were used neither to train, stop nor calibrate the network
    normal = (pc.equal(day.column("manipulation_type"), "NONE")).to_numpy(zero_copy_only=False)
    rows = np.zeros(day.num_rows, dtype=bool)
    rows[split_rows(day).test] = True
    features = compute_features_table(day, hybrid.model.feature_config)
    scores = anomaly_scores(hybrid.model, day, features)[rows & normal]
    assert len(scores) > 5_000
    assert ks_to_uniform(scores) < 0.15  # measured 0.10: time blocks differ, even within a day
    assert 0.002 < np.mean(scores >= 0.99) < 0.04  # "more unusual than 99 % of normal"


def test_training_records_what_the_autoencoder_learned_from(hybrid: Hybrid) -> None:
    summary = hybrid.model.metadata["autoencoder"]
    assert summary["trained_on"] == "the labelled training events"
    events = summary["events"]
    assert events["train"] > events["valid"] > 500
    assert events["calibration"] >= events["valid"]  # every held-out normal event
    assert summary["valid_loss"] > 0
    scoring = hybrid.model.scoring
    assert scoring.ensemble_threshold is not None
    assert 0 < scoring.ensemble_threshold <= 1
    assert scoring.anonymous_ensemble_threshold is not None


def test_the_ensemble_flags_about_the_target_share_of_unseen_normal_events(hybrid: Hybrid) -> None:
    model = hybrid.model
    scores, _ = score_events(hybrid.unseen_day, model, Provenance(model.version, "c", "i"))
    normal = pc.equal(hybrid.unseen_day.column("manipulation_type"), "NONE").to_numpy(
        zero_copy_only=False
    )
    flagged = scores.column("flagged").to_numpy(zero_copy_only=False)
    fpr = flagged[normal].mean()
    assert fpr < 4 * model.scoring.target_fpr
    # and flags abuse far more often than normal flow
    assert flagged[~normal].mean() > 50 * max(fpr, 1e-4)
    ae = scores.column("ae_score").to_numpy()
    xgb = scores.column("xgb_score").to_numpy()
    w = model.scoring.ensemble_weight
    np.testing.assert_allclose(scores.column("score").to_numpy(), w * xgb + (1 - w) * ae)


def test_a_saved_hybrid_model_loads_and_scores_identically(hybrid: Hybrid, tmp_path: Path) -> None:
    model = hybrid.model
    saved = save_model(model, tmp_path / "m")
    assert (tmp_path / "m" / "autoencoder.onnx").is_file()
    loaded = load_model(tmp_path / "m")
    assert loaded.version == saved.version
    assert loaded.ae_config == model.ae_config
    events = hybrid.unseen_day.slice(0, 8000)
    a, _ = score_events(events, model, Provenance("v", "c", "i"))
    b, _ = score_events(events, loaded, Provenance("v", "c", "i"))
    assert a.equals(b)
