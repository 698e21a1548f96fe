"""Each trader-and-instrument key's window of its last K feature rows."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st
from kit import random_events

from tapewatch.features.catalog import MODEL_FEATURES, feature_columns
from tapewatch.features.config import FeatureConfig
from tapewatch.features.engine import FeatureEngine, compute_features_table
from tapewatch.features.windows import SequenceBuffer

EVENTS = random_events(2000, seed=5, n_traders=12)
COLUMNS = feature_columns(MODEL_FEATURES)
K = 4


def windows_of(
    events: pa.Table, sizes: list[int], config: FeatureConfig | None = None
) -> np.ndarray:
    engine = FeatureEngine(config or FeatureConfig(), sequences=SequenceBuffer(K, COLUMNS))
    parts, start = [], 0
    for size in [*sizes, events.num_rows]:
        batch = engine.transform_batch(events.slice(start, size))
        assert batch.windows is not None
        parts.append(batch.windows)
        start += size
        if start >= events.num_rows:
            break
    return np.concatenate(parts)


WHOLE = windows_of(EVENTS, [])


def test_a_window_is_the_keys_last_rows_oldest_first_padded_with_missing() -> None:
    features = compute_features_table(EVENTS)[:, list(COLUMNS)]
    keys = pc.binary_join_element_wise(
        EVENTS.column("instrument_id"), EVENTS.column("trader_id"), "|"
    ).to_pylist()
    history: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        history.setdefault(key, []).append(i)
        mine = history[key][-K:]
        expected = np.full((K, len(COLUMNS)), np.nan, dtype=np.float32)
        expected[K - len(mine) :] = features[mine]
        assert np.array_equal(WHOLE[i], expected, equal_nan=True), i
    assert np.isnan(WHOLE[0, :-1]).all()  # the first event of a key has no history


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=600), min_size=1, max_size=8))
def test_any_batch_split_gives_the_same_windows(sizes: list[int]) -> None:
    assert np.array_equal(windows_of(EVENTS, sizes), WHOLE, equal_nan=True)


def test_eviction_does_not_change_windows() -> None:
    config = FeatureConfig(evict_idle_seconds=2.0, evict_order_idle_seconds=2.0)
    whole = windows_of(EVENTS, [], config)
    small = windows_of(EVENTS, [50] * 40, config)
    assert np.array_equal(small, whole, equal_nan=True)
    # a 2 s horizon really cuts histories short
    assert np.isnan(whole[:, 0]).sum() > np.isnan(WHOLE[:, 0]).sum()


def test_buffer_memory_is_bounded_by_live_keys() -> None:
    config = FeatureConfig(evict_idle_seconds=1.0, evict_order_idle_seconds=1.0)
    buffer = SequenceBuffer(K, COLUMNS)
    engine = FeatureEngine(config, sequences=buffer)
    for wave in range(10):
        batch = random_events(300, seed=wave, n_traders=30, mean_gap_us=1000)
        shifted = pc.add(pc.cast(batch.column("timestamp"), pa.int64()), wave * 60_000_000)
        batch = batch.set_column(1, "timestamp", shifted.cast(pa.timestamp("us", tz="UTC")))
        traders = pc.binary_join_element_wise(batch.column("trader_id"), f"-w{wave}", "")
        batch = batch.set_column(batch.schema.get_field_index("trader_id"), "trader_id", traders)
        engine.transform_batch(batch)
    assert len(buffer.pushed) <= 2 * engine.traders.capacity + 64
    assert engine.traders.capacity < 10 * 3 * 30  # slots were reused, so the buffer was too
