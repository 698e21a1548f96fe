"""Frozen configuration of the feature engine."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass


@dataclass(frozen=True)
class FeatureConfig:
    """Session calendar and state-eviction horizons of the feature engine."""

    session_open: str = "09:30"
    session_close: str = "16:00"
    #: IANA time zone of the session times (timestamps are UTC; daylight saving is followed)
    timezone: str = "America/New_York"
    #: a trader, pair or instrument key idle this long starts afresh and its slot is freed
    evict_idle_seconds: float = 3600.0
    #: an order idle this long is forgotten (a later event treats it as placed before the file)
    evict_order_idle_seconds: float = 8 * 3600.0
    #: trader ids that stand for "unknown" (a feed without accounts): rows of these traders,
    #: or executions against them, get the trader features as missing
    anonymous_trader_ids: tuple[str, ...] = ("UNKNOWN",)

    def __post_init__(self) -> None:
        for name in ("session_open", "session_close"):
            _parse_hhmm(getattr(self, name), name)
        if _parse_hhmm(self.session_close, "session_close") <= _parse_hhmm(
            self.session_open, "session_open"
        ):
            raise ValueError("session_close must be after session_open")
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r}") from None
        if self.evict_idle_seconds <= 0 or self.evict_order_idle_seconds <= 0:
            raise ValueError("eviction horizons must be > 0")

    @property
    def open_seconds(self) -> float:
        """Session open as seconds after local midnight."""
        return _parse_hhmm(self.session_open, "session_open")

    @property
    def close_seconds(self) -> float:
        """Session close as seconds after local midnight."""
        return _parse_hhmm(self.session_close, "session_close")


def _parse_hhmm(text: str, name: str) -> float:
    try:
        hours, minutes = text.split(":")
        value = int(hours) * 3600 + int(minutes) * 60
    except ValueError:
        raise ValueError(f"{name}: expected HH:MM, got {text!r}") from None
    if not 0 <= value <= 24 * 3600:
        raise ValueError(f"{name}: expected HH:MM within a day, got {text!r}")
    return float(value)
