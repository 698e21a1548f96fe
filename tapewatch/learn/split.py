"""Train / validation / test split by episode and by time block, never by random rows."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Split:
    """Row indices of the three parts."""

    train: I64
    valid: I64
    test: I64


def split_rows(
    events: pa.Table,
    *,
    valid_share: float = 0.15,
    test_share: float = 0.15,
    block_seconds: int = 300,
) -> Split:
    """Split rows so that an episode's rows, and a time block's normal rows, stay together.

    Rows of an episode (scenario_id) go to one part chosen by a hash of the id; normal rows
    go by a hash of (instrument, time block), so every part spans the whole day.
    """
    ts = pc.cast(events.column("timestamp"), pa.int64()).to_numpy()
    block = (ts // (block_seconds * 1_000_000)).astype(str)
    inst = events.column("instrument_id").to_numpy(zero_copy_only=False).astype(str)
    groups = np.char.add(np.char.add(inst, "|"), block)
    if "scenario_id" in events.column_names:
        scenario = (
            events.column("scenario_id").fill_null("").to_numpy(zero_copy_only=False).astype(str)
        )
        groups = np.where(scenario != "", np.char.add("scenario|", scenario), groups)
    uniques, inverse = np.unique(groups, return_inverse=True)
    draws = np.array([_unit_hash(g) for g in uniques])[inverse]
    test = draws < test_share
    valid = (draws >= test_share) & (draws < test_share + valid_share)
    train = ~(test | valid)
    return Split(np.flatnonzero(train), np.flatnonzero(valid), np.flatnonzero(test))


def _unit_hash(text: str) -> float:
    value = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
    return value / 2.0**64
