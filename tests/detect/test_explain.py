"""Explanations read as an analyst can check them."""

from __future__ import annotations

import numpy as np

from tapewatch.detect.explain import PHRASES, FeatureReason, describe, shown_value
from tapewatch.features.catalog import MODEL_FEATURES


def test_every_model_feature_has_a_phrase() -> None:
    missing = [name for name in MODEL_FEATURES if name not in PHRASES]
    assert missing == []
    for name in MODEL_FEATURES:  # any value in range reads without an error or a raw name
        for value in (0.0, 0.5, 1.0, 12.0):
            assert "{" not in describe(name, value)


def test_a_matched_cross_reads_with_its_age_and_the_trader_s_usual_share() -> None:
    fresh = FeatureReason("matched_cross", float(np.exp(-0.5 / 2.0)), 1.2, usual=0.53)
    assert fresh.phrase() == (
        "crosses, one to one and in full, an order placed inside the spread 0.50 s before "
        "(usually 53% of its fills)"
    )
    assert describe("matched_cross", 0.0).startswith("not a one-to-one cross")
    assert shown_value("matched_cross", 0.02) == "2% of its fills"
