"""Validate raw event rows: good rows become a contract table, bad rows dead letters."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from tapewatch.schema.canonical import accept_canonical
from tapewatch.schema.coerce import (
    Mask,
    Parsed,
    Reason,
    flat,
    null_mask,
    to_bool,
    to_enum,
    to_float,
    to_mask,
    to_text,
)
from tapewatch.schema.columns import (
    BOOLEAN_COLUMNS,
    ENUM_VALUES,
    EVENT_DEFAULTS,
    EVENT_SCHEMA,
    LABELLED_EVENT_SCHEMA,
    NON_NEGATIVE_COLUMNS,
    POSITIVE_COLUMNS,
    REQUIRED_EVENT_COLUMNS,
    has_column,
)
from tapewatch.schema.deadletter import DeadLetter, json_safe_row
from tapewatch.schema.enums import ManipulationType, OrderStatus, OrderType
from tapewatch.schema.errors import ContractError
from tapewatch.schema.raw import RawTable
from tapewatch.schema.timestamps import to_timestamp

__all__ = ["DeadLetter", "ValidationResult", "validate_events"]

_TEXT = ("transaction_id", "order_id", "trader_id", "instrument_id", "trading_venue")
_KNOWN = tuple(LABELLED_EVENT_SCHEMA.names)


@dataclass(frozen=True)
class ValidationResult:
    """Good rows as a contract table, in input order, and one dead letter per bad row."""

    good: pa.Table
    bad: list[DeadLetter]

    @property
    def n_rows(self) -> int:
        """Number of input rows: good plus bad."""
        return int(self.good.num_rows) + len(self.bad)


@dataclass(frozen=True)
class _Check:
    field: str
    mask: Mask
    reason: Reason


def _required(_raw: object) -> str:
    return "required"


def _required_for_executed(_raw: object) -> str:
    return f"required for {OrderStatus.EXECUTED}"


def _empty_row(_raw: object) -> str:
    return "empty row"


def check_columns(raw: RawTable) -> None:
    """Raise ContractError if a required column is missing or a contract column is repeated."""
    names = raw.table.column_names
    if not names and raw.num_rows == 0:
        return  # nothing readable at all (e.g. JSON Lines whose every line is broken)
    counts = Counter(names)
    missing = [name for name in REQUIRED_EVENT_COLUMNS if name not in counts]
    if len(missing) == 1:
        raise ContractError(raw.source, f"missing required column '{missing[0]}'")
    if missing:
        listed = ", ".join(f"'{name}'" for name in missing)
        raise ContractError(raw.source, f"missing required columns {listed}")
    for name in _KNOWN:
        if counts[name] > 1:
            raise ContractError(raw.source, f"column '{name}' appears {counts[name]} times")


def _parse(table: pa.Table, name: str) -> Parsed | None:
    if not has_column(table, name):
        return None
    column = table.column(name)
    if name == "timestamp":
        return to_timestamp(column)
    if name in ENUM_VALUES:
        return to_enum(column, ENUM_VALUES[name])
    if name in POSITIVE_COLUMNS or name in NON_NEGATIVE_COLUMNS:
        return to_float(column, strictly_positive=name in POSITIVE_COLUMNS)
    if name in BOOLEAN_COLUMNS:
        return to_bool(column)
    return to_text(column)


def _empty_rows(table: pa.Table, candidates: Mask) -> Mask:
    """Rows, among ``candidates``, whose every cell is null or blank text."""
    empty = np.zeros(table.num_rows, dtype=np.bool_)
    rows = np.flatnonzero(candidates)
    if not len(rows):
        return empty
    picked = table.take(pa.array(rows, type=pa.int64()))
    blank = np.ones(len(rows), dtype=np.bool_)
    for column in picked.columns:
        column = flat(column)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            text = pc.utf8_trim_whitespace(column)
            blank &= null_mask(text) | to_mask(pc.equal(pc.utf8_length(text), 0))
        else:
            blank &= null_mask(column)
    empty[rows] = blank
    return empty


def _with_default(parsed: Parsed | None, name: str, n: int) -> pa.Array:
    kind = LABELLED_EVENT_SCHEMA.field(name).type
    default = EVENT_DEFAULTS.get(name)
    if parsed is None:
        if default is None:
            return pa.nulls(n, kind)
        return pa.repeat(pa.scalar(default, kind), n)
    if default is None:
        return parsed.values
    return pc.fill_null(parsed.values, pa.scalar(default, kind))


def validate_events(raw: RawTable) -> ValidationResult:
    """Split raw event rows into a contract-typed table of good rows and dead letters."""
    check_columns(raw)
    canonical = accept_canonical(raw)
    if canonical is not None:
        return ValidationResult(good=canonical, bad=list(raw.rejected))
    return validate_vectorised(raw)


def validate_vectorised(raw: RawTable) -> ValidationResult:
    """:func:`validate_events` column by column in Arrow, whatever the batch (columns
    already checked); the rules every row is held to."""
    table = raw.table
    n = int(table.num_rows)
    has_labels = has_column(table, "manipulation_type")
    schema = LABELLED_EVENT_SCHEMA if has_labels else EVENT_SCHEMA
    parsed = {name: _parse(table, name) for name in schema.names}
    columns = {name: _with_default(parsed[name], name, n) for name in schema.names}

    status = columns["order_status"]
    market_new = to_mask(
        pc.and_(
            pc.equal(columns["order_type"], OrderType.MARKET.value),
            pc.equal(status, OrderStatus.NEW.value),
        )
    )
    executed = to_mask(pc.equal(status, OrderStatus.EXECUTED.value))

    ids = parsed["transaction_id"]
    checks = [_Check("", _empty_rows(table, ids.missing), _empty_row)] if ids else []
    for name in schema.names:
        found = parsed[name]
        if name == "counterparty_id":
            absent = found.missing if found is not None else np.ones(n, dtype=np.bool_)
            checks.append(_Check(name, executed & absent, _required_for_executed))
        if found is None:
            continue
        if name in REQUIRED_EVENT_COLUMNS or name == "manipulation_type":
            need = found.missing & ~market_new if name == "price" else found.missing
            checks.append(_Check(name, need, _required))
        checks.extend(_Check(name, p.mask, p.reason) for p in found.problems)

    if has_labels:
        kind = columns["manipulation_type"]
        columns["is_manipulation"] = pc.coalesce(
            columns["is_manipulation"], pc.not_equal(kind, ManipulationType.NONE.value)
        )

    first_failure = np.full(n, -1, dtype=np.int32)
    for index, check in enumerate(checks):
        if check.mask.any():
            first_failure[check.mask & (first_failure < 0)] = index
    bad_rows = np.flatnonzero(first_failure >= 0)

    arrays = [columns[name] for name in schema.names]
    if len(bad_rows):
        keep = pa.array(first_failure < 0)
        arrays = [array.filter(keep) for array in arrays]
    good = pa.Table.from_arrays(arrays, schema=schema)

    letters = _dead_letters(raw, bad_rows, [checks[i] for i in first_failure[bad_rows]])
    if raw.rejected:
        letters = sorted([*letters, *raw.rejected], key=lambda letter: letter.line)
    return ValidationResult(good=good, bad=letters)


def _raw_rows(table: pa.Table, rows: npt.NDArray[np.intp]) -> list[dict[str, object]]:
    """The raw rows at ``rows``, JSON-serialisable (times as ISO text)."""
    picked = table.take(pa.array(rows, type=pa.int64()))
    columns = []
    for column in picked.columns:
        kind = column.type
        if pa.types.is_temporal(kind) and not pa.types.is_duration(kind):
            column = pc.cast(column, pa.string())
        columns.append(column)
    picked = pa.Table.from_arrays(columns, names=picked.column_names)
    return [json_safe_row(row) for row in picked.to_pylist()]


def _dead_letters(
    raw: RawTable, rows: npt.NDArray[np.intp], failed: list[_Check]
) -> list[DeadLetter]:
    if not len(rows):
        return []
    lines = raw.lines()[rows]
    values = _raw_rows(raw.table, rows)
    return [
        DeadLetter(int(line), raw.unit, check.field, check.reason(row.get(check.field)), row)
        for line, row, check in zip(lines, values, failed, strict=True)
    ]
