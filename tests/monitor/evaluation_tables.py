"""Small hand-built scores, labels and alerts tables for the evaluation tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa

from tapewatch.schema.columns import ALERT_SCHEMA, LABELLED_EVENT_SCHEMA, SCORE_SCHEMA

T0 = datetime(2024, 1, 2, 9, 0, tzinfo=UTC)


@dataclass
class Tape:
    """Events under construction: one entry per event in each list."""

    ids: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    scenarios: list[str | None] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    flagged: list[bool] = field(default_factory=list)
    predicted: list[str] = field(default_factory=list)

    def add(
        self,
        tx: str,
        typology: str,
        scenario: str | None,
        score: float,
        predicted: str | None = None,
    ) -> None:
        """Add one event; flagged when a predicted type is given."""
        self.ids.append(tx)
        self.types.append(typology)
        self.scenarios.append(scenario)
        self.scores.append(score)
        self.flagged.append(predicted is not None)
        self.predicted.append(predicted or "NONE")

    def episode(
        self,
        scenario: str,
        typology: str,
        scores: Sequence[float],
        predicted: Sequence[str | None] | None = None,
    ) -> list[str]:
        """Add an episode's events; returns their transaction ids."""
        ids = []
        for i, score in enumerate(scores):
            tx = f"{scenario}-{i}"
            self.add(tx, typology, scenario, score, None if predicted is None else predicted[i])
            ids.append(tx)
        return ids

    def labels(self) -> pa.Table:
        """A full labelled events table (LABELLED_EVENT_SCHEMA) for these events."""
        n = len(self.ids)
        columns: dict[str, object] = {
            "transaction_id": self.ids,
            "timestamp": [T0] * n,
            "order_id": [f"o-{tx}" for tx in self.ids],
            "order_status": ["NEW"] * n,
            "trader_id": ["T1"] * n,
            "instrument_id": ["XS0000000001"] * n,
            "trading_venue": ["XOFF"] * n,
            "side": ["BUY"] * n,
            "price": [100.0] * n,
            "quantity": [10.0] * n,
            "order_type": ["LIMIT"] * n,
            "counterparty_id": [None] * n,
            "is_algo_trade": [False] * n,
            "is_hft": [False] * n,
            "bid_price": [None] * n,
            "ask_price": [None] * n,
            "bid_size": [None] * n,
            "ask_size": [None] * n,
            "is_manipulation": [t != "NONE" for t in self.types],
            "manipulation_type": self.types,
            "scenario_id": self.scenarios,
        }
        return pa.Table.from_pydict(columns, schema=LABELLED_EVENT_SCHEMA)

    def score_table(self) -> pa.Table:
        """A full scores table (SCORE_SCHEMA) for these events."""
        n = len(self.ids)
        return pa.Table.from_pydict(
            {
                "transaction_id": self.ids,
                "score": self.scores,
                "flagged": self.flagged,
                "predicted_type": self.predicted,
                "xgb_score": self.scores,
                "ae_score": [None] * n,
                "rule_hits": [[] for _ in range(n)],
            },
            schema=SCORE_SCHEMA,
        )


def alert_table(groups: Sequence[Sequence[str]]) -> pa.Table:
    """A full alerts table (ALERT_SCHEMA) with one alert per group of transaction ids."""
    n = len(groups)
    return pa.Table.from_pydict(
        {
            "alert_id": [f"A{i}" for i in range(n)],
            "trader_id": ["T1"] * n,
            "instrument_id": ["XS0000000001"] * n,
            "manipulation_type": ["SPOOFING"] * n,
            "score": [0.99] * n,
            "start": [T0] * n,
            "end": [T0] * n,
            "transaction_ids": [list(g) for g in groups],
            "explanation": ["test"] * n,
            "top_features": ["{}"] * n,
            "model_version": [None] * n,
            "config_hash": [None] * n,
            "input_hash": [None] * n,
            "detected_by": [None] * n,
            "rule_hits": [None] * n,
        },
        schema=ALERT_SCHEMA,
    )


def none_events(tape: Tape, n: int = 1000, flag_from: int = 997) -> list[str]:
    """Add n NONE events scored i / n; those from flag_from on are flagged.

    The first flagged one is predicted SPOOFING, the rest LAYERING.
    """
    ids = []
    for i in range(n):
        predicted = None
        if i >= flag_from:
            predicted = "SPOOFING" if i == flag_from else "LAYERING"
        tx = f"n{i:04d}"
        tape.add(tx, "NONE", None, i / n, predicted)
        ids.append(tx)
    return ids
