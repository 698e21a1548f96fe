"""Redis Streams as the transport, partitioned like Kafka topics.

`publish` writes each event as one JSON line into stream `<prefix>:<k>`, where k is a
stable hash of its instrument modulo the number of partitions, so all of an
instrument's events, and all its state, meet in one worker. `RedisSource` reads chosen
partitions through a consumer group; entries are acknowledged (XACK) only when the
worker commits, after their alerts are persisted and its checkpoint is written. After a
crash the worker's pending entries are delivered again, first.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import redis

from tapewatch.engine.sources import Chunk, empty_chunk
from tapewatch.schema.deadletter import DeadLetter, json_safe_row
from tapewatch.schema.jsonl_reader import parse_jsonl
from tapewatch.schema.readers import iter_raw_batches

FIELD = b"e"
DEAD_LETTER_SUFFIX = "deadletter"


@dataclass(frozen=True)
class RedisTarget:
    """Where the streams live: a server and a key prefix."""

    client: redis.Redis
    prefix: str

    def stream(self, partition: int) -> str:
        """The stream of one partition."""
        return f"{self.prefix}:{partition}"

    @property
    def dead_letter_stream(self) -> str:
        """Where rejected messages go."""
        return f"{self.prefix}:{DEAD_LETTER_SUFFIX}"


def connect(url: str) -> RedisTarget:
    """`redis://host:port/prefix` (prefix defaults to "tapewatch")."""
    parsed = urlparse(url)
    if parsed.scheme != "redis":
        raise ValueError(f"{url}: expected redis://host:port/prefix")
    prefix = parsed.path.strip("/") or "tapewatch"
    client = redis.Redis(host=parsed.hostname or "localhost", port=parsed.port or 6379)
    return RedisTarget(client, prefix)


def wait_for_redis(client: redis.Redis, seconds: float = 5.0) -> None:
    """Return once the server answers PING; ConnectionError after `seconds` without."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            client.ping()
            return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def partition_of(instrument_id: str, partitions: int) -> int:
    """A stable partition for an instrument: the same in every process and run."""
    digest = hashlib.blake2b(instrument_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") % partitions


def parse_partitions(text: str) -> list[int]:
    """'0-3' or '0,2,5' or '1' as a sorted list of partition numbers."""
    out: set[int] = set()
    for part in text.split(","):
        if "-" in part:
            low, high = (int(x) for x in part.split("-", 1))
            out.update(range(low, high + 1))
        elif part.strip():
            out.add(int(part))
    if not out or min(out) < 0:
        raise ValueError(f"bad partitions {text!r}: use for example 0-3 or 0,2")
    return sorted(out)


def publish(path: Path, url: str, partitions: int, batch_rows: int = 5_000) -> list[int]:
    """XADD every row of an events file to its instrument's partition; rows per partition.

    Rows are sent as read (validation happens in the worker, so a bad row becomes a dead
    letter there, with its message id).
    """
    if partitions < 1:
        raise ValueError("partitions must be >= 1")
    target = connect(url)
    counts = [0] * partitions
    for rows in _json_rows(path, batch_rows):
        pipe = target.client.pipeline(transaction=False)
        for instrument, line in rows:
            k = partition_of(instrument, partitions)
            pipe.xadd(target.stream(k), {FIELD: line})
            counts[k] += 1
        pipe.execute()
    return counts


def _json_rows(path: Path, batch_rows: int) -> Iterator[list[tuple[str, bytes]]]:
    for raw in iter_raw_batches(path, batch_rows):
        rows = raw.table.to_pylist()
        yield [
            (str(row.get("instrument_id") or ""), json.dumps(json_safe_row(row)).encode())
            for row in rows
        ]


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


class RedisSource:
    """Chosen partitions of a published stream, read through a consumer group."""

    def __init__(self, url: str, partitions: Sequence[int], group: str, consumer: str) -> None:
        self.target = connect(url)
        # XREADGROUP's reply as Redis sends it: redis-py would build a dict per entry
        # (about 1 µs an event), for the one field read here
        self.target.client.set_response_callback("XREADGROUP", _as_sent)
        self.group = group
        self.consumer = consumer
        self.streams = [self.target.stream(p) for p in partitions]
        for stream in self.streams:
            try:
                self.target.client.xgroup_create(stream, group, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        # first re-deliver what this consumer read before and never acknowledged
        self._pending_from: dict[str, str] = {s: "0" for s in self.streams}
        self._skip: dict[str, tuple[int, int]] = {}
        self._unacked: dict[str, list[str]] = {s: [] for s in self.streams}

    def seek(self, positions: Mapping[str, str]) -> None:
        """Entries at or before these ids are already inside the checkpoint's state."""
        self._skip = {s: _id_key(i) for s, i in positions.items() if s in self.streams}

    def read(self, max_rows: int, timeout_s: float) -> Chunk | None:
        """Pending entries first, then new ones; waits at most `timeout_s` for new ones."""
        client = self.target.client
        if self._pending_from:
            since: dict[bytes | str | memoryview[int], int | bytes | str | memoryview[int]]
            since = dict(self._pending_from.items())
            reply = client.xreadgroup(self.group, self.consumer, since, count=max_rows)
            entries = _entries(reply)
            for stream in list(self._pending_from):
                got = entries.get(stream, [])
                if got:
                    self._pending_from[stream] = got[-1][0]
                else:
                    del self._pending_from[stream]
        else:
            block = max(1, int(timeout_s * 1000))
            reply = client.xreadgroup(
                self.group,
                self.consumer,
                {s: ">" for s in self.streams},
                count=max_rows,
                block=block,
            )
            entries = _entries(reply)
        return self._chunk(entries)

    def _chunk(self, entries: dict[str, list[tuple[str, bytes]]]) -> Chunk:
        lines: list[bytes] = []
        ids: list[str] = []
        positions: dict[str, str] = {}
        stale: dict[str, list[str]] = {}
        for stream, items in entries.items():
            skip = self._skip.get(stream)
            for entry_id, payload in items:
                if skip is not None and _id_key(entry_id) <= skip:
                    stale.setdefault(stream, []).append(entry_id)
                    continue
                lines.append(payload.replace(b"\n", b" "))
                ids.append(f"{stream}/{entry_id}")
                positions[stream] = entry_id
                self._unacked[stream].append(entry_id)
        for stream, old in stale.items():  # in the checkpoint already, only not yet acked
            self.target.client.xack(stream, self.group, *old)
        if not lines:
            return empty_chunk("redis")
        raw = parse_jsonl(b"\n".join(lines), 1, self.target.prefix)
        now = time.monotonic_ns()
        return Chunk(raw, positions, np.full(raw.num_rows, now, dtype=np.int64), tuple(ids))

    def commit(self, positions: Mapping[str, str]) -> None:
        """Acknowledge every delivered entry up to these ids."""
        for stream, position in positions.items():
            if stream not in self._unacked:
                continue
            limit = _id_key(position)
            done = [i for i in self._unacked[stream] if _id_key(i) <= limit]
            for start in range(0, len(done), 10_000):
                self.target.client.xack(stream, self.group, *done[start : start + 10_000])
            self._unacked[stream] = [i for i in self._unacked[stream] if _id_key(i) > limit]

    def unacknowledged(self) -> int:
        """Entries this worker holds, delivered and not yet acknowledged."""
        return sum(len(ids) for ids in self._unacked.values())

    def lag(self) -> int:
        """Entries in these partitions not yet delivered to the group."""
        total = 0
        for stream in self.streams:
            for info in self.target.client.xinfo_groups(stream):
                if info["name"].decode() == self.group and info.get("lag") is not None:
                    total += int(info["lag"])
        return total

    def close(self) -> None:
        """Close the connection."""
        self.target.client.close()


def _as_sent(response: object, **_: object) -> object:
    return response


def _entries(reply: object) -> dict[str, list[tuple[str, bytes]]]:
    """Each stream's (entry id, event) pairs of an XREADGROUP reply as the connection
    parses it: {stream: [[id, [field, value, ...]], ...]} (a list of [stream, entries]
    pairs with RESP2 and no hiredis); a deleted entry's fields are nil."""
    out: dict[str, list[tuple[str, bytes]]] = {}
    pairs = reply.items() if isinstance(reply, dict) else reply or []
    for stream, items in pairs:  # type: ignore[attr-defined]
        name = stream.decode() if isinstance(stream, bytes) else str(stream)
        out[name] = [(entry_id.decode(), _event(fields)) for entry_id, fields in items if fields]
    return out


def _event(fields: list[bytes]) -> bytes:
    """The event field of an entry's field/value list (b"" without one: a dead letter)."""
    if len(fields) == 2 and fields[0] == FIELD:
        return fields[1]
    return dict(zip(fields[::2], fields[1::2], strict=False)).get(FIELD, b"")


class RedisDeadLetters:
    """Dead letters as entries of `<prefix>:deadletter`, each with its message id."""

    def __init__(self, url: str) -> None:
        self.target = connect(url)

    def write(self, letters: Sequence[DeadLetter], chunk: Chunk) -> None:
        """XADD one entry per rejected message."""
        pipe = self.target.client.pipeline(transaction=False)
        for letter in letters:
            index = letter.line - 1
            message = chunk.ids[index] if 0 <= index < len(chunk.ids) else ""
            record = {
                "message_id": message,
                "field": letter.field,
                "reason": letter.reason,
                "row": json.dumps(json_safe_row(letter.row), default=str),
            }
            pipe.xadd(self.target.dead_letter_stream, record)  # type: ignore[arg-type]
        pipe.execute()
