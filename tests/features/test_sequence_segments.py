"""Per-key sequences: which events continue which key's history, and each key's usual values."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st
from kit import random_events

from tapewatch.features.config import FeatureConfig
from tapewatch.features.engine import FeatureEngine, compute_features_table
from tapewatch.features.sequences import KeyClock, KeyedMean, SequenceOutput

EVENTS = random_events(2000, seed=5, n_traders=12)
SPAN = 4


class HistoryCounter:
    """A sequence model whose 'error' is how many earlier events its key's history holds."""

    def __init__(self) -> None:
        self.clock = KeyClock()
        self.mean = KeyedMean(1, SPAN)
        self.count = np.zeros(0, dtype=np.int64)

    def advance(self, slots, ts, features, idle_seconds) -> SequenceOutput:  # type: ignore[no-untyped-def]
        segments = self.clock.segments(slots, ts, idle_seconds)
        if len(self.count) < len(self.clock.last_ts):
            self.count = np.concatenate(
                [self.count, np.zeros(len(self.clock.last_ts) - len(self.count), np.int64)]
            )
        out = np.empty((len(slots), 1), dtype=np.float32)
        for j in range(len(segments.slot)):
            slot = segments.slot[j]
            n = 0 if segments.fresh[j] else self.count[slot]
            for row in segments.rows[segments.starts[j] : segments.starts[j + 1]]:
                out[row, 0] = n
                n += 1
            if segments.keep[j]:
                self.count[slot] = n
        return SequenceOutput(out, self.mean.update(segments, features[:, :1]))

    def reset(self, slots) -> None:  # type: ignore[no-untyped-def]
        self.clock.reset(slots)


def run(events: pa.Table, sizes: list[int], config: FeatureConfig | None = None) -> np.ndarray:
    """History counts and usual values of feature 0, the table fed in batches of `sizes`."""
    model = HistoryCounter()
    engine = FeatureEngine(config or FeatureConfig(), sequences=model)
    parts, start = [], 0
    for size in [*sizes, events.num_rows]:
        batch = engine.transform_batch(events.slice(start, size))
        assert batch.sequence is not None
        parts.append(np.hstack([batch.sequence.errors, batch.sequence.usual]))
        start += size
        if start >= events.num_rows:
            break
    return np.concatenate(parts)


WHOLE = run(EVENTS, [])


def reference(events: pa.Table, idle_seconds: float) -> np.ndarray:
    """The same, one event at a time with a dict per key."""
    x = compute_features_table(events)[:, 0]
    keys = pc.binary_join_element_wise(
        events.column("instrument_id"), events.column("trader_id"), "|"
    ).to_pylist()
    ts = pc.cast(events.column("timestamp"), pa.int64()).to_numpy() / 1e6
    alpha = 2 / (SPAN + 1)
    state: dict[str, tuple[float, int, float, float]] = {}
    out = np.empty((len(keys), 2))
    for i, key in enumerate(keys):
        last, n, m, w = state.get(key, (-np.inf, 0, 0.0, 0.0))
        if ts[i] - last > idle_seconds:
            n, m, w = 0, 0.0, 0.0
        out[i] = n, (m / w if w > 0 else np.nan)
        if not np.isnan(x[i]):
            m, w = (1 - alpha) * m + alpha * x[i], (1 - alpha) * w + alpha
        state[key] = (ts[i], n + 1, m, w)
    return out


def test_histories_and_usual_values_match_a_one_event_at_a_time_reference() -> None:
    expected = reference(EVENTS, FeatureConfig().evict_idle_seconds)
    np.testing.assert_array_equal(WHOLE[:, 0], expected[:, 0])
    np.testing.assert_allclose(WHOLE[:, 1], expected[:, 1], rtol=1e-5)
    assert WHOLE[:, 0].max() > 50  # long histories were really carried


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=600), min_size=1, max_size=8))
def test_any_batch_split_gives_the_same_histories(sizes: list[int]) -> None:
    assert np.array_equal(run(EVENTS, sizes), WHOLE, equal_nan=True)


def test_eviction_does_not_change_histories_and_idle_keys_start_afresh() -> None:
    config = FeatureConfig(evict_idle_seconds=2.0, evict_order_idle_seconds=2.0)
    whole = run(EVENTS, [], config)
    small = run(EVENTS, [50] * 40, config)
    assert np.array_equal(small, whole, equal_nan=True)
    np.testing.assert_array_equal(whole[:, 0], reference(EVENTS, 2.0)[:, 0])
    assert (whole[:, 0] == 0).sum() > (WHOLE[:, 0] == 0).sum()  # 2 s really cut histories


def test_a_batch_with_a_gap_inside_one_key_starts_a_fresh_segment() -> None:
    clock = KeyClock()
    slots = np.array([0, 1, 0, 0, -1, 1])
    ts = np.array([0.0, 1.0, 2.0, 100.0, 101.0, 102.0])
    seg = clock.segments(slots, ts, idle_seconds=10.0)
    members = [seg.rows[seg.starts[j] : seg.starts[j + 1]].tolist() for j in range(len(seg.slot))]
    assert members == [[0, 2], [1], [3], [4], [5]]  # 98 s and 101 s gaps cut histories
    assert seg.slot.tolist() == [0, 1, 0, -1, 1]
    assert seg.fresh.tolist() == [True] * 5
    assert seg.keep.tolist() == [False, False, True, False, True]
    again = clock.segments(np.array([0, 1]), np.array([105.0, 200.0]), idle_seconds=10.0)
    assert again.fresh.tolist() == [False, True]  # slot 0 goes on; slot 1 was idle 98 s


def test_state_is_bounded_by_live_keys() -> None:
    config = FeatureConfig(evict_idle_seconds=1.0, evict_order_idle_seconds=1.0)
    model = HistoryCounter()
    engine = FeatureEngine(config, sequences=model)
    for wave in range(10):
        batch = random_events(300, seed=wave, n_traders=30, mean_gap_us=1000)
        shifted = pc.add(pc.cast(batch.column("timestamp"), pa.int64()), wave * 60_000_000)
        batch = batch.set_column(1, "timestamp", shifted.cast(pa.timestamp("us", tz="UTC")))
        traders = pc.binary_join_element_wise(batch.column("trader_id"), f"-w{wave}", "")
        batch = batch.set_column(batch.schema.get_field_index("trader_id"), "trader_id", traders)
        engine.transform_batch(batch)
    assert len(model.clock.last_ts) <= 2 * engine.traders.capacity + 64
    assert len(model.mean.mean) <= 2 * engine.traders.capacity + 64
    assert engine.traders.capacity < 10 * 3 * 30  # slots were reused, so the state was too
