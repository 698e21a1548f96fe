"""Timestamps from foreign forms: epoch numbers in any unit, time of day, local wall clocks."""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from tapewatch.ingest.mapping import Unit
from tapewatch.schema.coerce import Mask, flat, is_textual, null_where, safe_cast, to_float, to_mask

Micros = npt.NDArray[np.int64]

#: Microseconds per unit (ns is divided, not multiplied).
US_PER_UNIT: dict[Unit, float] = {"s": 1e6, "ms": 1e3, "us": 1.0, "ns": 1e-3}
_INT_PER_UNIT: dict[Unit, int] = {"s": 1_000_000, "ms": 1_000, "us": 1}
_INTEGER = r"^\s*[+-]?\d{1,19}\s*$"
_ZONE_AT_END = r"(?:Z|[+-]\d{2}(?::?\d{2})?)\s*$"
_INT64_MAX = np.iinfo(np.int64).max


def _from_integers(ints: Micros, unit: Unit) -> tuple[Micros, Mask]:
    """Exact integer conversion to microseconds, and a mask of values that overflow."""
    if unit == "ns":
        return ints // 1000, np.zeros(len(ints), dtype=np.bool_)
    factor = _INT_PER_UNIT[unit]
    overflow = np.abs(ints) > _INT64_MAX // factor
    return np.where(overflow, 0, ints) * factor, overflow


def number_micros(column: pa.Array | pa.ChunkedArray, unit: Unit) -> tuple[Micros, Mask, Mask]:
    """Microseconds from numbers of ``unit``: values, valid mask, mask of unparseable cells.

    Integers (typed, or integer text) convert exactly; other numbers through float64,
    rounded to the nearest microsecond.
    """
    arr = flat(column)
    n = len(arr)
    micros = np.zeros(n, dtype=np.int64)
    valid = np.zeros(n, dtype=np.bool_)
    integer = np.zeros(n, dtype=np.bool_)
    if pa.types.is_integer(arr.type):
        integer = to_mask(pc.is_valid(arr))
        ints = np.asarray(pc.fill_null(pc.cast(arr, pa.int64()), 0).to_numpy(), dtype=np.int64)
    elif is_textual(arr.type):
        text = arr.cast(pa.string())
        integer = to_mask(pc.match_substring_regex(text, _INTEGER))
        cast, failed = safe_cast(
            pc.utf8_trim_whitespace(null_where(pa.array(~integer), text)), pa.int64()
        )
        integer &= ~failed
        ints = np.asarray(pc.fill_null(cast, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    else:
        ints = np.zeros(n, dtype=np.int64)
    if integer.any():
        exact, overflow = _from_integers(ints, unit)
        ok = integer & ~overflow
        micros[ok] = exact[ok]
        valid |= ok
    rest = ~integer
    parsed = to_float(
        null_where(pa.array(~rest), arr) if integer.any() else arr, strictly_positive=False
    )
    floats = np.asarray(pc.fill_null(parsed.values, np.nan).to_numpy(zero_copy_only=False))
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = floats * US_PER_UNIT[unit]
        fits = rest & np.isfinite(scaled) & (np.abs(scaled) < 9.2e18)
    micros[fits] = np.round(scaled[fits]).astype(np.int64)
    valid |= fits
    present = to_mask(pc.is_valid(arr)) & ~parsed.missing
    return micros, valid, present & ~valid


def midnight_micros(date: dt.date) -> int:
    """Microseconds from the epoch to the start of ``date`` (as a naive wall clock)."""
    return (date - dt.date(1970, 1, 1)).days * 86_400_000_000


def wall_clock_to_utc(wall: Micros, valid: Mask, timezone: str) -> tuple[Micros, Mask]:
    """UTC microseconds of naive wall-clock microseconds in ``timezone``.

    Ambiguous and non-existent local times (daylight-saving changes) take the earlier
    reading; cells out of Arrow's range come back invalid.
    """
    naive = pa.array(wall, type=pa.int64(), mask=~valid).cast(pa.timestamp("us"))
    try:
        zoned = pc.assume_timezone(
            naive, timezone=timezone, ambiguous="earliest", nonexistent="earliest"
        )
    except pa.ArrowInvalid as exc:
        raise ValueError(f"cannot convert local times in {timezone}: {exc}") from None
    ints = pc.cast(pc.cast(zoned, pa.timestamp("us", tz="UTC")), pa.int64())
    ok = to_mask(pc.is_valid(ints))
    return np.asarray(pc.fill_null(ints, 0).to_numpy(), dtype=np.int64), valid & ok


def naive_text(column: pa.Array) -> Mask:
    """Cells of a text column with no zone suffix (``Z``, ``+hh:mm``): local wall clocks."""
    text = column.cast(pa.string())
    return to_mask(pc.is_valid(text)) & ~to_mask(pc.match_substring_regex(text, _ZONE_AT_END))


def to_timestamp_array(micros: Micros, valid: Mask) -> pa.Array:
    """A contract timestamp column (UTC microseconds), null where not ``valid``."""
    return pa.array(np.where(valid, micros, 0), type=pa.int64(), mask=~valid).cast(
        pa.timestamp("us", tz="UTC")
    )
