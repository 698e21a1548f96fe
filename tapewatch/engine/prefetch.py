"""Read an iterator ahead on a thread of its own, a bounded number of items at a time."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

#: how often a reader blocked on a full queue checks whether it was closed
_POLL_SECONDS = 0.1


class _End:
    """The reader's last item: the iterator ended, or raised `error`."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class ReadAhead(Generic[T]):
    """The items of `items`, read up to `depth` ahead on a daemon thread.

    A file's next block is decoded (Arrow releases the GIL while it decodes) while the
    caller works on the one before, instead of holding the caller up for milliseconds
    each time a block runs out. An exception the iterator raises reaches the caller at
    the point it would have been raised.
    """

    def __init__(self, items: Iterator[T], depth: int = 2) -> None:
        self._queue: queue.Queue[T | _End] = queue.Queue(maxsize=depth)
        self._closed = threading.Event()
        self._done = False
        self._thread = threading.Thread(
            target=self._read, args=(items,), name="tapewatch-read-ahead", daemon=True
        )
        self._thread.start()

    def __iter__(self) -> ReadAhead[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        item = self._queue.get()
        if isinstance(item, _End):
            self._done = True
            if item.error is not None:
                raise item.error
            raise StopIteration
        return item

    def close(self) -> None:
        """Stop reading ahead (the thread ends within a poll)."""
        self._closed.set()

    def _read(self, items: Iterator[T]) -> None:
        end = _End()
        try:
            for item in items:
                if not self._put(item):
                    return
        except BaseException as exc:
            end = _End(exc)
        self._put(end)

    def _put(self, item: T | _End) -> bool:
        while not self._closed.is_set():
            try:
                self._queue.put(item, timeout=_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False
