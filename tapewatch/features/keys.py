"""Dense integer slots for string keys, with reuse of evicted slots."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc


class KeyIndex:
    """Maps keys (strings) to dense slots; freed slots are reused by new keys."""

    def __init__(self) -> None:
        self._slot_of: dict[str, int] = {}
        self._key_of: list[str | None] = []
        self._free: list[int] = []

    def __len__(self) -> int:
        return len(self._slot_of)

    @property
    def capacity(self) -> int:
        """Number of slots ever allocated (live or free)."""
        return len(self._key_of)

    def lookup(self, keys: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.int64]:
        """Slot of each key, allocating slots for keys not seen before; null keys get -1."""
        encoded = pc.dictionary_encode(keys)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = (
                encoded.combine_chunks()
                if encoded.num_chunks
                else pa.array([], pa.dictionary(pa.int32(), pa.string()))
            )
        uniques: list[str] = encoded.dictionary.to_pylist()
        slot_of_unique = np.fromiter(
            (self._slot(k) for k in uniques), dtype=np.int64, count=len(uniques)
        )
        indices = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        if len(slot_of_unique) == 0:
            return np.full(len(indices), -1, dtype=np.int64)
        slots: npt.NDArray[np.int64] = slot_of_unique[np.maximum(indices, 0)]
        slots[indices < 0] = -1
        return slots

    def _slot(self, key: str) -> int:
        slot = self._slot_of.get(key)
        if slot is None:
            if self._free:
                slot = self._free.pop()
                self._key_of[slot] = key
            else:
                slot = len(self._key_of)
                self._key_of.append(key)
            self._slot_of[key] = slot
        return slot

    def release(self, slots: npt.NDArray[np.int64]) -> None:
        """Free these slots (their keys are forgotten)."""
        for slot in slots.tolist():
            key = self._key_of[slot]
            if key is not None:
                del self._slot_of[key]
                self._key_of[slot] = None
                self._free.append(slot)

    def live_slots(self) -> npt.NDArray[np.int64]:
        """Slots that hold a key."""
        return np.fromiter(self._slot_of.values(), dtype=np.int64, count=len(self._slot_of))
