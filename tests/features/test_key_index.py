"""KeyIndex: stable slots for live keys, distinct slots for distinct keys, freed slots reused."""

from __future__ import annotations

import pickle

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from tapewatch.features.keys import SMALL_BATCH, KeyIndex

KEYS = st.sampled_from([f"k{i}" for i in range(12)])
STEP = st.one_of(
    # up to twice SMALL_BATCH keys: both ways of looking keys up
    st.tuples(st.just("lookup"), st.lists(st.one_of(KEYS, st.none()), max_size=2 * SMALL_BATCH)),
    st.tuples(st.just("release"), st.lists(KEYS, max_size=5, unique=True)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(STEP, max_size=25))
def test_slots_behave_like_a_dictionary_that_reuses_freed_slots(steps: list) -> None:
    index = KeyIndex()
    live: dict[str, int] = {}
    peak = 0
    for action, keys in steps:
        if action == "lookup":
            slots = index.lookup(pa.array(keys, pa.string()))
            for key, slot in zip(keys, slots.tolist(), strict=True):
                if key is None:
                    assert slot == -1
                elif key in live:
                    assert slot == live[key]
                else:
                    live[key] = slot
        else:
            gone = [k for k in keys if k in live]
            index.release(np.array([live.pop(k) for k in gone], dtype=np.int64))
        assert len(set(live.values())) == len(live)  # distinct keys, distinct slots
        assert len(index) == len(live)
        assert sorted(index.live_slots().tolist()) == sorted(live.values())
        peak = max(peak, len(live))
        assert index.capacity == peak  # a slot is only added when none is free


def test_a_chunked_column_and_an_empty_one() -> None:
    index = KeyIndex()
    chunked = pa.chunked_array([["a", "b"], ["a", None]])
    assert index.lookup(chunked).tolist() == [0, 1, 0, -1]
    assert index.lookup(pa.chunked_array([], pa.string())).tolist() == []


@settings(max_examples=100, deadline=None)
@given(st.lists(STEP, max_size=25), st.lists(KEYS, max_size=15))
def test_a_pickled_index_goes_on_exactly_like_the_original(steps: list, later: list) -> None:
    index = KeyIndex()
    live: dict[str, int] = {}
    for action, keys in steps:
        if action == "lookup":
            slots = index.lookup(pa.array(keys, pa.string()))
            live.update((k, s) for k, s in zip(keys, slots.tolist(), strict=True) if k)
        else:
            gone = [k for k in keys if k in live]
            index.release(np.array([live.pop(k) for k in gone], dtype=np.int64))
    twin = pickle.loads(pickle.dumps(index))
    assert sorted(twin.live_slots().tolist()) == sorted(index.live_slots().tolist())
    assert twin.capacity == index.capacity
    # the same keys get the same slots, new keys the same reused or fresh slots
    column = pa.array(later, pa.string())
    assert twin.lookup(column).tolist() == index.lookup(column).tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.one_of(KEYS, st.none()), max_size=SMALL_BATCH), max_size=10))
def test_a_few_keys_get_the_slots_a_long_column_would_give(batches: list) -> None:
    few, many = KeyIndex(), KeyIndex()
    for keys in batches:
        column = pa.array(keys, pa.string())
        padded = pa.array(keys + [None] * (SMALL_BATCH + 1), pa.string())  # the Arrow way
        assert few.lookup(column).tolist() == many.lookup(padded).tolist()[: len(keys)]
