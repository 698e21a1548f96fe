"""The stream's tunable defaults, shared by the engine and the command line."""

from __future__ import annotations

#: a micro-batch closes at this many events...
BATCH_EVENTS = 1000
#: ... or this many milliseconds after its first event arrived
BATCH_MS = 2.0
#: seconds between a worker's checkpoints
CHECKPOINT_SECONDS = 5.0
#: events per Redis stream entry that `publish` writes (an Arrow IPC block)
ROWS_PER_MESSAGE = 1_000
