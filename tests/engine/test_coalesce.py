"""Requests scored together are answered apart: each gets its own verdicts, in its order,
and its own rejected rows numbered within it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from workbench import Workbench

from tapewatch.detect.alerts import Alert
from tapewatch.detect.decision import RiskLevel
from tapewatch.engine.coalesce import CoalescingScorer, split
from tapewatch.engine.live import EventVerdict, LiveResult, LiveScorer
from tapewatch.learn.registry import load_model
from tapewatch.schema.deadletter import DeadLetter
from tapewatch.schema.load import load_events


def _verdict(tx: str) -> EventVerdict:
    return EventVerdict(tx, "T", "I", 0.1, False, "NONE", RiskLevel.LOW, 0.1, None, [])


@given(st.lists(st.lists(st.booleans(), max_size=6), min_size=1, max_size=6))
def test_split_gives_each_request_its_rows(requests: list[list[bool]]) -> None:
    # each request is a list of rows; True marks a row the contract rejects
    verdicts, letters, line = [], [], 1
    for r, rows in enumerate(requests):
        for i, bad in enumerate(rows):
            if bad:
                letters.append(DeadLetter(line, "line", "price", "bad", {}))
            else:
                verdicts.append(_verdict(f"{r}-{i}"))
            line += 1
    alert = Alert("T", "I", "SPOOFING", 0, 0, ["tx-1"])
    parts = split(LiveResult(verdicts, letters, 1.0, closed=(alert,)), [len(r) for r in requests])
    for r, (rows, part) in enumerate(zip(requests, parts, strict=True)):
        assert [v.transaction_id for v in part.verdicts] == [
            f"{r}-{i}" for i, bad in enumerate(rows) if not bad
        ]
        assert [d.line for d in part.rejected] == [i + 1 for i, bad in enumerate(rows) if bad]
    assert [p.closed for p in parts] == [()] * (len(requests) - 1) + [(alert,)]


def test_concurrent_requests_get_their_own_answers(workbench: Workbench, tmp_path: Path) -> None:
    events = load_events(workbench.events, deadletter_dir=tmp_path).table.slice(0, 800)
    rows = events.to_pylist()
    batcher = CoalescingScorer(LiveScorer(load_model(workbench.model_dir)))
    answers: dict[int, LiveResult] = {}
    requests: dict[int, list[dict[str, Any]]] = {}
    for k in range(40):
        mine = [dict(r) for r in rows[k * 20 : (k + 1) * 20]]
        mine[k % 20]["quantity"] = -1  # one bad row per request, at a different place
        requests[k] = mine

    def send(k: int) -> None:
        answers[k] = batcher.score(requests[k], "flagged")

    threads = [threading.Thread(target=send, args=(k,)) for k in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    batcher.close()
    for k, mine in requests.items():
        got = answers[k]
        assert [d.line for d in got.rejected] == [k % 20 + 1]
        assert got.rejected[0].field == "quantity"
        expected = [r["transaction_id"] for i, r in enumerate(mine) if i != k % 20]
        assert [v.transaction_id for v in got.verdicts] == expected
        assert got.processing_ms > 0


class _Failing(LiveScorer):
    """A scorer whose first call fails."""

    def __init__(self, real: LiveScorer) -> None:
        self.__dict__.update(real.__dict__)
        self.failed = False

    def score_records(self, records: Any, *, explain: str = "flagged") -> LiveResult:
        if not self.failed:
            self.failed = True
            raise RuntimeError("boom")
        return super().score_records(records, explain=explain)


def test_a_failed_batch_reaches_its_requests_and_the_worker_serves_on(
    workbench: Workbench,
) -> None:
    batcher = CoalescingScorer(_Failing(LiveScorer(load_model(workbench.model_dir))))
    try:
        with pytest.raises(RuntimeError, match="boom"):
            batcher.score([{}])
        # empty objects are rows without fields: each is rejected, none is lost
        after = batcher.score([{}, {}], "all")
        assert [(d.line, d.reason) for d in after.rejected] == [(1, "empty row"), (2, "empty row")]
        assert after.verdicts == []
    finally:
        batcher.close()
