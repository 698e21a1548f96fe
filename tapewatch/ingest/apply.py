"""Apply a schema mapping to a raw table: contract column names, values, units and times.

The result is still a raw table (validation comes next); rows the mapping itself cannot
turn into contract values (a value missing from a value map, a number that does not
parse, an unreadable time) leave as dead letters carrying the source row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from tapewatch.ingest.clock import (
    midnight_micros,
    naive_text,
    number_micros,
    to_timestamp_array,
    wall_clock_to_utc,
)
from tapewatch.ingest.mapping import CANONICAL, FieldSpec, SchemaMapping
from tapewatch.schema.coerce import Mask, Reason, flat, is_textual, plain, show, text_of, to_float
from tapewatch.schema.columns import LABELLED_EVENT_SCHEMA
from tapewatch.schema.deadletter import DeadLetter, json_safe_row
from tapewatch.schema.raw import RawTable
from tapewatch.schema.timestamps import to_timestamp


@dataclass(frozen=True)
class _Failure:
    """Rows of one contract column the mapping could not convert, and how to word why."""

    field: str
    column: str
    mask: Mask
    reason: Reason


@dataclass(frozen=True)
class _Column:
    values: pa.Array
    failures: tuple[_Failure, ...] = ()


def apply_mapping(raw: RawTable, mapping: SchemaMapping) -> RawTable:
    """Contract-named columns from ``raw`` as ``mapping`` says; unmappable rows as dead letters.

    Contract columns the mapping does not name pass through when the file has them;
    ``transaction_id`` is derived from the row number when neither gives it.
    Raises ContractError if the mapping reads a column the file lacks.
    """
    mapping.check_columns(raw.table.column_names, raw.source)
    n = raw.num_rows
    lines = raw.lines()
    columns: dict[str, _Column] = {}
    for name in CANONICAL:
        spec = mapping.get(name)
        if spec is None and name == "transaction_id" and name not in raw.table.column_names:
            spec = FieldSpec(name, derive="row_number")
        if spec is not None:
            columns[name] = _build(spec, raw.table, lines, n)
        elif name in raw.table.column_names:
            columns[name] = _Column(flat(raw.table.column(name)))

    first_failure = np.full(n, -1, dtype=np.int32)
    failures = [f for column in columns.values() for f in column.failures]
    for index, failure in enumerate(failures):
        first_failure[failure.mask & (first_failure < 0)] = index
    keep = first_failure < 0
    table = pa.table({name: column.values for name, column in columns.items()})
    if keep.all():
        return RawTable(
            table=table,
            line_of_first_row=raw.line_of_first_row,
            unit=raw.unit,
            source=raw.source,
            row_lines=raw.row_lines,
            rejected=raw.rejected,
        )
    bad = np.flatnonzero(~keep)
    letters = _letters(raw, bad, [failures[i] for i in first_failure[bad]])
    rejected = tuple(sorted([*raw.rejected, *letters], key=lambda letter: letter.line))
    return RawTable(
        table=table.filter(pa.array(keep)),
        line_of_first_row=raw.line_of_first_row,
        unit=raw.unit,
        source=raw.source,
        row_lines=lines[keep],
        rejected=rejected,
    )


def _letters(raw: RawTable, rows: npt.NDArray[np.intp], failed: list[_Failure]) -> list[DeadLetter]:
    """Dead letters for source rows the mapping rejected, each with the source row."""
    picked = raw.table.take(pa.array(rows, type=pa.int64())).to_pylist()
    lines = raw.lines()[rows]
    return [
        DeadLetter(
            int(line),
            raw.unit,
            failure.field,
            failure.reason(row.get(failure.column)),
            json_safe_row(row),
        )
        for line, row, failure in zip(lines, picked, failed, strict=True)
    ]


def _build(spec: FieldSpec, table: pa.Table, lines: npt.NDArray[np.int64], n: int) -> _Column:
    """One contract column from its spec."""
    kind = LABELLED_EVENT_SCHEMA.field(spec.canonical).type
    if spec.derive == "row_number":
        return _Column(pc.cast(pa.array(lines, type=pa.int64()), pa.string()))
    if spec.column is None:
        value = spec.value
        if isinstance(value, float) and pa.types.is_string(kind):
            value = plain(value).removesuffix(".0")
        return _Column(pa.repeat(pa.scalar(value), n))
    source = flat(table.column(spec.column))
    if spec.canonical == "timestamp":
        return _timestamp(spec, spec.column, source)
    if spec.values is not None:
        return _value_map(spec, spec.column, source)
    if spec.scale is not None:
        return _scaled(spec, spec.column, source, spec.scale)
    return _Column(source)


def _value_map(spec: FieldSpec, column: str, source: pa.Array) -> _Column:
    """Source values translated by the spec's value map (trimmed, ignoring case)."""
    assert spec.values is not None
    keys = pa.array([key.upper() for key, _ in spec.values], pa.string())
    targets = pa.array([target for _, target in spec.values], pa.string())
    text, not_text = text_of(source)
    index = pc.index_in(pc.ascii_upper(text), value_set=keys)
    values = pc.take(targets, index)
    present = np.asarray(pc.is_valid(text).to_numpy(zero_copy_only=False), dtype=np.bool_)
    unknown = (present & np.asarray(pc.is_null(index).to_numpy(zero_copy_only=False))) | not_text
    known = ", ".join(key for key, _ in spec.values)

    def reason(raw: object) -> str:
        """Why a value-mapped cell was rejected."""
        return f"value {show(raw)} of column '{column}' is not in the mapping's values ({known})"

    return _Column(values, (_Failure(spec.canonical, column, unknown, reason),))


def _scaled(spec: FieldSpec, column: str, source: pa.Array, scale: float) -> _Column:
    """Numbers multiplied by ``scale``; cells that are not finite numbers >= 0 fail."""
    parsed = to_float(source, strictly_positive=False)
    values = pc.multiply(pc.cast(parsed.values, pa.float64()), pa.scalar(scale))
    failures = tuple(
        _Failure(spec.canonical, column, problem.mask, _in_column(problem.reason, column))
        for problem in parsed.problems
    )
    return _Column(values, failures)


def _in_column(reason: Reason, column: str) -> Reason:
    """A reason that also names the source column."""

    def worded(raw: object) -> str:
        """The reason, with the source column."""
        return f"column '{column}': {reason(raw)}"

    return worded


def _timestamp(spec: FieldSpec, column: str, source: pa.Array) -> _Column:
    """Contract timestamps from epoch numbers, time of day on a date, or (local) ISO text."""
    if spec.unit is not None:
        micros, valid, bad = number_micros(source, spec.unit)
        if spec.date is not None:
            micros = micros + midnight_micros(spec.date)
            micros, ok = wall_clock_to_utc(micros, valid, spec.timezone or "UTC")
            bad |= valid & ~ok
            valid = ok
        unit = spec.unit

        def reason(raw: object) -> str:
            """Why a numeric time was rejected."""
            return f"not a time in {unit} in column '{column}': {show(raw)}"

        return _Column(
            to_timestamp_array(micros, valid), (_Failure("timestamp", column, bad, reason),)
        )
    if spec.timezone is None:
        return _Column(source)
    parsed = to_timestamp(source)
    values = parsed.values
    if is_textual(source.type):
        local = naive_text(source)
    elif pa.types.is_timestamp(source.type) and source.type.tz is None:
        local = np.asarray(pc.is_valid(source).to_numpy(zero_copy_only=False), dtype=np.bool_)
    else:
        return _Column(values)
    ints = np.asarray(pc.fill_null(pc.cast(values, pa.int64()), 0).to_numpy(), dtype=np.int64)
    valid = np.asarray(pc.is_valid(values).to_numpy(zero_copy_only=False), dtype=np.bool_)
    utc, ok = wall_clock_to_utc(ints, valid & local, spec.timezone)
    out = np.where(local, utc, ints)
    keep = np.where(local, ok, valid)
    bad = np.zeros(len(source), dtype=np.bool_)
    for problem in parsed.problems:
        bad |= problem.mask
    bad |= valid & local & ~ok

    def reason_iso(raw: object) -> str:
        """Why a text time was rejected."""
        return f"unparseable timestamp in column '{column}': {show(raw)}"

    return _Column(to_timestamp_array(out, keep), (_Failure("timestamp", column, bad, reason_iso),))
