"""A rejected input row: where it was, which field failed, why, and the row itself."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

#: How a row's position is counted: physical text line (CSV, JSON Lines) or 1-based row (Parquet).
Unit = Literal["line", "row"]


@dataclass(frozen=True)
class DeadLetter:
    """One rejected row; ``field`` is empty when the row as a whole is unreadable."""

    line: int
    unit: Unit
    field: str
    reason: str
    row: dict[str, object]

    @property
    def message(self) -> str:
        """One line for people, e.g. ``line 812: price: must be > 0, got -3.5``."""
        where = f"{self.unit} {self.line}"
        return f"{where}: {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


def json_safe(value: object) -> object:
    """Turn a value from ``pyarrow`` ``to_pylist`` into something ``json.dumps`` accepts."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return str(value)


def json_safe_row(row: Mapping[str, object]) -> dict[str, object]:
    """Make one raw row JSON-serialisable, keeping its column names."""
    if _is_plain(row):  # most rows: parsed JSON already, only copied
        return dict(row)
    return {str(k): json_safe(v) for k, v in row.items()}


def _is_plain(row: Mapping[str, object]) -> bool:
    """Whether every key is text and every value what JSON parsing gives (text, integers,
    booleans, finite floats, nulls): what `json_safe` returns unchanged."""
    for key, value in row.items():
        if type(key) is not str:
            return False
        kind = type(value)
        if kind is str or kind is int or kind is bool or value is None:
            continue
        if isinstance(value, float) and math.isfinite(value):
            continue
        return False
    return True
