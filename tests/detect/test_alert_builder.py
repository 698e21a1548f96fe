"""Alerts: grouping by trader, instrument and typology within a gap; stable ids; any batching."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tapewatch.detect.alerts import Alert, AlertBuilder, FlaggedEvent

ROW = np.zeros(3, dtype=np.float32)


def _ev(
    tx: str,
    t_s: float,
    trader: str = "A",
    inst: str = "X",
    typ: str = "SPOOFING",
    score: float = 0.9,
) -> FlaggedEvent:
    return FlaggedEvent(tx, int(t_s * 1e6), trader, inst, typ, score, ROW)


def _run(events: list[FlaggedEvent], cuts: list[int], gap: float = 60.0) -> list[Alert]:
    builder = AlertBuilder(gap)
    out: list[Alert] = []
    bounds = [0, *sorted(cuts), len(events)]
    for lo, hi in itertools.pairwise(bounds):
        batch = events[lo:hi]
        now = {}
        for ev in batch:
            now[ev.instrument_id] = max(now.get(ev.instrument_id, 0), ev.timestamp_us)
        out += builder.add(batch, now)
    return out + builder.flush()


def test_events_within_the_gap_form_one_alert_and_a_pause_starts_another() -> None:
    events = [_ev("1", 0), _ev("2", 30), _ev("3", 80), _ev("4", 200), _ev("5", 201, score=0.99)]
    alerts = sorted(_run(events, []), key=lambda a: a.start_us)
    assert [a.transaction_ids for a in alerts] == [["1", "2", "3"], ["4", "5"]]
    assert alerts[1].score == 0.99
    assert alerts[0].end_us == 80_000_000


def test_trader_instrument_and_typology_each_split_alerts() -> None:
    events = [
        _ev("1", 0),
        _ev("2", 1, trader="B"),
        _ev("3", 2, inst="Y"),
        _ev("4", 3, typ="LAYERING"),
    ]
    assert len(_run(events, [])) == 4


def test_alert_ids_are_stable() -> None:
    events = [_ev("1", 0), _ev("2", 5)]
    assert _run(events, [])[0].alert_id == _run(events, [1])[0].alert_id
    assert _run(events, [])[0].alert_id != _run([_ev("9", 0)], [])[0].alert_id


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 50), st.sampled_from("AB"), st.sampled_from("XY")),
        min_size=1,
        max_size=40,
    ),
    st.lists(st.integers(0, 40), max_size=6),
)
def test_any_batching_gives_the_same_alerts(
    gaps: list[tuple[float, str, str]], cuts: list[int]
) -> None:
    t = 0.0
    events = []
    for i, (gap, trader, inst) in enumerate(gaps):
        t += gap
        events.append(_ev(str(i), t, trader=trader, inst=inst))
    cuts = [c for c in cuts if c <= len(events)]

    def key(alerts: list[Alert]) -> list[tuple[str, list[str]]]:
        return sorted((a.alert_id, a.transaction_ids) for a in alerts)

    assert key(_run(events, cuts, gap=20.0)) == key(_run(events, [], gap=20.0))
