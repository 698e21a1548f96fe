"""The screen's early exit: scores of rows that run every tree equal the full screen's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from kit import random_events

from tapewatch.detect.supervised import Cascade
from tapewatch.features.engine import compute_features_table
from tapewatch.learn.registry import load_model

FIXTURE = Path(__file__).parents[1] / "learn" / "fixtures" / "model-v1"


def test_rows_above_the_cutoff_get_the_full_screen_score_and_the_rest_the_early_one() -> None:
    model = load_model(FIXTURE)
    detector = model.detector
    x = compute_features_table(random_events(3000, seed=9), model.feature_config)
    full = detector.score(x)
    early = detector.margin(x, 10)
    cutoff = float(np.median(early))
    cascaded = detector.score(x, Cascade(10, cutoff))
    deep = early >= cutoff
    assert deep.any()
    assert (~deep).any()
    np.testing.assert_allclose(cascaded[deep], full[deep], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cascaded[~deep], 1 / (1 + np.exp(-early[~deep])), rtol=1e-6)
