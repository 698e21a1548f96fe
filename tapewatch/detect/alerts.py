"""Group flagged events into alerts: one per trader, instrument and typology within a time gap."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]


@dataclass(slots=True)
class FlaggedEvent:
    """A flagged event as the alert builder needs it."""

    transaction_id: str
    timestamp_us: int
    trader_id: str
    instrument_id: str
    typology: str
    score: float
    features: F32
    #: the supervised score alone reached its threshold / the anomaly score called it novel
    known: bool = False
    novel: bool = False
    xgb_score: float = 0.0
    ae_score: float | None = None
    #: the key's usual value of each feature (mean of its previous rows; NaN: unknown)
    usual: F32 | None = None
    #: the autoencoder's reconstruction error per feature it reads
    ae_errors: F32 | None = None
    rule_hits: tuple[str, ...] = ()


@dataclass
class Alert:
    """A case being built from flagged events of one trader, instrument and typology."""

    trader_id: str
    instrument_id: str
    typology: str
    start_us: int
    end_us: int
    transaction_ids: list[str] = field(default_factory=list)
    score: float = 0.0
    #: the highest-scoring event, whose features explain the alert
    key: FlaggedEvent | None = None
    #: whether any of its events was a known pattern or a novel anomaly, and their rules
    known: bool = False
    novel: bool = False
    rule_hits: set[str] = field(default_factory=set)

    @property
    def alert_id(self) -> str:
        """Stable id: the same input gives the same id."""
        first = self.transaction_ids[0] if self.transaction_ids else ""
        blob = "\x1f".join((self.instrument_id, self.trader_id, self.typology, first))
        return "AL-" + hashlib.sha256(blob.encode()).hexdigest()[:16]


class AlertBuilder:
    """Opens, grows and closes alerts as flagged events arrive in time order."""

    def __init__(self, gap_seconds: float = 60.0) -> None:
        self.gap_us = int(gap_seconds * 1e6)
        self._open: dict[tuple[str, str, str], Alert] = {}

    def add(self, events: list[FlaggedEvent], instrument_now_us: dict[str, int]) -> list[Alert]:
        """Take one batch's flagged events; return the alerts this batch closed.

        instrument_now_us is each instrument's latest event time in the batch: alerts whose
        last event is more than the gap before it can no longer grow and are closed.
        """
        closed: list[Alert] = []
        for ev in events:
            key = (ev.instrument_id, ev.trader_id, ev.typology)
            alert = self._open.get(key)
            if alert is not None and ev.timestamp_us - alert.end_us > self.gap_us:
                closed.append(self._open.pop(key))
                alert = None
            if alert is None:
                alert = Alert(
                    ev.trader_id, ev.instrument_id, ev.typology, ev.timestamp_us, ev.timestamp_us
                )
                self._open[key] = alert
            alert.end_us = max(alert.end_us, ev.timestamp_us)
            alert.transaction_ids.append(ev.transaction_id)
            if ev.score > alert.score or alert.key is None:
                alert.score = ev.score
                alert.key = ev
            alert.known |= ev.known
            alert.novel |= ev.novel
            alert.rule_hits.update(ev.rule_hits)
        for key, alert in list(self._open.items()):
            now = instrument_now_us.get(alert.instrument_id)
            if now is not None and now - alert.end_us > self.gap_us:
                closed.append(self._open.pop(key))
        return closed

    def flush(self) -> list[Alert]:
        """Close and return every open alert (end of input)."""
        closed = list(self._open.values())
        self._open.clear()
        return closed
