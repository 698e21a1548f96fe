"""The schema mapping file: how a foreign layout's columns become the contract's.

A mapping is a JSON object whose keys are contract column names. Each value is either a
source column name (a plain rename) or an object with exactly one source and optional
transforms::

    {
      "_comment": "keys starting with '_' are ignored",
      "trader_id": "account",
      "side": {"column": "direction", "values": {"1": "BUY", "-1": "SELL"}},
      "price": {"column": "px", "scale": 0.0001},
      "timestamp": {"column": "t", "unit": "s", "timezone": "America/New_York",
                    "date": "2012-06-21"},
      "trading_venue": {"value": "XNAS"},
      "transaction_id": {"derive": "row_number"}
    }

Sources: ``column`` (a source column), ``value`` (a constant for every row), ``derive``
(``row_number``: the row's line or row number as text). Transforms: ``values`` (map of
source values, compared as trimmed text ignoring case, to contract values), ``scale`` (a
number the parsed value is multiplied by; numeric fields only), and for ``timestamp``:
``unit`` (the source is a number of ``s``/``ms``/``us``/``ns``: since the epoch, or since
local midnight of ``date``), ``timezone`` (IANA zone of wall-clock times: naive ISO text,
or ``date`` + time of day) and ``date`` (``YYYY-MM-DD``; needs ``unit``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast

from tapewatch.schema.columns import LABELLED_EVENT_SCHEMA
from tapewatch.schema.errors import ContractError

Unit = Literal["s", "ms", "us", "ns"]
Derive = Literal["row_number"]
Constant = str | float | bool

UNITS: tuple[Unit, ...] = ("s", "ms", "us", "ns")
DERIVATIONS: tuple[Derive, ...] = ("row_number",)
#: Contract columns a mapping may fill.
CANONICAL: tuple[str, ...] = tuple(LABELLED_EVENT_SCHEMA.names)
#: Contract columns holding numbers, the only ones ``scale`` applies to.
NUMERIC: tuple[str, ...] = ("price", "quantity", "bid_price", "ask_price", "bid_size", "ask_size")
#: Words a problem with one field as a ContractError.
_Fail = Callable[[str], ContractError]
_KEYS = frozenset({"column", "value", "derive", "values", "scale", "unit", "timezone", "date"})


@dataclass(frozen=True)
class FieldSpec:
    """How one contract column is filled: from a column, a constant or a derivation."""

    canonical: str
    column: str | None = None
    value: Constant | None = None
    derive: Derive | None = None
    values: tuple[tuple[str, str], ...] | None = None
    scale: float | None = None
    unit: Unit | None = None
    timezone: str | None = None
    date: dt.date | None = None

    @property
    def is_rename(self) -> bool:
        """Whether this spec is a plain rename of a source column."""
        return self.column is not None and self == FieldSpec(self.canonical, column=self.column)

    def to_json(self) -> object:
        """The JSON form of this spec: a column name for a rename, else an object."""
        if self.is_rename:
            return self.column
        out: dict[str, object] = {}
        if self.column is not None:
            out["column"] = self.column
        if self.value is not None:
            out["value"] = self.value
        if self.derive is not None:
            out["derive"] = self.derive
        if self.values is not None:
            out["values"] = dict(self.values)
        if self.scale is not None:
            out["scale"] = self.scale
        if self.unit is not None:
            out["unit"] = self.unit
        if self.timezone is not None:
            out["timezone"] = self.timezone
        if self.date is not None:
            out["date"] = self.date.isoformat()
        return out


@dataclass(frozen=True)
class SchemaMapping:
    """A validated mapping: one spec per mapped contract column, in file order."""

    fields: tuple[FieldSpec, ...]
    comment: str = ""
    source: str = field(default="", compare=False)

    def get(self, canonical: str) -> FieldSpec | None:
        """The spec of a contract column, or None if the mapping leaves it alone."""
        return next((spec for spec in self.fields if spec.canonical == canonical), None)

    def source_columns(self) -> tuple[str, ...]:
        """Source columns the mapping reads, in order, without repeats."""
        seen = [spec.column for spec in self.fields if spec.column is not None]
        return tuple(dict.fromkeys(seen))

    def to_json(self) -> dict[str, object]:
        """The mapping as the JSON object :func:`parse_mapping` reads."""
        out: dict[str, object] = {"_comment": self.comment} if self.comment else {}
        out.update({spec.canonical: spec.to_json() for spec in self.fields})
        return out

    def check_columns(self, names: list[str], source: str) -> None:
        """Raise ContractError if the mapping reads a column ``names`` lacks."""
        missing = [name for name in self.source_columns() if name not in names]
        if missing:
            listed = ", ".join(f"'{name}'" for name in missing)
            which = "column" if len(missing) == 1 else "columns"
            raise ContractError(
                source, f"mapping reads source {which} {listed} not in the file; it has {names}"
            )


def load_mapping(path: Path) -> SchemaMapping:
    """Read and validate a mapping file; ContractError naming the file if it is wrong."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContractError(source, f"cannot read mapping ({exc.strerror or exc})") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContractError(source, f"mapping is not valid JSON ({exc})") from None
    return parse_mapping(obj, source=source)


def save_mapping(mapping: SchemaMapping, path: Path) -> None:
    """Write a mapping as indented JSON that :func:`load_mapping` reads back."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(mapping.to_json(), indent=2) + "\n", encoding="utf-8")


def parse_mapping(obj: object, *, source: str = "") -> SchemaMapping:
    """Validate a decoded JSON mapping; ContractError with a one-line reason if wrong."""
    if not isinstance(obj, Mapping):
        raise ContractError(source, f"mapping must be a JSON object, got {_kind(obj)}")
    specs: list[FieldSpec] = []
    comment = ""
    for key, raw in obj.items():
        if not isinstance(key, str):
            raise ContractError(source, f"mapping keys must be text, got {key!r}")
        if key.startswith("_"):
            if key == "_comment" and isinstance(raw, str):
                comment = raw
            continue
        if key not in CANONICAL:
            raise ContractError(
                source, f"unknown canonical name '{key}'; expected one of {', '.join(CANONICAL)}"
            )
        specs.append(_parse_spec(key, raw, source))
    return SchemaMapping(fields=tuple(specs), comment=comment, source=source)


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, int | float) else "null"
    )


def _parse_spec(name: str, raw: object, source: str) -> FieldSpec:
    def fail(problem: str) -> ContractError:
        return ContractError(source, f"{name}: {problem}")

    if isinstance(raw, str):
        if not raw.strip():
            raise fail("source column name is empty")
        return FieldSpec(name, column=raw)
    if not isinstance(raw, Mapping):
        raise fail(f"expected a column name or an object, got {_kind(raw)}")
    unknown = sorted(set(map(str, raw)) - _KEYS)
    if unknown:
        raise fail(f"unknown key '{unknown[0]}'; expected some of {', '.join(sorted(_KEYS))}")
    sources = [key for key in ("column", "value", "derive") if key in raw]
    if len(sources) != 1:
        raise fail("give exactly one of 'column', 'value' or 'derive'")

    column = raw.get("column")
    if column is not None and (not isinstance(column, str) or not column.strip()):
        raise fail("'column' must be a non-empty column name")
    value = raw.get("value")
    if "value" in raw and not isinstance(value, str | int | float | bool):
        raise fail(f"'value' must be text, a number or a boolean, got {_kind(value)}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = float(value)
    derive = raw.get("derive")
    if "derive" in raw and derive not in DERIVATIONS:
        raise fail(f"'derive' must be one of {', '.join(DERIVATIONS)}, got {derive!r}")
    if column is None and any(key in raw for key in ("values", "scale", "unit", "date")):
        raise fail("'values', 'scale', 'unit' and 'date' need a 'column'")
    return FieldSpec(
        name,
        column=column,
        value=cast(Constant | None, value),
        derive=cast(Derive | None, derive),
        values=_parse_values(raw.get("values"), fail),
        scale=_parse_scale(name, raw.get("scale"), fail),
        unit=_parse_unit(name, raw, fail),
        timezone=_parse_timezone(name, raw.get("timezone"), fail),
        date=_parse_date(name, raw, fail),
    )


def _parse_values(raw: object, fail: _Fail) -> tuple[tuple[str, str], ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or not raw:
        raise fail("'values' must be a non-empty object of source value -> contract value")
    pairs: list[tuple[str, str]] = []
    for key, target in raw.items():
        if not isinstance(target, str | int | float) or isinstance(target, bool):
            raise fail(f"'values': target of {key!r} must be text, got {_kind(target)}")
        pairs.append((str(key).strip(), str(target)))
    upper = [key.upper() for key, _ in pairs]
    if len(set(upper)) != len(upper):
        raise fail("'values' lists the same source value twice (keys ignore case)")
    return tuple(pairs)


def _parse_scale(name: str, raw: object, fail: _Fail) -> float | None:
    if raw is None:
        return None
    if name not in NUMERIC:
        raise fail(f"'scale' applies only to {', '.join(NUMERIC)}")
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise fail(f"'scale' must be a number, got {_kind(raw)}")
    if not math.isfinite(raw) or raw <= 0:
        raise fail(f"'scale' must be finite and > 0, got {raw}")
    return float(raw)


def _parse_unit(name: str, raw: Mapping[str, object], fail: _Fail) -> Unit | None:
    unit = raw.get("unit")
    if unit is None:
        return None
    if name != "timestamp":
        raise fail("'unit' applies only to timestamp")
    if unit not in UNITS:
        raise fail(f"'unit' must be one of {', '.join(UNITS)}, got {unit!r}")
    return unit


def _parse_timezone(name: str, raw: object, fail: _Fail) -> str | None:
    if raw is None:
        return None
    if name != "timestamp":
        raise fail("'timezone' applies only to timestamp")
    if not isinstance(raw, str):
        raise fail(f"'timezone' must be an IANA zone name, got {_kind(raw)}")
    try:
        zoneinfo.ZoneInfo(raw)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise fail(f"unknown time zone {raw!r}") from None
    return raw


def _parse_date(name: str, raw: Mapping[str, object], fail: _Fail) -> dt.date | None:
    date = raw.get("date")
    if date is None:
        if name == "timestamp" and raw.get("timezone") is not None and raw.get("unit"):
            raise fail("'timezone' with 'unit' needs a 'date' (epoch numbers are UTC already)")
        return None
    if name != "timestamp":
        raise fail("'date' applies only to timestamp")
    if raw.get("unit") is None:
        raise fail("'date' needs a 'unit' (the column is then time since local midnight)")
    if not isinstance(date, str):
        raise fail(f"'date' must be YYYY-MM-DD text, got {_kind(date)}")
    try:
        return dt.date.fromisoformat(date)
    except ValueError:
        raise fail(f"'date' must be YYYY-MM-DD, got {date!r}") from None
