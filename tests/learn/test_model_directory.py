"""The model directory: round trip, version ids, refusal of foreign directories, old models load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from kit import random_events

from tapewatch.engine.batch import score_events
from tapewatch.engine.pipeline import Provenance
from tapewatch.features.engine import compute_features_table
from tapewatch.learn.registry import ModelFormatError, load_model, save_model

FIXTURE = Path(__file__).parent / "fixtures" / "model-v1"


def test_a_model_saved_by_format_1_still_loads_and_scores() -> None:
    model = load_model(FIXTURE)
    assert model.version == json.loads((FIXTURE / "manifest.json").read_text())["version"]
    events = random_events(2000, seed=4)
    scores, _ = score_events(events, model, Provenance(model.version, model.config_hash, "t"))
    assert scores.num_rows == 2000
    values = scores.column("score").to_numpy()
    assert ((values >= 0) & (values <= 1)).all()


def test_save_and_load_round_trip_gives_identical_scores(tmp_path: Path) -> None:
    model = load_model(FIXTURE)
    saved = save_model(model, tmp_path / "copy")
    again = load_model(tmp_path / "copy")
    assert saved.version == again.version  # derived from the content
    events = random_events(1000, seed=5)
    x = compute_features_table(events, model.feature_config)
    assert np.array_equal(model.detector.score(x), again.detector.score(x))


def test_a_saved_model_scores_from_its_forest_files_without_its_boosters(
    tmp_path: Path,
) -> None:
    model = load_model(FIXTURE)  # format 1 without forest files: read through XGBoost
    save_model(model, tmp_path / "copy")
    assert {"screen.forest.npz", "typology.forest.npz"} <= {
        p.name for p in (tmp_path / "copy").iterdir()
    }
    again = load_model(tmp_path / "copy")
    x = compute_features_table(random_events(1000, seed=6), model.feature_config)
    scores, typologies = again.detector.score(x), again.detector.typology(x)
    # the boosters themselves were never read
    assert again.detector.screen_ is None
    assert again.detector.typology_ is None
    assert np.array_equal(scores, model.detector.score(x))
    assert np.array_equal(typologies, model.detector.typology(x))


def test_a_forest_file_of_another_booster_is_not_used(tmp_path: Path) -> None:
    model = load_model(FIXTURE)
    save_model(model, tmp_path / "copy")
    # the typology's trees where the screen's belong: their hash names another booster
    shutil.copy(tmp_path / "copy" / "typology.forest.npz", tmp_path / "copy" / "screen.forest.npz")
    again = load_model(tmp_path / "copy")
    x = compute_features_table(random_events(1000, seed=7), model.feature_config)
    assert np.array_equal(again.detector.score(x), model.detector.score(x))
    assert again.detector.screen_ is not None  # the screen was read from its booster


def test_a_directory_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelFormatError, match="not a tapewatch model directory"):
        load_model(tmp_path)


def test_a_model_of_unknown_features_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "m"
    shutil.copytree(FIXTURE, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["model_features"][0] = "feature_from_the_future"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFormatError, match="feature_from_the_future"):
        load_model(copy)
