"""Small batches whose every cell is already in the contract's form, accepted in Python.

The vectorised validator costs about two milliseconds a call however few rows it is given
(some eighty Arrow calls), which is most of the service's and a paced stream's time per
batch. Most requests need none of its repairs: ids without surrounding blanks, enums in
upper case, finite positive numbers, booleans, ISO-8601 times (`T`, whole seconds or
up to six decimals, a `Z`, `+hh:mm` or nothing) or epoch microseconds
(or the contract's own timestamp type, as files written by tapewatch hold).
:func:`accept_canonical` recognises such batches cheaply and builds the same table the
validator would; anything else (a blank, a lower-case enum, a string number, a missing
field) returns None and goes to the validator, which alone words rejections. A
hypothesis test holds the two to the same table.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping, Sequence

import pyarrow as pa

from tapewatch.schema.columns import (
    BOOLEAN_COLUMNS,
    ENUM_VALUES,
    EVENT_DEFAULTS,
    EVENT_SCHEMA,
    LABELLED_EVENT_SCHEMA,
    NON_NEGATIVE_COLUMNS,
    POSITIVE_COLUMNS,
    REQUIRED_EVENT_COLUMNS,
    TIMESTAMP,
)
from tapewatch.schema.enums import ManipulationType, OrderStatus, OrderType
from tapewatch.schema.raw import RawTable
from tapewatch.schema.timestamps import MAX_EPOCH_US, MIN_EPOCH_US

#: above this many rows the vectorised validator is as quick
MAX_ROWS = 256

_ENUMS = {name: frozenset(values) for name, values in ENUM_VALUES.items()}
#: Arrow types of raw columns whose Python values this module can judge
_PLAIN_TYPES = (pa.string(), pa.int64(), pa.float64(), pa.bool_(), pa.null())
_ISO_PLAIN = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})?", re.ASCII
)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_US = dt.timedelta(microseconds=1)

#: Turns a present cell into its contract value, or None when the validator must judge it.
_Convert = Callable[[object], object]


def _text(value: object) -> object:
    # only printable ASCII at either end: nothing for the validator to trim
    if type(value) is str and value and "!" <= value[0] <= "~" and "!" <= value[-1] <= "~":
        return value
    return None


def _enum(allowed: frozenset[str]) -> _Convert:
    def convert(value: object) -> object:
        return value if type(value) is str and value in allowed else None

    return convert


def _number(strictly_positive: bool) -> _Convert:
    def convert(value: object) -> object:
        if type(value) is int and abs(value) < 2**53:
            value = float(value)
        if type(value) is not float or not math.isfinite(value):
            return None
        ok = value > 0.0 if strictly_positive else value >= 0.0
        return value if ok else None

    return convert


def _bool(value: object) -> object:
    return value if type(value) is bool else None


def _timestamp(value: object) -> object:
    if type(value) is int:
        micros = value
    elif type(value) is str and _ISO_PLAIN.fullmatch(value):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        micros = (parsed - _EPOCH) // _ONE_US
    else:
        return None
    return micros if MIN_EPOCH_US <= micros <= MAX_EPOCH_US else None


def _converter(name: str) -> _Convert:
    if name == "timestamp":
        return _timestamp
    if name in _ENUMS:
        return _enum(_ENUMS[name])
    if name in POSITIVE_COLUMNS or name in NON_NEGATIVE_COLUMNS:
        return _number(name in POSITIVE_COLUMNS)
    if name in BOOLEAN_COLUMNS:
        return _bool
    return _text


_CONVERTERS = {name: _converter(name) for name in LABELLED_EVENT_SCHEMA.names}
#: a missing cell is allowed where the validator fills a default or keeps a null
_MAY_BE_MISSING = frozenset(LABELLED_EVENT_SCHEMA.names) - {
    *REQUIRED_EVENT_COLUMNS,
    "manipulation_type",
}


_TYPES = {field.name: field.type for field in LABELLED_EVENT_SCHEMA}


#: columns whose missing cells stay missing, so that a column with some passes unchanged
#: (elsewhere a default is filled in, or `is_manipulation` derived from the type)
_NULLS_STAY = frozenset(LABELLED_EVENT_SCHEMA.names) - {*EVENT_DEFAULTS, "is_manipulation"}


def accept_canonical(raw: RawTable) -> pa.Table | None:
    """The contract table of a small batch whose every row is already valid and in
    canonical form, exactly as the validator would build it; None otherwise."""
    table = raw.table
    n = raw.num_rows
    if not n or n > MAX_ROWS:
        return None
    for field in table.schema:
        if field.type not in _PLAIN_TYPES and not (
            field.name == "timestamp" and field.type == TIMESTAMP
        ):
            return None
    # the columns as arrays in one call (a column looked up by name costs a microsecond)
    batches = table.to_batches()
    if len(batches) != 1:
        batches = table.combine_chunks().to_batches()
    given = dict(zip(table.column_names, batches[0].columns, strict=True))

    def values(name: str) -> list[object] | None:
        column = given[name]
        if column.type == TIMESTAMP:  # already the contract's type: its microseconds
            column = column.cast(pa.int64())
        cells: list[object] = column.to_pylist()
        return cells

    return _accept(set(given), values, n, given.__getitem__)


def accept_canonical_records(records: Sequence[object]) -> pa.Table | None:
    """`accept_canonical` of events given as dicts (a request's parsed JSON), read
    straight from the dicts: the table `validate_events(parse_records(records))` would
    give when every event is canonical and valid; None otherwise."""
    n = len(records)
    if not n or n > MAX_ROWS:
        return None
    rows: list[Mapping[str, object]] = []
    for record in records:
        if type(record) is not dict:  # anything else: the reader and validator judge it
            return None
        rows.append(record)
    present: set[str] = set().union(*rows)

    def values(name: str) -> list[object] | None:
        cells = [row.get(name) for row in rows]
        kinds = {type(cell) for cell in cells if cell is not None}
        # one JSON type a field, as an Arrow column of them has (ints and floats make
        # floats); a mix the reader would turn into text goes the reader's way
        return cells if len(kinds) <= 1 or kinds == {int, float} else None

    return _accept(present, values, n)


def _accept(
    present: set[str],
    values: Callable[[str], list[object] | None],
    n: int,
    as_given: Callable[[str], pa.Array] | None = None,
) -> pa.Table | None:
    """The contract table of `n` rows with these columns present, each column's Python
    values given by `values` (None: a column to leave to the validator); None at the
    first cell the validator must judge.

    as_given: a present column as it came, kept as it is when it already has the
    contract's type and no missing cell to fill (every cell passed, so the values are the
    same), instead of being built again from its Python values.
    """
    schema = LABELLED_EVENT_SCHEMA if "manipulation_type" in present else EVENT_SCHEMA
    cells: dict[str, list[object]] = {}
    for name in schema.names:
        # a missing price is judged with the row's status, in _rows_complete
        missing_ok = name in _MAY_BE_MISSING or name == "price"
        default = EVENT_DEFAULTS.get(name)
        if name not in present:  # only optional columns may be absent altogether
            if name not in _MAY_BE_MISSING:
                return None
            cells[name] = [default] * n
            continue
        convert = _CONVERTERS[name]
        column = values(name)
        if column is None:
            return None
        converted: list[object] = []
        for value in column:
            if value is None:
                if not missing_ok:
                    return None
                converted.append(default)
            elif (cell := convert(value)) is not None:
                converted.append(cell)
            else:
                return None
        cells[name] = converted
    if not _rows_complete(cells, n):
        return None
    if schema is LABELLED_EVENT_SCHEMA:
        cells["is_manipulation"] = [
            (kind != ManipulationType.NONE.value) if flag is None else flag
            for flag, kind in zip(cells["is_manipulation"], cells["manipulation_type"], strict=True)
        ]
    arrays = []
    for name in schema.names:
        kind = _TYPES[name]
        given = as_given(name) if as_given is not None and name in present else None
        if (
            given is not None
            and given.type == kind
            and (given.null_count == 0 or name in _NULLS_STAY)
        ):
            arrays.append(given)
        elif name == "timestamp":
            arrays.append(pa.array(cells[name], pa.int64()).cast(TIMESTAMP))
        else:
            arrays.append(pa.array(cells[name], kind))
    return pa.Table.from_arrays(arrays, schema=schema)


def _rows_complete(cells: dict[str, list[object]], n: int) -> bool:
    """The rules across fields: a price unless a market order is new, a counterparty on
    every execution."""
    for i in range(n):
        status = cells["order_status"][i]
        if cells["price"][i] is None and not (
            status == OrderStatus.NEW.value and cells["order_type"][i] == OrderType.MARKET.value
        ):
            return False
        if status == OrderStatus.EXECUTED.value and cells["counterparty_id"][i] is None:
            return False
    return True
