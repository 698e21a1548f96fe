"""The Python SDK: `Detector.load(model_dir).predict(event)`, one event at a time, gives
the scores batch scoring gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from workbench import Workbench

from tapewatch.engine.batch import score_events
from tapewatch.engine.pipeline import Provenance
from tapewatch.learn.registry import load_model
from tapewatch.schema.load import load_events
from tapewatch.sdk import Detector, InvalidEventError


def test_event_by_event_equals_batch_scoring(workbench: Workbench, tmp_path: Path) -> None:
    events = load_events(workbench.events, deadletter_dir=tmp_path).table.slice(0, 400)
    model = load_model(workbench.model_dir)
    expected, _ = score_events(events, model, Provenance(model.version, "", ""))
    detector = Detector.load(workbench.model_dir)
    got = [detector.predict(row) for row in events.to_pylist()]
    assert [g["transaction_id"] for g in got] == events.column("transaction_id").to_pylist()
    np.testing.assert_allclose(
        [g["score"] for g in got], expected.column("score").to_numpy(), rtol=1e-6, atol=1e-7
    )
    assert [g["flagged"] for g in got] == expected.column("flagged").to_pylist()
    assert all(g["risk_level"] in {"LOW", "MEDIUM", "HIGH", "CRITICAL"} for g in got)
    assert all(g["top_factors"] for g in got if g["flagged"])
    assert detector.version == model.version


def test_a_bad_event_names_the_field(workbench: Workbench, tmp_path: Path) -> None:
    row = load_events(workbench.events, deadletter_dir=tmp_path).table.slice(0, 1).to_pylist()[0]
    row["quantity"] = -5
    with pytest.raises(InvalidEventError, match="quantity"):
        Detector.load(workbench.model_dir).predict(row)
