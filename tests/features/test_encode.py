"""The arrays the feature kernel is given."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
from kit import random_events

from tapewatch.features.encode import encode_events, stable_hashes
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
