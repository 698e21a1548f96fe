"""The screen's early exits: rows that pass every stage get the whole screen's score, the
others the margin of the stage they left at."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from kit import random_events

from tapewatch.detect.scoring import ScoringConfig
from tapewatch.detect.supervised import Cascade
from tapewatch.features.engine import compute_features_table
from tapewatch.learn.registry import load_model

FIXTURE = Path(__file__).parents[1] / "learn" / "fixtures" / "model-v1"


def sigmoid(margin: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-margin))


def test_each_row_keeps_the_margin_of_the_stage_it_left_at_and_the_rest_run_every_tree() -> None:
    model = load_model(FIXTURE)
    detector = model.detector
    x = compute_features_table(random_events(3000, seed=9), model.feature_config)
    full = detector.score(x)
    at10, at25 = detector.margin(x, 10), detector.margin(x, 25)
    cut10, cut25 = float(np.quantile(at10, 0.3)), float(np.quantile(at25, 0.5))
    cascaded = detector.score(x, Cascade(((10, cut10), (25, cut25))))
    left_at_10 = at10 < cut10
    left_at_25 = ~left_at_10 & (at25 < cut25)
    stayed = ~left_at_10 & ~left_at_25
    assert left_at_10.any()
    assert left_at_25.any()
    assert stayed.any()
    np.testing.assert_allclose(cascaded[left_at_10], sigmoid(at10[left_at_10]), rtol=1e-6)
    np.testing.assert_allclose(cascaded[left_at_25], sigmoid(at25[left_at_25]), rtol=1e-5)
    np.testing.assert_allclose(cascaded[stayed], full[stayed], rtol=1e-5, atol=1e-6)


def test_stages_must_grow() -> None:
    with pytest.raises(ValueError, match="increasing"):
        Cascade(((40, 0.0), (20, 0.0)))


def test_a_single_stage_cascade_saved_by_earlier_versions_still_loads(tmp_path: Path) -> None:
    import json
    import shutil

    copy = tmp_path / "m"
    shutil.copytree(FIXTURE, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["scoring"] |= {"cascade_trees": 10, "cascade_cutoff": -1.5}
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert load_model(copy).scoring.cascade == Cascade(((10, -1.5),))


def test_no_cutoffs_means_no_cascade() -> None:
    assert ScoringConfig().cascade is None
    assert ScoringConfig(cascade_trees=(5, 9), cascade_cutoffs=(-2.0, -1.0)).cascade == Cascade(
        ((5, -2.0), (9, -1.0))
    )
