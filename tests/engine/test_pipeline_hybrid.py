"""The scoring pipeline with both models: batch sizes, explanations with real values, rules."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hybrid import Hybrid

from tapewatch.detect.decision import BOTH, KNOWN, NOVEL
from tapewatch.engine.batch import score_events
from tapewatch.engine.pipeline import Provenance
from tapewatch.features.catalog import FEATURE_NAMES
from tapewatch.features.engine import compute_features_table

PROV = Provenance("v", "c", "i")


@pytest.fixture(scope="module")
def scored(hybrid: Hybrid) -> tuple[pa.Table, pa.Table]:
    return score_events(hybrid.unseen_day, hybrid.model, PROV)


def test_scores_and_alerts_do_not_depend_on_batch_size(
    hybrid: Hybrid, scored: tuple[pa.Table, pa.Table]
) -> None:
    scores, alerts = score_events(hybrid.unseen_day, hybrid.model, PROV, batch_rows=7_001)
    assert scores.equals(scored[0])
    assert alerts.equals(scored[1])


def test_every_event_has_both_model_scores_and_its_rule_hits(
    scored: tuple[pa.Table, pa.Table],
) -> None:
    scores = scored[0]
    assert scores.column("ae_score").null_count == 0
    ae = scores.column("ae_score").to_numpy()
    assert ((ae >= 0) & (ae <= 1)).all()
    hits = pc.list_value_length(scores.column("rule_hits")).to_numpy()
    assert 0 < (hits > 0).mean() < 0.5


def test_explanations_name_real_features_with_their_real_values(
    hybrid: Hybrid, scored: tuple[pa.Table, pa.Table]
) -> None:
    scores, alerts = scored
    assert alerts.num_rows > 10
    features = compute_features_table(hybrid.unseen_day, hybrid.model.feature_config)
    row_of = {t: i for i, t in enumerate(hybrid.unseen_day.column("transaction_id").to_pylist())}
    score = scores.column("score").to_numpy()
    detectors = set()
    for alert in alerts.to_pylist()[:200]:
        rows = [row_of[t] for t in alert["transaction_ids"]]
        key = max(rows, key=lambda r: (score[r], -r))  # the first highest-scoring event
        top = json.loads(alert["top_features"])
        assert top, alert["explanation"]
        for entry in top:
            j = FEATURE_NAMES.index(entry["feature"])
            assert entry["value"] == pytest.approx(float(features[key, j]), rel=1e-6)
            detectors.add(entry["detector"])
        assert alert["detected_by"] in {KNOWN, NOVEL, BOTH, "combined score"}
        assert alert["explanation"].lower().startswith(alert["detected_by"])
    assert detectors == {"xgboost", "autoencoder"}


def test_the_usual_value_is_the_weighted_mean_of_the_keys_previous_rows(
    hybrid: Hybrid, scored: tuple[pa.Table, pa.Table]
) -> None:
    day = hybrid.unseen_day
    _, alerts = scored
    window = hybrid.model.ae_config.window
    features = compute_features_table(day, hybrid.model.feature_config)
    keys = pc.binary_join_element_wise(
        day.column("instrument_id"), day.column("trader_id"), "|"
    ).to_pylist()
    scores = scored[0].column("score").to_numpy()
    ts = pc.cast(day.column("timestamp"), pa.int64()).to_numpy() / 1e6
    horizon = hybrid.model.feature_config.evict_idle_seconds
    row_of = {t: i for i, t in enumerate(day.column("transaction_id").to_pylist())}
    checked = 0
    for alert in alerts.to_pylist()[:100]:
        rows = [row_of[t] for t in alert["transaction_ids"]]
        key = max(rows, key=lambda r: (scores[r], -r))
        previous = _history(keys, ts, key, horizon)
        for entry in json.loads(alert["top_features"]):
            if entry["usual"] is None:
                continue
            j = FEATURE_NAMES.index(entry["feature"])
            usual = _weighted_mean(features[previous, j], span=window)
            assert entry["usual"] == pytest.approx(usual, rel=1e-4, abs=1e-6)
            checked += 1
    assert checked > 50


def _weighted_mean(values: np.ndarray, span: int) -> float:
    """Exponentially weighted mean, oldest first, each new value weighing 2 / (span + 1)."""
    alpha, mean, weight = 2 / (span + 1), 0.0, 0.0
    for v in values[~np.isnan(values)]:
        mean, weight = (1 - alpha) * mean + alpha * v, (1 - alpha) * weight + alpha
    return mean / weight if weight else float("nan")


def _history(keys: list[str], ts: np.ndarray, row: int, horizon: float) -> list[int]:
    """The key's previous rows, back to a gap longer than the idle horizon."""
    out: list[int] = []
    last = row
    for i in range(row - 1, -1, -1):
        if keys[i] != keys[row]:
            continue
        if ts[last] - ts[i] > horizon:
            break
        out.append(i)
        last = i
    return out[::-1]
