"""Explanations read as an analyst can check them: a reason sets the event apart, its
usual value reads in the value's own units, clock features have no usual, numbers never
read in scientific notation, and the full text states each clause once."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from explain_reading import clauses, no_bad_numbers
from hypothesis import given, settings
from hypothesis import strategies as st

from tapewatch.detect.explain import (
    CALENDAR_FEATURES,
    INDICATORS,
    NONE_PHRASES,
    PHRASES,
    FeatureReason,
    anomaly_reasons,
    describe,
    explanation_text,
    reasons_json,
    shown_value,
    top_reasons,
    usual_text,
)
from tapewatch.features.catalog import (
    CLOCK_FEATURES,
    FEATURE_NAMES,
    FEATURES,
    N_FEATURES,
    feature_index,
)

#: a number at the start of a slot and the unit after it
NUMBER_THEN_UNIT = re.compile(r"[+-]?\d+(?:\.\d+)?(.*)")

names = st.sampled_from([*FEATURE_NAMES, "not_in_the_catalogue"])
finite = st.floats(allow_nan=False, allow_infinity=False)
#: values and usual values near the precision a phrase rounds to, and far from it
values = st.one_of(
    finite,
    st.floats(min_value=-2.0, max_value=2.0),
    st.sampled_from([0.0, -0.0, 1e-300, 6.45e-11, -0.004, 0.446, 0.5, 0.995, 1.0]),
)


def test_every_feature_has_a_phrase_with_one_slot() -> None:
    assert [name for name in FEATURE_NAMES if name not in PHRASES] == []
    for name in FEATURE_NAMES:
        assert PHRASES[name].count("[") == PHRASES[name].count("]") == 1
        for value in (0.0, 0.5, 1.0, 12.0):  # in range: no placeholder, bracket or raw name
            text = describe(name, value)
            assert not set("{}[]") & set(text), text
            assert name not in text


def test_clock_features_are_every_time_of_day_and_calendar_feature() -> None:
    assert CLOCK_FEATURES | {"in_session", "secs_to_close"} == CALENDAR_FEATURES
    temporal = {f.name for f in FEATURES if f.group == "temporal"}
    # the other temporal features measure the trader's pace, which has a usual
    pace = {"log_secs_since_trader_event", "trader_rate_1s", "trader_rate_10s", "trader_rate_60s"}
    assert temporal - CALENDAR_FEATURES == pace


def test_the_examples_analysts_found_odd_now_read_plainly() -> None:
    close = FeatureReason("secs_to_close", 18.0, 1.0, usual=18.0)
    assert close.phrase() == "0.3 minutes before the close"
    assert close.sets_apart()  # no usual, so nothing to match it against
    modified = FeatureReason("order_modify_count", 0.0, 1.0, usual=0.2)
    assert not modified.sets_apart()
    assert modified.phrase() == "the order modified 0 times"
    fill = FeatureReason("opposite_fill_recency", math.exp(-0.69), 1.0, usual=6.45e-11)
    assert fill.phrase() == "a fill on the other side 0.69 s before (usually 23.46 s before)"
    spread = FeatureReason("spread_bps", 0.5, 1.0, usual=0.446)
    assert spread.phrase() == "spread 0.5 bp (usually 0.4 bp)"


def test_a_matched_cross_reads_with_its_age_and_the_trader_s_usual_share() -> None:
    fresh = FeatureReason("matched_cross", float(np.exp(-0.5 / 2.0)), 1.2, usual=0.53)
    assert fresh.phrase() == (
        "crosses, one to one and in full, an order placed inside the spread 0.50 s before "
        "(usually 53% of its fills)"
    )
    assert describe("matched_cross", 0.0).startswith("not a one-to-one cross")
    assert shown_value("matched_cross", 0.02) == "2% of its fills"
    # a trader whose fills are all such crosses: this one does not set it apart
    assert not FeatureReason("matched_cross", 0.99, 1.0, usual=0.998).sets_apart()


def test_yes_no_features_read_their_usual_as_a_share() -> None:
    taker = FeatureReason("aggressor_fill", 1.0, 1.0, usual=0.3)
    assert taker.phrase() == "a fill that took liquidity (usually 30% of its fills)"
    assert FeatureReason("self_trade", 1.0, 1.0, usual=0.118).phrase() == (
        "a trade with itself (usually 12% of its events)"
    )
    assert not FeatureReason("aggressor_fill", 0.0, 1.0, usual=0.004).sets_apart()
    assert describe("in_session", 1.0) == "inside the session"
    assert describe("in_session", 0.0) == "outside the session"


def test_a_recency_mark_of_zero_reads_as_none() -> None:
    assert describe("opposite_fill_recency", 0.0) == "no recent fill on the other side"
    reversal = FeatureReason("pair_reversal_recency", 1.0, 1.0, usual=0.0)
    assert reversal.phrase() == (
        "reverses a fill the other way with this counterparty 0.00 s before (usually none)"
    )
    assert not FeatureReason("opposite_fill_recency", 0.0, 1.0, usual=0.0).sets_apart()


def test_numbers_that_round_to_zero_read_without_sign_or_exponent() -> None:
    assert describe("price_change_1m_bps", -0.2) == "price 0 bp from its 1-minute average"
    assert describe("price_change_1m_bps", 0.2) == "price 0 bp from its 1-minute average"
    assert not FeatureReason("price_change_1m_bps", -0.2, 1.0, usual=0.3).sets_apart()
    assert shown_value("trader_rate_60s", 6.45e-11) == "0.00 messages/s"
    assert shown_value("trader_volume_share", -1e-9) == "0%"
    assert describe("not_in_the_catalogue", 1.23e-7) == "not_in_the_catalogue = 0"
    assert describe("not_in_the_catalogue", 12_345_678.9) == "not_in_the_catalogue = 12345679"
    assert describe("not_in_the_catalogue", 0.0001234) == "not_in_the_catalogue = 0.0001"
    assert describe("not_in_the_catalogue", 1.5) == "not_in_the_catalogue = 1.5"


@given(name=names, value=values, usual=st.one_of(st.none(), values))
@settings(max_examples=400, deadline=None)
def test_no_phrase_reads_in_scientific_notation_or_as_nan(
    name: str, value: float, usual: float | None
) -> None:
    no_bad_numbers(describe(name, value))
    no_bad_numbers(FeatureReason(name, value, 1.0, usual=usual).phrase())
    if usual is not None:
        no_bad_numbers(shown_value(name, usual))


@given(name=names, value=values)
@settings(max_examples=300, deadline=None)
def test_a_reason_whose_value_is_its_usual_is_never_shown(name: str, value: float) -> None:
    reason = FeatureReason(name, value, 1.0, usual=value)
    assert "usually" not in reason.phrase()
    assert reason.sets_apart() == (name in CALENDAR_FEATURES)


@given(name=names, value=values, usual=values)
@settings(max_examples=400, deadline=None)
def test_a_usual_reads_in_the_value_s_units_or_not_at_all(
    name: str, value: float, usual: float
) -> None:
    shown = usual_text(name, value, usual)
    if name in CALENDAR_FEATURES:
        assert shown is None
        return
    if name in INDICATORS:  # the share of the key's rows so marked
        assert shown is None or shown.endswith(f"% of its {INDICATORS[name][1]}")
        return
    as_usual = shown_value(name, value)
    # the value reads in its phrase exactly as it would read as a usual value
    if not (value <= 0 and name in NONE_PHRASES):
        assert as_usual in describe(name, value)
    if shown is None:  # left out only when the two read the same
        assert as_usual == shown_value(name, usual)
        return
    assert shown != as_usual
    unit, usual_unit = NUMBER_THEN_UNIT.fullmatch(as_usual), NUMBER_THEN_UNIT.fullmatch(shown)
    if unit and usual_unit:
        assert unit.group(1) == usual_unit.group(1)


def rows(**values: float) -> np.ndarray:
    """One feature row with every feature missing except the given ones."""
    x = np.full(N_FEATURES, np.nan, dtype=np.float32)
    for name, value in values.items():
        x[feature_index(name)] = value
    return x


def test_top_reasons_skip_features_at_their_usual_value_and_take_the_next() -> None:
    x = rows(
        spread_bps=0.5,
        order_modify_count=0.0,
        secs_to_close=18.0,
        size_z=3.0,
        volume_spike=4.0,
        trader_volume_share=0.004,
    )
    usual = rows(
        spread_bps=0.46,
        order_modify_count=0.0,
        secs_to_close=18.0,
        size_z=0.1,
        volume_spike=1.0,
        trader_volume_share=0.0,
    )
    contrib = np.zeros(N_FEATURES)
    for rank, name in enumerate(
        ["spread_bps", "order_modify_count", "secs_to_close", "size_z", "trader_volume_share"]
    ):
        contrib[feature_index(name)] = 5.0 - rank
    contrib[feature_index("volume_spike")] = 0.5
    reasons = top_reasons(x, contrib, k=3, usual=usual)
    assert [r.name for r in reasons] == ["secs_to_close", "size_z", "volume_spike"]
    assert reasons[0].usual is None  # a clock feature has no usual, in the JSON too
    top = json.loads(reasons_json(reasons))
    assert [t["feature"] for t in top] == ["secs_to_close", "size_z", "volume_spike"]
    assert top[0]["usual"] is None
    # fewer than k that set the event apart: as many as there are
    assert len(top_reasons(x, contrib, k=10, usual=usual)) == 3


def test_anomaly_reasons_skip_features_at_their_usual_value_and_take_the_next() -> None:
    columns = tuple(feature_index(n) for n in ("spread_bps", "size_z", "volume_spike"))
    x = rows(spread_bps=0.5, size_z=3.0, volume_spike=4.0)
    usual = rows(spread_bps=0.46, size_z=0.1, volume_spike=1.0)
    errors = np.array([0.6, 0.3, 0.1], dtype=np.float32)
    reasons = anomaly_reasons(x, errors, columns, k=2, usual=usual)
    assert [r.name for r in reasons] == ["size_z", "volume_spike"]
    assert reasons[0].contribution == pytest.approx(0.3)
    assert {r.detector for r in reasons} == {"autoencoder"}


def test_a_feature_both_models_point_at_is_stated_once() -> None:
    cross = FeatureReason("matched_cross", 0.995, 4.0, usual=0.27)
    spread = FeatureReason("spread_bps", 80.0, 1.0, usual=40.0)
    round_trip = FeatureReason("pair_round_trip", 1.0, 0.5, usual=0.7, detector="autoencoder")
    text = explanation_text(
        "WASH_TRADING",
        1.0,
        8,
        [cross, spread],
        ae_score=1.0,
        unusual=[FeatureReason(**{**cross.__dict__, "detector": "autoencoder"}), round_trip],
        rules=["wash round trip", "wash round trip", spread.phrase()],
    )
    assert text == (
        "Known pattern (wash trading), score 1.00 over 8 events: "
        f"{cross.phrase()}; {spread.phrase()}. "
        f"Unusual against normal flow, anomaly score 1.000: {round_trip.phrase()}. "
        "Rules hit: wash round trip."
    )
    same = explanation_text("SPOOFING", 0.9, 1, [spread], ae_score=0.5, unusual=[spread])
    assert same.endswith("Unusual against normal flow, anomaly score 0.500, on the features above.")


reason = st.builds(
    FeatureReason,
    name=st.sampled_from(FEATURE_NAMES),
    value=values,
    contribution=st.floats(0.01, 5.0),
    usual=st.one_of(st.none(), values),
)


@given(
    known=st.lists(reason, max_size=5),
    unusual=st.lists(reason, max_size=4),
    rules=st.lists(st.sampled_from(["self trade", "wash round trip", "volume spike"])),
)
@settings(max_examples=200, deadline=None)
def test_no_clause_of_an_explanation_is_repeated(
    known: list[FeatureReason], unusual: list[FeatureReason], rules: list[str]
) -> None:
    # the reasons of one alert come from one feature row: one value and usual per feature
    row = {r.name: r for r in known + unusual}
    known = [row[r.name] for r in known]
    unusual = [
        FeatureReason(**{**row[r.name].__dict__, "detector": "autoencoder"}) for r in unusual
    ]
    text = explanation_text(
        "LAYERING", 0.9, 3, known, ae_score=0.7, unusual=unusual, rules=rules + rules
    )
    said = clauses(text)
    assert len(said) == len(set(said)), text
    no_bad_numbers(text)
