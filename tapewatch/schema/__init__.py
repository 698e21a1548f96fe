"""The data contract in code: enums, Arrow schemas, readers, writers and validation."""

from tapewatch.schema.columns import (
    ALERT_SCHEMA,
    EVENT_SCHEMA,
    LABEL_SCHEMA,
    LABELLED_EVENT_SCHEMA,
    SCORE_SCHEMA,
)
from tapewatch.schema.enums import ManipulationType, OrderStatus, OrderType, Side

__all__ = [
    "ALERT_SCHEMA",
    "EVENT_SCHEMA",
    "LABELLED_EVENT_SCHEMA",
    "LABEL_SCHEMA",
    "SCORE_SCHEMA",
    "ManipulationType",
    "OrderStatus",
    "OrderType",
    "Side",
]
