"""Guess what a column holds, from a sample of its values: ids, codes, sides, times, numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tapewatch.ingest.mapping import Unit
from tapewatch.schema.coerce import flat, text_of, to_float, to_mask

_ISIN = r"^[A-Z]{2}[A-Z0-9]{9}[0-9]$"
_LEI = r"^[A-Z0-9]{18}[0-9]{2}$"
_MIC = r"^[A-Z]{4}$"
_ISO = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?"
#: How much of a sample must fit a pattern for the column to count as that kind.
_SHARE = 0.9

#: Source spellings of the two sides, upper case.
SIDE_WORDS: dict[str, str] = {
    "BUY": "BUY", "B": "BUY", "1": "BUY", "+1": "BUY", "BID": "BUY", "LONG": "BUY",
    "SELL": "SELL", "S": "SELL", "-1": "SELL", "ASK": "SELL", "OFFER": "SELL",
    "SHORT": "SELL", "SS": "SELL", "SELL_SHORT": "SELL",
}  # fmt: skip
#: Source spellings of order statuses, upper case.
STATUS_WORDS: dict[str, str] = {
    **dict.fromkeys(["NEW", "N", "OPEN", "ADD", "A", "ENTER", "INSERT", "PLACED", "SUBMITTED",
                     "SUBMIT", "PENDING_NEW"], "NEW"),
    **dict.fromkeys(["MODIFIED", "MODIFY", "MOD", "M", "AMEND", "AMENDED", "REPLACE",
                     "REPLACED", "U", "UPDATE", "UPDATED"], "MODIFIED"),
    **dict.fromkeys(["CANCELLED", "CANCELED", "CANCEL", "C", "X", "DELETE", "DELETED", "D",
                     "DEL", "EXPIRED", "PARTIAL_CANCEL"], "CANCELLED"),
    **dict.fromkeys(["EXECUTED", "EXECUTION", "EXEC", "E", "FILL", "FILLED", "F", "TRADE",
                     "TRADED", "T", "PARTIAL_FILL", "PARTIALLY_FILLED", "PARTIAL"], "EXECUTED"),
}  # fmt: skip
ORDER_TYPE_WORDS: dict[str, str] = {
    **dict.fromkeys(["LIMIT", "LMT", "L", "LIM"], "LIMIT"),
    **dict.fromkeys(["MARKET", "MKT"], "MARKET"),
    **dict.fromkeys(["STOP", "STP", "STOP_LIMIT"], "STOP"),
}
BOOL_WORDS = frozenset({"TRUE", "FALSE", "T", "F", "YES", "NO", "Y", "N", "1", "0"})

#: Magnitudes of epoch numbers per unit (1973 to 2286).
_EPOCH_RANGES: tuple[tuple[Unit, float, float], ...] = (
    ("s", 1e8, 1e10),
    ("ms", 1e11, 1e13),
    ("us", 1e14, 1e16),
    ("ns", 1e17, 1e19),
)


@dataclass(frozen=True)
class ColumnProfile:
    """What an auditor notes about one column, from the whole file's type and a sample."""

    name: str
    arrow_type: str
    null_share: float
    n_distinct: int
    examples: tuple[str, ...]
    #: kinds the values fit, e.g. 'isin', 'mic', 'side', 'status', 'iso_time', 'epoch',
    #: 'time_of_day', 'number', 'integer', 'positive', 'fraction', 'bool', 'lei', 'unique'
    kinds: frozenset[str] = field(default_factory=frozenset)
    epoch_unit: Unit | None = None
    #: suggested value maps (source spelling -> contract value), when the kind is a code
    value_map: tuple[tuple[str, str], ...] = ()
    median: float | None = None

    @property
    def numeric(self) -> bool:
        """Whether every present value in the sample is a number."""
        return "number" in self.kinds


def _share(mask: np.ndarray, present: int) -> float:
    return float(mask.sum()) / present if present else 0.0


def _code_map(distinct: list[str], words: dict[str, str]) -> tuple[tuple[str, str], ...] | None:
    """A value map if every distinct value (upper case) is a known spelling, else None."""
    if not distinct or len(distinct) > 30:
        return None
    upper = [value.upper() for value in distinct]
    if not all(value in words for value in upper):
        return None
    return tuple(sorted((value, words[value.upper()]) for value in distinct))


def profile_column(name: str, column: pa.ChunkedArray | pa.Array, n_total: int) -> ColumnProfile:
    """Profile one sampled column: type, nulls, distinct values and the kinds it fits."""
    arr = flat(column)
    text, _ = text_of(arr)
    present_mask = to_mask(pc.is_valid(text))
    present = int(present_mask.sum())
    n = len(arr)
    null_share = 1.0 - present / n if n else 0.0
    distinct_arr = pc.unique(text.filter(pa.array(present_mask)))
    n_distinct = len(distinct_arr)
    examples = tuple(str(v) for v in distinct_arr.slice(0, 5).to_pylist())
    kinds: set[str] = set()
    if present == 0:
        return ColumnProfile(name, str(column.type), null_share, 0, (), frozenset({"empty"}))
    upper = pc.ascii_upper(text)
    for kind, pattern in (("isin", _ISIN), ("lei", _LEI), ("iso_time", _ISO)):
        if _share(to_mask(pc.match_substring_regex(upper, pattern)), present) >= _SHARE:
            kinds.add(kind)
    if (
        n_distinct <= 50
        and _share(to_mask(pc.match_substring_regex(text, _MIC)), present) >= _SHARE
    ):
        kinds.add("mic")
    if n_distinct >= 0.98 * present and present > 1:
        kinds.add("unique")

    distinct = [str(v) for v in distinct_arr.slice(0, 31).to_pylist()]
    if n_distinct <= 30:
        normalised = sorted({_int_text(v) for v in distinct})
        value_map: tuple[tuple[str, str], ...] = ()
        for kind, words in (
            ("side", SIDE_WORDS),
            ("status", STATUS_WORDS),
            ("order_type", ORDER_TYPE_WORDS),
        ):
            found = _code_map(normalised, words)
            if found is not None and len(set(dict(found).values())) >= min(2, n_distinct):
                kinds.add(kind)
                value_map = value_map or found
        if {v.upper() for v in normalised} <= BOOL_WORDS and n_distinct <= 2:
            kinds.add("bool")
    else:
        value_map = ()

    parsed = to_float(arr, strictly_positive=False)
    not_number = parsed.problems[0].mask | parsed.problems[1].mask
    median: float | None = None
    epoch_unit: Unit | None = None
    if not not_number.any():
        kinds.add("number")
        negative = parsed.problems[2].mask
        values = np.asarray(
            pc.drop_null(parsed.values).to_numpy(zero_copy_only=False), dtype=np.float64
        )
        if not negative.any() and len(values) and (values > 0).all():
            kinds.add("positive")
        if len(values):
            median = float(np.median(values))
            if (np.floor(values) == values).all():
                kinds.add("integer")
            else:
                kinds.add("fraction")
            if not negative.any():
                epoch_unit = _epoch_unit(values)
                if epoch_unit is not None:
                    kinds.add("epoch")
                elif (
                    values.max() < 86_400 * 2 and "fraction" in kinds and n_distinct > 0.5 * present
                ):
                    kinds.add("time_of_day")
    return ColumnProfile(
        name=name,
        arrow_type=str(column.type),
        null_share=null_share,
        n_distinct=n_distinct,
        examples=examples,
        kinds=frozenset(kinds),
        epoch_unit=epoch_unit,
        value_map=value_map,
        median=median,
    )


def _int_text(value: str) -> str:
    """``'1.0'`` -> ``'1'``: numbers written as floats compare as the integers they are."""
    stripped = value.strip()
    if re.fullmatch(r"[+-]?\d+\.0+", stripped):
        return stripped.split(".")[0]
    return stripped


def _epoch_unit(values: np.ndarray) -> Unit | None:
    """The epoch unit whose plausible range holds every value, if any."""
    low, high = float(values.min()), float(values.max())
    for unit, lo, hi in _EPOCH_RANGES:
        if lo <= low and high < hi:
            return unit
    return None
