"""Explaining and storing a stream's closed alerts in a process of its own.

Explaining an alert (TreeSHAP, its text) and writing it to the store is Python work that
holds the interpreter lock; on the scoring process's writer thread it made every batch
behind it wait for the lock, most of all in an alert storm. Here a child process, at the
lowest CPU priority, does it: the scoring process only queues the closed alerts for it,
in order, and scores on whatever the child is doing.

`flush` returns once every alert sent before it is explained and durably stored: a
checkpoint calls it before it lands, so a source is never acknowledged for alerts that
could still be lost.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import multiprocessing.queues
import os
import queue
import signal
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from tapewatch.detect.alerts import Alert
    from tapewatch.engine.pipeline import Provenance

#: seconds a new child may take to load the model and open the store
START_SECONDS = 300.0


class AlertProcessError(RuntimeError):
    """The alert process failed: what it said, or that it died."""


class AlertProcess:
    """A child process that explains closed alerts with the model in `model_dir` and
    writes them to the store at `db`."""

    def __init__(
        self, model_dir: Path, db: str, provenance: Provenance, explanation: str | None = None
    ) -> None:
        context = mp.get_context("spawn")  # the parent runs threads: never fork it
        # alerts go through a queue, whose own thread writes them to the child: scoring
        # never waits for a child that is behind; replies come back on a pipe
        self._queue: mp.queues.Queue[tuple[str, object]] = context.Queue()
        self._replies, child = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_serve,
            args=(self._queue, child, model_dir, db, provenance, explanation),
            name="tapewatch-alerts",
            daemon=True,
        )
        self._process.start()
        child.close()
        self._expect("ready", START_SECONDS)

    def submit(self, alerts: list[Alert]) -> None:
        """Hand closed alerts over, to be explained and stored in order."""
        if alerts:
            self._send(("alerts", alerts))

    def flush(self) -> None:
        """Return once everything submitted before is stored and durable; raise
        `AlertProcessError` if any of it failed."""
        self._send(("flush", None))
        self._expect("flushed", None)

    def close(self) -> None:
        """Stop the child after it has stored what it was given."""
        if self._process.is_alive():
            with contextlib.suppress(OSError, AlertProcessError):
                self._send(("stop", None))
            self._process.join(timeout=60)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._replies.close()
        self._queue.close()
        self._queue.join_thread()

    def __enter__(self) -> AlertProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, message: tuple[str, object]) -> None:
        if not self._process.is_alive():
            raise AlertProcessError(self._died())
        self._queue.put(message)

    def _died(self) -> str:
        self._process.join(timeout=5)
        return f"the alert process died (exit code {self._process.exitcode})"

    def _expect(self, word: str, timeout: float | None) -> None:
        # wait in steps, so a child that died is noticed
        waited = 0.0
        while not self._replies.poll(1.0):
            waited += 1.0
            if not self._process.is_alive() and not self._replies.poll(0):
                raise AlertProcessError(self._died())
            if timeout is not None and waited >= timeout:
                raise AlertProcessError(f"the alert process did not answer in {timeout:g} s")
        try:
            reply, detail = self._replies.recv()
        except (EOFError, OSError):
            raise AlertProcessError(self._died()) from None
        if reply != word:
            raise AlertProcessError(f"the alert process failed: {detail}")


def _serve(
    inbox: mp.queues.Queue[tuple[str, object]],
    conn: Connection,
    model_dir: Path,
    db: str,
    provenance: Provenance,
    explanation: str | None,
) -> None:
    """The child: load the model, open the store, then explain and store alerts as they
    come; a failure is kept and told at the next flush."""
    # Ctrl-C reaches the whole process group: the parent drains and flushes, then stops us
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # not Linux, or not allowed: run at normal priority
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, 0, 19)
    from dataclasses import replace

    import numpy as np

    from tapewatch.engine.pipeline import alert_table
    from tapewatch.features.catalog import FEATURE_NAMES
    from tapewatch.learn.registry import load_model
    from tapewatch.store.alerts import AlertStore

    try:
        model = load_model(model_dir, n_threads=1)
        if explanation is not None:
            model = replace(model, scoring=replace(model.scoring, explanation=explanation))
        store = AlertStore(db)
        # the explanation tables are built and the kernels loaded before the first alert
        model.detector.contributions(np.zeros((1, len(FEATURE_NAMES)), np.float32))
    except Exception:  # told to the parent, which stops
        conn.send(("error", traceback.format_exc(limit=3)))
        return
    parent = os.getppid()
    conn.send(("ready", None))
    failure: str | None = None
    while True:
        try:
            kind, payload = inbox.get(timeout=1.0)
        except queue.Empty:
            if os.getppid() != parent:  # the parent is gone, killed outright
                return
            continue
        if kind == "stop":
            return
        if kind == "flush":
            if failure is None:
                try:
                    store.sync()
                except Exception as exc:
                    failure = f"{type(exc).__name__}: {exc}"
            conn.send(("flushed", None) if failure is None else ("error", failure))
            continue
        if failure is None:
            try:
                store.put(alert_table(model, provenance, cast("list[Alert]", payload)))
            except Exception as exc:
                failure = f"{type(exc).__name__}: {exc}"
