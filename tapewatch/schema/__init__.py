"""The data contract in code: enums, Arrow schemas, readers, writers and validation."""

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
