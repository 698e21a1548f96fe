"""The explanations of every alert of a generated day, read as an analyst reads them: no
number in scientific notation, no usual value that reads like the value beside it or sits
beside a clock feature, units that agree, and no clause said twice."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest
from explain_reading import clauses, no_bad_numbers
from hybrid import Hybrid

from tapewatch.detect.explain import CALENDAR_FEATURES, PHRASES, FeatureReason, describe
from tapewatch.engine.batch import score_events
from tapewatch.engine.pipeline import Provenance

#: "<clause> (usually <usual>)"
USUALLY = re.compile(r"(?P<clause>[^;:]*?) \(usually (?P<usual>[^)]*)\)")
NUMBER = r"[+-]?\d+(?:\.\d+)?"
#: how the phrases of the clock features start and end (around their slot)
CALENDAR_PHRASES = [
    tuple(part for part in re.split(r"\[.*\]", PHRASES[name])) for name in CALENDAR_FEATURES
]


@pytest.fixture(scope="module")
def alerts(hybrid: Hybrid) -> list[dict[str, Any]]:
    """The alerts of the hybrid model's unseen day, several typologies among them."""
    table = score_events(hybrid.unseen_day, hybrid.model, Provenance("v", "c", "i"))[1]
    rows: list[dict[str, Any]] = table.to_pylist()
    kinds = Counter(r["manipulation_type"] for r in rows)
    assert len(rows) >= 150, kinds
    assert sum(n >= 10 for n in kinds.values()) >= 4, kinds
    return rows


def test_no_explanation_reads_a_number_in_scientific_notation(
    alerts: list[dict[str, Any]],
) -> None:
    for alert in alerts:
        no_bad_numbers(alert["explanation"])


def test_no_clause_is_said_twice(alerts: list[dict[str, Any]]) -> None:
    for alert in alerts:
        said = clauses(alert["explanation"])
        assert len(said) == len(set(said)), alert["explanation"]


def test_a_usual_value_reads_in_the_value_s_units_and_differs_from_it(
    alerts: list[dict[str, Any]],
) -> None:
    usuals = 0
    for alert in alerts:
        for found in USUALLY.finditer(alert["explanation"]):
            clause, usual = found["clause"], found["usual"]
            usuals += 1
            assert not any(
                clause.startswith(before) and clause.endswith(after)
                for before, after in CALENDAR_PHRASES
            ), clause
            if usual.endswith(("of its fills", "of its events")):
                continue  # a yes/no feature: its usual is the share of rows marked
            parts = re.fullmatch(f"({NUMBER})(.*)", usual)
            if parts is None:  # "none", "once"
                assert usual in ("none", "once"), usual
                continue
            number, unit = parts.groups()
            # the value: the clause's first number in the same unit
            value = re.search(rf"(?<![\w.+-])({NUMBER}){re.escape(unit)}(?![\w%])", clause)
            assert value is not None, (clause, usual)
            assert value[1] != number, (clause, usual)
    assert usuals > 3 * len(alerts)


def test_top_features_are_the_reasons_the_text_gives(alerts: list[dict[str, Any]]) -> None:
    for alert in alerts:
        text = alert["explanation"]
        top = json.loads(alert["top_features"])
        known = [t for t in top if t["detector"] == "xgboost"]
        assert known, text
        for rank, entry in enumerate(top):
            reason = FeatureReason(
                entry["feature"], entry["value"], 0.0, entry["usual"], entry["detector"]
            )
            assert reason.sets_apart(), (entry, text)
            if entry["feature"] in CALENDAR_FEATURES:
                assert entry["usual"] is None
            if entry["detector"] == "autoencoder" or rank < 3:
                assert reason.phrase() in text
                assert describe(entry["feature"], entry["value"]) in text
