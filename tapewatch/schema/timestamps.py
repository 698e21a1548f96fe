"""Vectorised parsing of timestamps: ISO-8601 text, epoch microseconds, Arrow times."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from tapewatch.schema.coerce import (
    Mask,
    Parsed,
    Problem,
    flat,
    is_number,
    is_textual,
    null_mask,
    null_where,
    plain,
    show,
    text_of,
    to_mask,
    valid_mask,
)
from tapewatch.schema.columns import TIMESTAMP

_DATE_START = r"^\d{4}-\d{2}-\d{2}"
_ZONE_AT_END = r"(?:Z|[+-]\d{2}(?::?\d{2})?)$"
_SUB_MICRO = r"(\.\d{6})\d+"
_ISO = (
    r"^(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})[T ](?P<h>\d{2})"
    r"(?::(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,9}))?)?)?"
    r"(?:Z|(?P<sign>[+-])(?P<zh>\d{2})(?::?(?P<zm>\d{2}))?)?$"
)
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
_INT64_MAX = np.iinfo(np.int64).max
#: Timestamps must fit Python's datetime: 0001-01-01 to 9999-12-31 23:59:59.999999 UTC.
MIN_EPOCH_US = -62_135_596_800_000_000
MAX_EPOCH_US = 253_402_300_799_999_999
_US_PER_UNIT = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 1}


def _ints(values: pa.Array) -> tuple[npt.NDArray[np.int64], Mask]:
    """int64 numpy values (0 where null) and their validity."""
    valid = valid_mask(values)
    ints = pc.fill_null(pc.cast(values, pa.int64()), 0)
    return np.asarray(ints.to_numpy(zero_copy_only=False), dtype=np.int64), valid


def _epoch_from_timestamps(arr: pa.Array) -> tuple[npt.NDArray[np.int64], Mask, Mask]:
    unit = arr.type.unit
    raw, valid = _ints(arr)
    if unit == "ns":
        return raw // 1000, valid, np.zeros(len(arr), dtype=np.bool_)
    factor = _US_PER_UNIT[unit]
    overflow = valid & (np.abs(raw) > _INT64_MAX // factor)
    return np.where(overflow, 0, raw) * factor, valid & ~overflow, overflow


def _epoch_from_integers(arr: pa.Array) -> tuple[npt.NDArray[np.int64], Mask, Mask]:
    if pa.types.is_floating(arr.type):
        floats = arr.to_numpy(zero_copy_only=False).astype(np.float64)
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(floats) & (np.floor(floats) == floats) & (np.abs(floats) < 9.2e18)
        bad = valid_mask(arr) & ~ok
        ints = np.where(ok, floats, 0).astype(np.int64)
        return ints, ok, bad
    if pa.types.is_decimal(arr.type):
        return _epoch_from_integers(pc.cast(arr, pa.float64(), safe=False))
    too_big = to_mask(pc.greater(arr, _INT64_MAX)) if arr.type == pa.uint64() else None
    if too_big is not None and too_big.any():
        arr = null_where(pa.array(too_big), arr)
    ints, valid = _ints(arr)
    bad = too_big if too_big is not None else np.zeros(len(arr), dtype=np.bool_)
    return ints, valid, bad


def _digits(parts: pa.StructArray, name: str, width: int) -> npt.NDArray[np.int64]:
    """One group of an ISO match as integers; an unmatched optional group reads as 0."""
    text = pc.utf8_rpad(pc.fill_null(parts.field(name), ""), width=width, padding="0")
    return np.asarray(pc.cast(text, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def _days_from_civil(
    year: npt.NDArray[np.int64], month: npt.NDArray[np.int64], day: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm)."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return np.asarray(era * 146_097 + doe - 719_468, dtype=np.int64)


def parse_iso(text: pa.Array) -> tuple[npt.NDArray[np.int64], Mask]:
    """Epoch microseconds of ISO-8601 text, checking the calendar; naive means UTC.

    Accepts what Arrow's cast accepts: ``YYYY-MM-DD[T ]hh[:mm[:ss[.f{1,9}]]]`` then ``Z``,
    ``+hh``, ``+hhmm`` or ``+hh:mm`` (or nothing); digits past microseconds are dropped.
    Slower than the cast, but it never fails: it is what runs when the cast does.
    """
    parts = pc.extract_regex(pc.fill_null(text, ""), _ISO)
    year, month, day = (_digits(parts, name, 2) for name in ("y", "mo", "d"))
    hour, minute, second = (_digits(parts, name, 2) for name in ("h", "mi", "s"))
    zone_hours, zone_minutes = _digits(parts, "zh", 2), _digits(parts, "zm", 2)
    nanos = _digits(parts, "f", 9)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = _MONTH_DAYS[np.clip(month, 0, 12)] + (leap & (month == 2))
    valid = (
        valid_mask(parts)
        & (month >= 1)
        & (month <= 12)
        & (day >= 1)
        & (day <= month_days)
        & (hour <= 23)
        & (minute <= 59)
        & (second <= 59)
        & (zone_hours <= 23)
        & (zone_minutes <= 59)
    )
    sign = np.where(to_mask(pc.equal(parts.field("sign"), "-")), -1, 1)
    seconds = ((_days_from_civil(year, month, day) * 24 + hour) * 60 + minute) * 60 + second
    seconds -= sign * (zone_hours * 60 + zone_minutes) * 60
    micros = np.where(valid, seconds * 1_000_000 + nanos // 1000, 0)
    return np.asarray(micros, dtype=np.int64), valid


def _iso_by_cast(candidates: pa.Array, zulu: Mask) -> tuple[npt.NDArray[np.int64], Mask]:
    """Arrow's cast of ISO-8601 text (naive as UTC); raises if any cell does not parse."""
    if pc.any(pc.match_substring_regex(candidates, _SUB_MICRO)).as_py():
        candidates = pc.replace_substring_regex(candidates, _SUB_MICRO, r"\1")
    zoned = zulu | to_mask(pc.match_substring_regex(candidates, _ZONE_AT_END))
    ints = np.zeros(len(candidates), dtype=np.int64)
    valid = np.zeros(len(candidates), dtype=np.bool_)
    for group, kind in ((zoned, TIMESTAMP), (~zoned, pa.timestamp("us"))):
        if group.any():
            parsed, ok = _ints(pc.cast(null_where(pa.array(~group), candidates), kind))
            ints[ok] = parsed[ok]
            valid |= ok
    return ints, valid


def _epoch_from_text(text: pa.Array) -> tuple[npt.NDArray[np.int64], Mask, Mask]:
    """Epoch microseconds from ISO-8601 text or digit strings.

    Arrow's cast is quick, but each cell it fails on costs it an error message, so cells
    go to it by form (digits, ISO), garbage held back; if ISO cells still fail (a day
    that does not exist), :func:`parse_iso` decides for them instead.
    """
    n = len(text)
    present = valid_mask(text)
    upper = pc.ascii_upper(text)
    zulu = to_mask(pc.ends_with(upper, "Z"))
    if zulu.sum() == present.sum():  # the usual case: ISO-8601 in UTC throughout
        try:
            ints, valid = _ints(pc.cast(upper, TIMESTAMP))
            return ints, valid, np.zeros(n, dtype=np.bool_)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    ints = np.zeros(n, dtype=np.int64)
    valid = np.zeros(n, dtype=np.bool_)
    digits = to_mask(pc.ascii_is_decimal(upper)) & to_mask(pc.less_equal(pc.utf8_length(upper), 18))
    if digits.any():
        epoch, _ = _ints(pc.cast(null_where(pa.array(~digits), upper), pa.int64()))
        ints[digits] = epoch[digits]
        valid |= digits
    iso = present & ~digits
    if iso.any():
        iso &= to_mask(pc.match_substring_regex(upper, _DATE_START))
        candidates = null_where(pa.array(~iso), upper)
        try:
            from_iso, ok = _iso_by_cast(candidates, zulu & iso)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            from_iso, ok = parse_iso(candidates)
        ok &= iso
        ints[ok] = from_iso[ok]
        valid |= ok
    return ints, valid, present & ~valid


def to_timestamp(column: pa.Array | pa.ChunkedArray) -> Parsed:
    """Parse a timestamp: ISO-8601 text (naive means UTC), epoch microseconds, or Arrow time."""
    arr = flat(column)
    kind = arr.type
    n = len(arr)
    out_of_range = np.zeros(n, dtype=np.bool_)
    if pa.types.is_date(kind):
        arr = pc.cast(arr, pa.timestamp("s"))
        kind = arr.type
    if pa.types.is_timestamp(kind):
        ints, valid, out_of_range = _epoch_from_timestamps(arr)
        missing = null_mask(arr)
        unparseable = np.zeros(n, dtype=np.bool_)
    elif is_number(kind):
        ints, valid, unparseable = _epoch_from_integers(arr)
        missing = null_mask(arr)
    elif is_textual(kind):
        text, _ = text_of(arr)
        ints, valid, unparseable = _epoch_from_text(text)
        missing = null_mask(text)
    else:
        ints, valid = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.bool_)
        missing = null_mask(arr)
        unparseable = ~missing
    out_of_range |= valid & ((ints < MIN_EPOCH_US) | (ints > MAX_EPOCH_US))
    valid &= ~out_of_range
    values = pa.array(np.where(valid, ints, 0), type=pa.int64(), mask=~valid).cast(TIMESTAMP)
    problems = (
        Problem(unparseable, lambda raw: f"unparseable timestamp {show(raw)}"),
        Problem(out_of_range, lambda raw: f"timestamp out of range: {plain(raw)}"),
    )
    return Parsed(values, missing, problems)
