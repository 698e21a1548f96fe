"""Deterministic rules an analyst recognises, read from a TOML file of named thresholds."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from tapewatch.features.catalog import FEATURE_NAMES
from tapewatch.features.encode import STATUS_CODES, map_distinct
from tapewatch.schema.enums import OrderStatus

F32 = npt.NDArray[np.float32]
B = npt.NDArray[np.bool_]

OPERATORS: dict[str, np.ufunc] = {
    ">=": np.greater_equal,
    ">": np.greater,
    "<=": np.less_equal,
    "<": np.less,
}


class RuleConfigError(ValueError):
    """A rules file that cannot be read."""


@dataclass(frozen=True)
class Condition:
    """feature <op> value; a missing feature value never holds."""

    feature: str
    op: str
    value: float


@dataclass(frozen=True)
class Rule:
    """A named rule: event statuses it looks at and conditions that must all hold."""

    name: str
    meaning: str
    statuses: tuple[str, ...]
    conditions: tuple[Condition, ...]


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
        plan = self._plan
        # every condition of every rule at once, then each rule's conditions and statuses
        holds = np.empty((n, len(plan.columns)), dtype=bool)
        for op, at in plan.by_operator:
            holds[:, at] = OPERATORS[op](features[:, plan.columns[at]], plan.values[at])
        matrix = ~(~holds @ plan.membership) & plan.allowed[_status_codes(statuses)]
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(matrix.sum(axis=1), out=offsets[1:])
        values = pa.array(plan.names[np.nonzero(matrix)[1]], pa.string())
        return pa.ListArray.from_arrays(pa.array(offsets), values)

    @cached_property
    def _plan(self) -> _Plan:
        conditions = [c for rule in self.rules for c in rule.conditions]
        membership = np.zeros((len(conditions), len(self.rules)), dtype=bool)
        at = 0
        for r, rule in enumerate(self.rules):
            membership[at : at + len(rule.conditions), r] = True
            at += len(rule.conditions)
        ops = [c.op for c in conditions]
        allowed = np.ones((len(_STATUSES) + 1, len(self.rules)), dtype=bool)
        for r, rule in enumerate(self.rules):
            if rule.statuses:
                allowed[:, r] = [s in rule.statuses for s in (*_STATUSES, None)]
        return _Plan(
            columns=np.array([FEATURE_NAMES.index(c.feature) for c in conditions], np.intp),
            values=np.array([c.value for c in conditions], np.float32),
            by_operator=tuple((op, np.flatnonzero(np.array(ops) == op)) for op in sorted(set(ops))),
            membership=membership,
            allowed=allowed,
            names=np.array([r.name for r in self.rules], dtype=object),
        )


@dataclass(frozen=True)
class _Plan:
    """A rule set as arrays: condition columns and values grouped by operator, which
    conditions belong to which rule, and which statuses each rule looks at."""

    columns: npt.NDArray[np.intp]
    values: F32
    by_operator: tuple[tuple[str, npt.NDArray[np.intp]], ...]
    membership: B
    #: [status code, rule]: whether the rule looks at events of that status
    allowed: B
    names: npt.NDArray[np.object_]


_STATUSES = tuple(STATUS_CODES)


def _status_codes(statuses: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.intp]:
    """Each row's status code (the feature kernel's; one past the last for an unknown
    or missing status, which no rule that names statuses looks at)."""
    unknown = len(_STATUSES)
    return map_distinct(statuses, lambda s: STATUS_CODES.get(s, unknown), np.intp, missing=unknown)


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
