"""The arrays the feature kernel is given."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
from kit import random_events

from tapewatch.features.encode import encode_events


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
