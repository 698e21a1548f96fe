"""Dense integer slots for string keys, with reuse of evicted slots."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

#: batches of at most this many keys are looked up (and hashed) one by one, without Arrow:
#: Arrow's dictionary encoding has a fixed cost a call, and one by one stays cheaper up to
#: about a hundred
SMALL_BATCH = 64


class KeyIndex:
    """Maps keys (strings) to dense slots; freed slots are reused by new keys."""

    def __init__(self) -> None:
        self._slot_of: dict[str, int] = {}
        self._key_of: list[str | None] = []
        self._free: list[int] = []

    def __len__(self) -> int:
        return len(self._slot_of)

    def __deepcopy__(self, memo: dict[int, object]) -> KeyIndex:
        # the keys are strings and the slots ints: copying the containers is enough, and
        # much faster than copying them item by item
        twin = KeyIndex()
        twin._slot_of = dict(self._slot_of)
        twin._key_of = list(self._key_of)
        twin._free = list(self._free)
        return twin

    def __getstate__(self) -> dict[str, object]:
        # the slot of each key is its place in _key_of: a checkpoint keeps that list alone
        return {"key_of": self._key_of, "free": self._free}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._key_of = state["key_of"]
        self._free = state["free"]
        self._slot_of = {key: slot for slot, key in enumerate(self._key_of) if key is not None}

    @property
    def capacity(self) -> int:
        """Number of slots ever allocated (live or free)."""
        return len(self._key_of)

    def lookup(self, keys: pa.Array | pa.ChunkedArray | list[str | None]) -> npt.NDArray[np.int64]:
        """Slot of each key, allocating slots for keys not seen before (in order of first
        appearance); null keys get -1."""
        if isinstance(keys, list):
            return self._lookup_each(keys)
        if len(keys) <= SMALL_BATCH:
            return self._lookup_each(keys.to_pylist())
        encoded = pc.dictionary_encode(keys)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = (
                encoded.combine_chunks()
                if encoded.num_chunks
                else pa.array([], pa.dictionary(pa.int32(), pa.string()))
            )
        slot_of_unique = self._lookup_distinct(encoded.dictionary.to_pylist())
        indices = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        if len(slot_of_unique) == 0:
            return np.full(len(indices), -1, dtype=np.int64)
        slots: npt.NDArray[np.int64] = slot_of_unique[np.maximum(indices, 0)]
        slots[indices < 0] = -1
        return slots

    def _lookup_each(self, keys: list[str | None]) -> npt.NDArray[np.int64]:
        """`lookup` of a list of keys, one by one (for a few keys, cheaper than Arrow's
        dictionary encoding; for many, what their distinct values are looked up with)."""
        get = self._slot_of.get
        new = [k for k in dict.fromkeys(keys) if k is not None and k not in self._slot_of]
        if new:
            self._allocate(new)
        return np.array([-1 if k is None else get(k, -1) for k in keys], dtype=np.int64)

    def _lookup_distinct(self, keys: list[str]) -> npt.NDArray[np.int64]:
        """`lookup` of distinct keys, none null (a dictionary's values): the same slots as
        `_lookup_each`, without its de-duplication and null checks (half its cost)."""
        slot_of = self._slot_of
        new = [k for k in keys if k not in slot_of]
        if new:
            self._allocate(new)
        return np.fromiter(map(slot_of.__getitem__, keys), dtype=np.int64, count=len(keys))

    def _allocate(self, keys: list[str]) -> list[int]:
        """Slots for keys not seen before: freed slots first (last freed first), then new."""
        reused = min(len(keys), len(self._free))
        slots = self._free[len(self._free) - reused :][::-1]
        del self._free[len(self._free) - reused :]
        for slot, key in zip(slots, keys, strict=False):
            self._key_of[slot] = key
        start = len(self._key_of)
        self._key_of.extend(keys[reused:])
        slots += range(start, len(self._key_of))
        self._slot_of.update(zip(keys, slots, strict=True))
        return slots

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
