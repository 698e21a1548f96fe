"""The data contract in code: enums, Arrow schemas, readers, writers and validation.

Importing the package imports none of its modules: each name is loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tapewatch.lazy import lazy_exports

if TYPE_CHECKING:
    from tapewatch.schema.columns import (
        ALERT_SCHEMA,
        EVENT_SCHEMA,
        LABEL_SCHEMA,
        LABELLED_EVENT_SCHEMA,
        SCORE_SCHEMA,
    )
    from tapewatch.schema.deadletter import DeadLetter
    from tapewatch.schema.enums import ManipulationType, OrderStatus, OrderType, Side
    from tapewatch.schema.errors import ContractError
    from tapewatch.schema.load import LoadResult, load_events
    from tapewatch.schema.raw import RawTable
    from tapewatch.schema.readers import iter_raw_batches, read_raw
    from tapewatch.schema.validate import ValidationResult, validate_events
    from tapewatch.schema.writers import (
        write_dead_letters,
        write_parquet_atomic,
        write_table_atomic,
    )

__all__ = [
    "ALERT_SCHEMA",
    "EVENT_SCHEMA",
    "LABELLED_EVENT_SCHEMA",
    "LABEL_SCHEMA",
    "SCORE_SCHEMA",
    "ContractError",
    "DeadLetter",
    "LoadResult",
    "ManipulationType",
    "OrderStatus",
    "OrderType",
    "RawTable",
    "Side",
    "ValidationResult",
    "iter_raw_batches",
    "load_events",
    "read_raw",
    "validate_events",
    "write_dead_letters",
    "write_parquet_atomic",
    "write_table_atomic",
]
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "tapewatch.schema.columns": (
            "ALERT_SCHEMA",
            "EVENT_SCHEMA",
            "LABEL_SCHEMA",
            "LABELLED_EVENT_SCHEMA",
            "SCORE_SCHEMA",
        ),
        "tapewatch.schema.deadletter": ("DeadLetter",),
        "tapewatch.schema.enums": (
            "ManipulationType",
            "OrderStatus",
            "OrderType",
            "Side",
        ),
        "tapewatch.schema.errors": ("ContractError",),
        "tapewatch.schema.load": (
            "LoadResult",
            "load_events",
        ),
        "tapewatch.schema.raw": ("RawTable",),
        "tapewatch.schema.readers": (
            "iter_raw_batches",
            "read_raw",
        ),
        "tapewatch.schema.validate": (
            "ValidationResult",
            "validate_events",
        ),
        "tapewatch.schema.writers": (
            "write_dead_letters",
            "write_parquet_atomic",
            "write_table_atomic",
        ),
    },
)
