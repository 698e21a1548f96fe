"""The contract's enumerations."""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    """What happened to an order at an event's timestamp."""

    NEW = "NEW"
    MODIFIED = "MODIFIED"
    CANCELLED = "CANCELLED"
    EXECUTED = "EXECUTED"


class Side(StrEnum):
    """Side of an order."""

    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    """Kind of order."""

    LIMIT = "LIMIT"
    MARKET = "MARKET"
    STOP = "STOP"


class ManipulationType(StrEnum):
    """Abuse typology; NONE is normal flow."""

    NONE = "NONE"
    SPOOFING = "SPOOFING"
    LAYERING = "LAYERING"
    WASH_TRADING = "WASH_TRADING"
    PUMP_AND_DUMP = "PUMP_AND_DUMP"
    QUOTE_STUFFING = "QUOTE_STUFFING"
    MARKING_THE_CLOSE = "MARKING_THE_CLOSE"


#: Typologies in a fixed order; a class index in a model is a position in this tuple.
TYPOLOGIES: tuple[ManipulationType, ...] = tuple(ManipulationType)
