"""Vectorised parsing of raw columns into the contract's types.

Each parser takes a whole column of any Arrow type and returns the parsed values
(null where the cell is missing or invalid), a mask of missing cells, and one mask per
kind of problem, in order of precedence, with a function that words the reason from the
raw cell. Python only ever runs per row to word reasons for rows already known to be bad.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

Mask = npt.NDArray[np.bool_]
#: Words a dead-letter reason from the raw value of the failing cell.
Reason = Callable[[object], str]

_NUMBER = (
    r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
    r"|^[+-]?(?i:inf|infinity|nan(?:\([0-9a-z_]*\))?)$"
)
_TRUE = pa.array(["true", "t", "yes", "y", "1"])
_FALSE = pa.array(["false", "f", "no", "n", "0"])


@dataclass(frozen=True)
class Problem:
    """Cells that are present but invalid in one way, and how to word why."""

    mask: Mask
    reason: Reason


@dataclass(frozen=True)
class Parsed:
    """A column parsed into its contract type."""

    values: pa.Array
    missing: Mask
    problems: tuple[Problem, ...] = ()


def show(raw: object) -> str:
    """A raw value quoted for a reason, e.g. ``'abc'``, shortened when long."""
    text = raw if isinstance(raw, str) else repr(raw)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"'{text}'" if isinstance(raw, str) else text


def plain(raw: object) -> str:
    """A raw value shown unquoted, e.g. ``-3.5``."""
    return raw.strip() if isinstance(raw, str) else str(raw)


def to_mask(values: pa.Array | pa.ChunkedArray) -> Mask:
    """A numpy bool mask from an Arrow boolean array, nulls counting as False."""
    # each Arrow call costs microseconds: small batches (the service, streams) skip
    # the ones that cannot change anything
    filled = values if values.null_count == 0 else pc.fill_null(values, False)
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=np.bool_)


def null_mask(values: pa.Array | pa.ChunkedArray) -> Mask:
    """Where values are null."""
    if values.null_count == 0:
        return np.zeros(len(values), dtype=np.bool_)
    return to_mask(pc.is_null(values))


def valid_mask(values: pa.Array | pa.ChunkedArray) -> Mask:
    """Where values are not null."""
    if values.null_count == 0:
        return np.ones(len(values), dtype=np.bool_)
    return to_mask(pc.is_valid(values))


def flat(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous array, with dictionary encoding undone (chunk by chunk)."""
    if pa.types.is_dictionary(column.type):
        column = pc.cast(column, column.type.value_type)
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks else pa.array([], type=column.type)
    return column


def _is_nested(kind: pa.DataType) -> bool:
    return bool(pa.types.is_nested(kind) or pa.types.is_union(kind))


def is_textual(kind: pa.DataType) -> bool:
    """Whether a column of this type holds text (or only nulls)."""
    return bool(
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_string_view(kind)
        or pa.types.is_null(kind)
    )


def is_number(kind: pa.DataType) -> bool:
    """Whether a column of this type holds numbers."""
    return bool(
        pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
    )


def null_where(condition: pa.Array, values: pa.Array) -> pa.Array:
    """``values`` with null wherever ``condition`` holds."""
    return pc.if_else(condition, pa.scalar(None, values.type), values)


def safe_cast(values: pa.Array, target: pa.DataType) -> tuple[pa.Array, Mask]:
    """Cast element-wise; cells Arrow cannot cast become null and are marked failed."""
    try:
        return pc.cast(values, target), np.zeros(len(values), dtype=np.bool_)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    failed = np.zeros(len(values), dtype=np.bool_)
    parts: list[pa.Array] = []
    pending = [(0, len(values))]
    while pending:  # bisect, left piece first: only failing pieces split, down to single cells
        lo, hi = pending.pop()
        try:
            parts.append(pc.cast(values.slice(lo, hi - lo), target))
            continue
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            if hi - lo == 1:
                failed[lo] = True
                parts.append(pa.nulls(1, target))
                continue
        mid = (lo + hi) // 2
        pending += [(mid, hi), (lo, mid)]
    return pa.concat_arrays(parts), failed


def text_of(column: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, Mask]:
    """Trimmed text with blanks as null, and a mask of cells that cannot be text."""
    arr = flat(column)
    kind = arr.type
    n = len(arr)
    not_text = np.zeros(n, dtype=np.bool_)
    if is_textual(kind):
        text = arr.cast(pa.string())
    elif _is_nested(kind):
        not_text = valid_mask(arr)
        text = pa.nulls(n, pa.string())
    else:  # numbers, booleans, times, binary: as text, where Arrow can
        text, not_text = safe_cast(arr, pa.string())
    text = pc.utf8_trim_whitespace(text)
    text = null_where(pc.equal(pc.utf8_length(text), 0), text)
    return text, not_text


def _missing(values: pa.Array, *invalid: Mask) -> Mask:
    missing = null_mask(values)
    for mask in invalid:
        missing &= ~mask
    return missing


def to_text(column: pa.Array | pa.ChunkedArray) -> Parsed:
    """Parse a free-text column (ids, venue): surrounding blanks trimmed, blank is missing."""
    text, not_text = text_of(column)
    problems = (Problem(not_text, lambda raw: f"expected a single text value, got {show(raw)}"),)
    return Parsed(text, _missing(text, not_text), problems)


def to_enum(column: pa.Array | pa.ChunkedArray, allowed: Sequence[str]) -> Parsed:
    """Parse an enumeration: any case, surrounding blanks ignored, upper-cased."""
    text, not_text = text_of(column)
    upper = pc.ascii_upper(text)
    known = to_mask(pc.is_in(upper, value_set=pa.array(list(allowed), pa.string())))
    unknown = valid_mask(upper) & ~known
    values = null_where(pa.array(~known), upper)
    choices = ", ".join(allowed)

    def reason(raw: object) -> str:
        """Why an enum cell was rejected."""
        return f"unknown value {show(raw)}; expected one of {choices}"

    return Parsed(values, _missing(text, not_text), (Problem(unknown | not_text, reason),))


def to_float(column: pa.Array | pa.ChunkedArray, *, strictly_positive: bool) -> Parsed:
    """Parse a float column: finite, and > 0 (or >= 0 when not ``strictly_positive``)."""
    arr = flat(column)
    n = len(arr)
    if is_number(arr.type):
        floats = pc.cast(arr, pa.float64(), safe=False)
        not_number = np.zeros(n, dtype=np.bool_)
        missing = null_mask(floats)
    elif is_textual(arr.type):
        text, _ = text_of(arr)
        missing = null_mask(text)
        try:  # the usual case: every cell is a number
            floats = pc.cast(text, pa.float64())
            not_number = np.zeros(n, dtype=np.bool_)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            looks = to_mask(pc.match_substring_regex(text, _NUMBER))
            floats, failed = safe_cast(null_where(pa.array(~looks), text), pa.float64())
            not_number = ~missing & (~looks | failed)
    else:
        floats = pa.nulls(n, pa.float64())
        missing = null_mask(arr)
        not_number = ~missing
    finite = to_mask(pc.is_finite(floats))
    not_finite = ~missing & ~not_number & ~finite
    if strictly_positive:
        bad_sign = finite & ~to_mask(pc.greater(floats, 0.0))
        limit = "> 0"
    else:
        bad_sign = finite & ~to_mask(pc.greater_equal(floats, 0.0))
        limit = ">= 0"
    values = null_where(pa.array(~finite | bad_sign), floats)
    problems = (
        Problem(not_number, lambda raw: f"not a number: {show(raw)}"),
        Problem(not_finite, lambda raw: f"must be finite, got {plain(raw)}"),
        Problem(bad_sign, lambda raw: f"must be {limit}, got {plain(raw)}"),
    )
    return Parsed(values, missing, problems)


def to_bool(column: pa.Array | pa.ChunkedArray) -> Parsed:
    """Parse a boolean: true/false, 1/0, yes/no, t/f, y/n in any case."""
    arr = flat(column)
    n = len(arr)
    if pa.types.is_boolean(arr.type):
        return Parsed(arr, null_mask(arr))
    if is_number(arr.type):
        floats = pc.cast(arr, pa.float64(), safe=False)
        yes = to_mask(pc.equal(floats, 1.0))
        no = to_mask(pc.equal(floats, 0.0))
        missing = null_mask(arr)
    elif is_textual(arr.type):
        text, _ = text_of(arr)
        lower = pc.ascii_lower(text)
        yes = to_mask(pc.is_in(lower, value_set=_TRUE))
        no = to_mask(pc.is_in(lower, value_set=_FALSE))
        missing = null_mask(text)
    else:
        yes = no = np.zeros(n, dtype=np.bool_)
        missing = null_mask(arr)
    invalid = ~missing & ~yes & ~no
    values = pa.array(yes, type=pa.bool_(), mask=~(yes | no))
    return Parsed(values, missing, (Problem(invalid, lambda raw: f"not a boolean: {show(raw)}"),))
