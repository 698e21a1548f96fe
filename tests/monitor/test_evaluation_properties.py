"""Property tests: evaluate never crashes on random tables and its rates stay in [0, 1]."""

from __future__ import annotations

import json
import math
from typing import Any

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from tapewatch.monitor import evaluate
from tapewatch.schema.enums import TYPOLOGIES

TYPE_NAMES = [t.value for t in TYPOLOGIES]

event = st.tuples(
    st.sampled_from(TYPE_NAMES),  # true type
    st.sampled_from(["", "e1", "e2", "e3", "e4"]),  # scenario
    st.floats(0.0, 1.0),  # score
    st.booleans(),  # flagged
    st.sampled_from(TYPE_NAMES),  # predicted type
    st.booleans(),  # has a label
)


def rates(data: Any) -> list[float]:
    """Every float in the report data that is a share (everything but counts and scores)."""
    found: list[float] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key in {"alerts_per_10k", "fpr_threshold"}:
                continue
            if isinstance(value, float):
                found.append(value)
            else:
                found.extend(rates(value))
    elif isinstance(data, list):
        for item in data:
            found.extend(rates(item))
    return found


@settings(max_examples=150, deadline=None)
@given(
    st.lists(event, min_size=1, max_size=120),
    st.floats(0.0, 1.0),
    st.lists(st.lists(st.integers(0, 130), max_size=4), max_size=6),
)
def test_random_tables_never_crash_and_rates_stay_in_unit_interval(
    events: list[tuple[str, str, float, bool, str, bool]],
    fpr: float,
    alert_members: list[list[int]],
) -> None:
    ids = [f"t{i}" for i in range(len(events))]
    labelled = [i for i, e in enumerate(events) if e[5]]
    if not labelled:
        labelled = [0]
    scores = pa.table(
        {
            "transaction_id": ids,
            "score": [e[2] for e in events],
            "flagged": [e[3] for e in events],
            "predicted_type": [e[4] for e in events],
        }
    )
    labels = pa.table(
        {
            "transaction_id": [ids[i] for i in labelled],
            "manipulation_type": [events[i][0] for i in labelled],
            "scenario_id": [events[i][1] if events[i][0] != "NONE" else None for i in labelled],
            "is_manipulation": [events[i][0] != "NONE" for i in labelled],
        }
    )
    alerts = pa.table(
        {"transaction_ids": [[f"t{i}" for i in members] for members in alert_members]},
        schema=pa.schema([pa.field("transaction_ids", pa.list_(pa.string()))]),
    )
    report = evaluate(scores, labels, alerts, fpr=fpr)
    data = report.to_dict()
    json.dumps(data)
    assert report.n_events == len(labelled)
    for value in rates(data):
        assert not math.isnan(value)
        assert 0.0 <= value <= 1.0 or value == fpr
    if report.fpr_achieved is not None:
        assert report.fpr_achieved <= fpr + 1e-12
    assert report.n_alerts == len(alert_members)
