"""Deterministic rules an analyst recognises, read from a TOML file of named thresholds."""

from __future__ import annotations

import operator
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from tapewatch.features.catalog import FEATURE_NAMES
from tapewatch.schema.enums import OrderStatus

F32 = npt.NDArray[np.float32]
B = npt.NDArray[np.bool_]

OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}


class RuleConfigError(ValueError):
    """A rules file that cannot be read."""


@dataclass(frozen=True)
class Condition:
    """feature <op> value; a missing feature value never holds."""

    feature: str
    op: str
    value: float

    def holds(self, features: F32) -> B:
        """Rows where the condition holds."""
        column = features[:, FEATURE_NAMES.index(self.feature)]
        result: B = OPERATORS[self.op](column, self.value)
        return result


@dataclass(frozen=True)
class Rule:
    """A named rule: event statuses it looks at and conditions that must all hold."""

    name: str
    meaning: str
    statuses: tuple[str, ...]
    conditions: tuple[Condition, ...]

    def hits(self, features: F32, status_mask: B) -> B:
        """Rows on which the rule fires, given the rows of its statuses."""
        mask = status_mask.copy()
        for condition in self.conditions:
            mask &= condition.holds(features)
        return mask


@dataclass(frozen=True)
class RuleSet:
    """The rules of one file."""

    rules: tuple[Rule, ...]
    source: str

    def hits(self, features: F32, statuses: pa.Array | pa.ChunkedArray) -> pa.ListArray:
        """Names of the rules each row hits, in the file's order (the scores' rule_hits)."""
        n = len(features)
        if not self.rules:
            return pa.ListArray.from_arrays(
                pa.array(np.zeros(n + 1, np.int32)), pa.array([], pa.string())
            )
        encoded = pc.dictionary_encode(statuses)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        seen = encoded.dictionary.to_pylist()
        codes = encoded.indices.to_numpy(zero_copy_only=False)
        masks: dict[tuple[str, ...], B] = {}
        for rule in self.rules:  # rules share a few status sets: each is looked up once
            if rule.statuses not in masks:
                masks[rule.statuses] = _status_mask(seen, codes, rule.statuses)
        matrix = np.column_stack([r.hits(features, masks[r.statuses]) for r in self.rules])
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(matrix.sum(axis=1), out=offsets[1:])
        names = np.array([r.name for r in self.rules], dtype=object)
        values = pa.array(names[np.nonzero(matrix)[1]], pa.string())
        return pa.ListArray.from_arrays(pa.array(offsets), values)


def _status_mask(seen: list[str], codes: npt.NDArray[np.int32], chosen: tuple[str, ...]) -> B:
    """Rows whose status (`seen[code]`) is one of `chosen`; every row if none is."""
    if not chosen:
        return np.ones(len(codes), dtype=bool)
    wanted = np.array([status in chosen for status in seen], dtype=bool)
    mask: B = wanted[codes]
    return mask


def default_rules_path() -> Path:
    """The rules file shipped with tapewatch."""
    return Path(str(resources.files("tapewatch.detect") / "rules.toml"))


def load_rules(path: Path | None = None) -> RuleSet:
    """Read a rules file (the shipped one by default); a bad entry is a RuleConfigError."""
    path = path or default_rules_path()
    try:
        document = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RuleConfigError(f"{path}: cannot read rules: {exc}") from None
    rules = []
    statuses_known = {str(s) for s in OrderStatus}
    for i, entry in enumerate(document.get("rule", []), start=1):
        where = f"{path}: rule {i} ({entry.get('name', '?')})"
        try:
            statuses = tuple(str(s) for s in entry.get("statuses", []))
            conditions = tuple(Condition(str(f), str(op), float(v)) for f, op, v in entry["when"])
            rule = Rule(str(entry["name"]), str(entry["meaning"]), statuses, conditions)
        except (KeyError, TypeError, ValueError) as exc:
            raise RuleConfigError(
                f"{where}: needs name, meaning and when = [[feature, op, value], ...]: {exc}"
            ) from None
        for s in statuses:
            if s not in statuses_known:
                raise RuleConfigError(f"{where}: unknown status {s!r}")
        for c in conditions:
            if c.feature not in FEATURE_NAMES:
                raise RuleConfigError(f"{where}: unknown feature {c.feature!r}")
            if c.op not in OPERATORS:
                raise RuleConfigError(
                    f"{where}: unknown operator {c.op!r} (use {', '.join(OPERATORS)})"
                )
        rules.append(rule)
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise RuleConfigError(f"{path}: rule names must be unique")
    return RuleSet(tuple(rules), str(path))
