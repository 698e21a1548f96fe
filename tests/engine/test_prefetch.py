"""Reading an iterator ahead on a thread of its own."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tapewatch.engine.prefetch import ReadAhead


def test_items_come_in_order_and_the_reader_stays_a_bounded_number_ahead() -> None:
    produced: list[int] = []
    two_read = threading.Event()

    def items() -> Iterator[int]:
        for i in range(10):
            produced.append(i)
            if i == 3:
                two_read.set()
            yield i

    ahead = ReadAhead(items(), depth=2)
    assert next(ahead) == 0
    assert two_read.wait(5)
    assert len(produced) <= 4  # one taken, two queued, one waiting to be queued
    assert list(ahead) == list(range(1, 10))
    with pytest.raises(StopIteration):
        next(ahead)


def test_an_error_of_the_iterator_reaches_the_reader_where_it_happened() -> None:
    def items() -> Iterator[int]:
        yield 1
        raise ValueError("line 3: broken")

    ahead = ReadAhead(items())
    assert next(ahead) == 1
    with pytest.raises(ValueError, match="line 3: broken"):
        next(ahead)


def test_closing_ends_the_reading_thread() -> None:
    def endless() -> Iterator[int]:
        i = 0
        while True:
            yield i
            i += 1

    ahead = ReadAhead(endless(), depth=1)
    assert next(ahead) == 0
    ahead.close()
    ahead._thread.join(timeout=5)
    assert not ahead._thread.is_alive()
