"""Small Arrow helpers shared by the stages."""

from __future__ import annotations

import pyarrow as pa

from tapewatch.schema.columns import concat_tables


def test_tables_of_one_schema_concatenate_as_they_are() -> None:
    a = pa.table({"x": [1, 2], "y": ["a", "b"]})
    joined = concat_tables([a, a.slice(1)])
    assert joined.schema == a.schema
    assert joined.column("x").to_pylist() == [1, 2, 2]


def test_columns_of_different_types_are_promoted_and_missing_ones_filled() -> None:
    ints = pa.table({"x": pa.array([1], pa.int64())})
    floats = pa.table({"x": pa.array([2.5], pa.float64()), "y": ["z"]})
    joined = concat_tables([ints, floats])
    assert joined.schema.field("x").type == pa.float64()
    assert joined.column("x").to_pylist() == [1.0, 2.5]
    assert joined.column("y").to_pylist() == [None, "z"]
