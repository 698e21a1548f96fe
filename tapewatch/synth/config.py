"""Frozen configuration of a simulated market day: size, seed, session, universe, abuse mix."""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from dataclasses import dataclass, field, fields

from tapewatch.schema.enums import ManipulationType

_MIC_LEN = 4


@dataclass(frozen=True)
class AbuseMix:
    """Target share of all events that each abuse typology produces (0 turns it off)."""

    spoofing: float = 0.05
    wash_trading: float = 0.03
    layering: float = 0.02
    pump_and_dump: float = 0.005
    quote_stuffing: float = 0.007
    marking_the_close: float = 0.005

    def __post_init__(self) -> None:
        """Reject negative, non-finite or too large shares."""
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ValueError(f"AbuseMix.{f.name} must be a number, got {value!r}")
            if not math.isfinite(value) or value < 0.0:
                raise ValueError(f"AbuseMix.{f.name} must be a finite share >= 0, got {value}")
        if self.total > 0.5:
            raise ValueError(
                f"AbuseMix shares add up to {self.total:.3f}; keep them at or below 0.5"
            )

    @property
    def total(self) -> float:
        """Sum of all typology shares."""
        return float(sum(getattr(self, f.name) for f in fields(self)))

    def share(self, typology: ManipulationType) -> float:
        """The share of events for one typology (0 for NONE)."""
        if typology is ManipulationType.NONE:
            return 0.0
        return float(getattr(self, typology.value.lower()))

    @classmethod
    def off(cls) -> AbuseMix:
        """A mix with every typology turned off (a clean market)."""
        return cls(**{f.name: 0.0 for f in fields(cls)})


def _default_venues() -> tuple[str, ...]:
    return ("XNAS", "XNYS", "ARCX", "BATS", "XLON", "XPAR", "XETR")


@dataclass(frozen=True)
class MarketConfig:
    """Everything that decides a generated market day; the same config gives the same table.

    ``n_instruments`` and ``n_traders`` left at None scale with ``n_events`` (see
    ``instrument_count`` and ``trader_count``). Session times are local times in ``timezone``;
    the table's timestamps are UTC. Each instrument trades on one of ``venues``.
    """

    n_events: int = 100_000
    seed: int = 7
    date: dt.date = dt.date(2026, 3, 2)
    session_open: dt.time = dt.time(9, 30)
    session_close: dt.time = dt.time(16, 0)
    timezone: str = "America/New_York"
    n_instruments: int | None = None
    n_traders: int | None = None
    illiquid_share: float = 0.2
    venues: tuple[str, ...] = field(default_factory=_default_venues)
    mix: AbuseMix = field(default_factory=AbuseMix)

    def __post_init__(self) -> None:
        """Validate every field and fill in the scaled defaults."""
        self._check_int("n_events", 1_000, 50_000_000)
        self._check_int("seed", 0, 2**63 - 1)
        if self.n_instruments is not None:
            self._check_int("n_instruments", 2, 5_000)
        if self.n_traders is not None:
            self._check_int("n_traders", 40, 1_000_000)
        if not isinstance(self.date, dt.date) or isinstance(self.date, dt.datetime):
            raise ValueError(f"date must be a datetime.date, got {self.date!r}")
        for name in ("session_open", "session_close"):
            value = getattr(self, name)
            if not isinstance(value, dt.time) or value.tzinfo is not None:
                raise ValueError(f"{name} must be a naive datetime.time, got {value!r}")
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {self.timezone!r}") from exc
        if self.session_seconds < 1800:
            raise ValueError("the session must last at least 30 minutes (open before close)")
        if not 0.0 <= self.illiquid_share <= 0.5:
            raise ValueError(f"illiquid_share must be within [0, 0.5], got {self.illiquid_share}")
        if not isinstance(self.venues, tuple) or not self.venues:
            raise ValueError("venues must be a non-empty tuple of MIC codes")
        for mic in self.venues:
            if not (
                isinstance(mic, str) and len(mic) == _MIC_LEN and mic.isalnum() and mic.isupper()
            ):
                raise ValueError(f"venue {mic!r} is not a 4-character upper-case MIC code")
        if not isinstance(self.mix, AbuseMix):
            raise ValueError(f"mix must be an AbuseMix, got {type(self.mix).__name__}")

    def _check_int(self, name: str, low: int, high: int) -> None:
        value = getattr(self, name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{name} must be an int, got {value!r}")
        if not low <= value <= high:
            raise ValueError(f"{name} must be within [{low}, {high}], got {value}")

    @property
    def instrument_count(self) -> int:
        """Instruments in the day: ``n_instruments``, or one per 15,000 events (at least 4)."""
        if self.n_instruments is not None:
            return self.n_instruments
        return max(4, self.n_events // 15_000)

    @property
    def trader_count(self) -> int:
        """Accounts in the day: ``n_traders``, or about 285 per 100,000 events (at least 120)."""
        if self.n_traders is not None:
            return self.n_traders
        return max(120, self.n_events // 350)

    @property
    def session_seconds(self) -> float:
        """Length of the session in seconds."""
        return (self.close_utc - self.open_utc).total_seconds()

    @property
    def open_utc(self) -> dt.datetime:
        """Session open as an aware UTC datetime."""
        return self._utc(self.session_open)

    @property
    def close_utc(self) -> dt.datetime:
        """Session close as an aware UTC datetime."""
        return self._utc(self.session_close)

    def _utc(self, local: dt.time) -> dt.datetime:
        zone = zoneinfo.ZoneInfo(self.timezone)
        return dt.datetime.combine(self.date, local, tzinfo=zone).astimezone(dt.UTC)
