"""Requests that arrive while one is being scored are scored together.

Each call to the scorer has a fixed cost (validation, the feature kernel, model calls)
that dwarfs the cost of one more event, so under load one call per request would queue
requests behind each other's fixed costs. A single worker thread takes every request
waiting when it is free, scores them as one batch in arrival order, and hands each
request its own verdicts, rejected rows (numbered within the request) and the alerts the
batch closed.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

from tapewatch.engine.live import LiveResult, LiveScorer

_EXPLAIN_RANK = {"none": 0, "flagged": 1, "all": 2}


@dataclass
class _Request:
    records: Sequence[Mapping[str, Any]]
    explain: str
    submitted: float
    done: Future[LiveResult]


class CoalescingScorer:
    """Scores requests on one worker thread, batching the ones that wait."""

    def __init__(self, scorer: LiveScorer, max_events: int = 20_000) -> None:
        self.scorer = scorer
        self.max_events = max_events
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._run, name="tapewatch-scorer", daemon=True)
        self._worker.start()

    def score(self, records: Sequence[Mapping[str, Any]], explain: str = "flagged") -> LiveResult:
        """Score a request's events (waits for the batch they join)."""
        return self.submit(records, explain).result()

    def submit(
        self, records: Sequence[Mapping[str, Any]], explain: str = "flagged"
    ) -> Future[LiveResult]:
        """Queue a request's events; the future is done once their batch is scored."""
        request = _Request(list(records), explain, time.perf_counter(), Future())
        self._queue.put(request)
        return request.done

    def close(self) -> None:
        """Stop the worker after the requests already queued."""
        self._queue.put(None)
        self._worker.join(timeout=30)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, size, stop = [first], len(first.records), False
            while size < self.max_events:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
                size += len(more.records)
            self._score(batch)
            if stop:
                return

    def _score(self, batch: list[_Request]) -> None:
        try:
            records = [r for request in batch for r in request.records]
            explain = max((r.explain for r in batch), key=_EXPLAIN_RANK.__getitem__)
            result = self.scorer.score_records(records, explain=explain)
            parts = split(result, [len(r.records) for r in batch])
        except Exception as exc:  # every waiting request learns of the failure; the worker
            for request in batch:  # goes on, or later requests would wait for ever
                request.done.set_exception(exc)
            return
        for request, part in zip(batch, parts, strict=True):
            elapsed = (time.perf_counter() - request.submitted) * 1e3
            request.done.set_result(replace(part, processing_ms=elapsed))


def split(result: LiveResult, sizes: list[int]) -> list[LiveResult]:
    """One batch's result as the results of the requests it joined (the batch's closed
    alerts go with its last request)."""
    rejected_at = {letter.line for letter in result.rejected}
    verdicts = iter(result.verdicts)
    parts = []
    first = 1
    for i, size in enumerate(sizes):
        lines = range(first, first + size)
        mine = [next(verdicts) for line in lines if line not in rejected_at]
        letters = [
            replace(letter, line=letter.line - first + 1)
            for letter in result.rejected
            if first <= letter.line < first + size
        ]
        closed = result.closed if i == len(sizes) - 1 else ()
        parts.append(replace(result, verdicts=mine, rejected=letters, closed=closed))
        first += size
    return parts
