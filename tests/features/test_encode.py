"""The arrays the feature kernel is given."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st
from kit import random_events

from tapewatch.features.encode import _local_us, encode_events, stable_hashes
from tapewatch.features.keys import SMALL_BATCH


def _with_null_prices(events: pa.Table) -> pa.Table:
    prices = events.column("price").to_pylist()
    prices[0] = None
    return events.set_column(
        events.column_names.index("price"), "price", pa.array(prices, pa.float64())
    )


def test_numeric_arrays_are_writable_with_or_without_nulls() -> None:
    # numba compiles the kernel once per mix of read-only and writable arguments: a batch
    # whose columns happen to have no nulls must not bring a new mix (a compile on the
    # live path)
    events = random_events(50)
    for table in (events, _with_null_prices(events)):
        arrays = encode_events(table, "UTC")
        for field in dataclasses.fields(arrays):
            value = getattr(arrays, field.name)
            if isinstance(value, np.ndarray):
                assert value.flags.writeable, field.name
                assert value.flags.c_contiguous, field.name


def test_a_few_values_hash_as_they_would_in_a_long_column() -> None:
    few = ["ACC1", None, "ACC2", "ACC1", "\u00e9t\u00e9"]
    many = few + ["X"] * SMALL_BATCH
    hashes = stable_hashes(pa.array(few, pa.string()))
    assert hashes.tolist() == stable_hashes(pa.array(many, pa.string())).tolist()[: len(few)]
    assert hashes[1] == 0
    assert (hashes[[0, 2, 4]] > 0).all()
    assert hashes[0] == hashes[3] != hashes[2]


def _listed(value: object) -> object:
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value.to_pylist() if isinstance(value, pa.Array | pa.ChunkedArray) else value


def test_a_few_rows_encode_as_they_would_in_a_long_table() -> None:
    events = random_events(3 * SMALL_BATCH)
    long = encode_events(events, "America/New_York")
    for start, size in ((0, 1), (5, 7), (40, SMALL_BATCH)):
        few = encode_events(events.slice(start, size), "America/New_York")
        for field in dataclasses.fields(long):
            whole = _listed(getattr(long, field.name))
            assert _listed(getattr(few, field.name)) == whole[start : start + size], field.name


#: 2026's changes of offset in New York (March 8, November 1) and London (March 29)
_CHANGES_US = [1_772_953_200_000_000, 1_793_512_800_000_000, 1_774_746_000_000_000]


@settings(max_examples=200, deadline=None)
@given(
    change=st.sampled_from(_CHANGES_US),
    offsets_s=st.lists(st.integers(-2 * 86_400, 2 * 86_400), min_size=1, max_size=20),
    zone=st.sampled_from(["America/New_York", "Europe/London", "UTC", "Asia/Kolkata"]),
)
def test_wall_clock_times_match_arrows_across_changes_of_offset(
    change: int, offsets_s: list[int], zone: str
) -> None:
    us = np.sort(np.array([change + s * 1_000_003 for s in offsets_s], dtype=np.int64))
    stamps = pa.array(us, pa.int64()).cast(pa.timestamp("us", tz="UTC"))
    local = pc.local_timestamp(pc.cast(stamps, pa.timestamp("us", tz=zone)))
    expected = pc.cast(local, pa.int64()).to_numpy()
    assert _local_us(stamps, us, zone).tolist() == expected.tolist()
