"""Redis Streams as the transport, partitioned like Kafka topics.

`publish` writes events into stream `<prefix>:<k>`, where k is a stable hash of the
instrument modulo the number of partitions, so all of an instrument's events, and all
its state, meet in one worker. An entry holds either one event as a JSON object (field
`e`, what any producer can write) or a block of events as an Arrow IPC stream (field `a`,
what `publish` writes by default: one entry per event costs the reader and the server
about 10 µs of CPU an event, more than scoring it). `RedisSource` reads chosen partitions
through a consumer group and takes both; entries are acknowledged (XACK) only when the
worker commits, after their alerts are persisted and its checkpoint is written. After a
crash the worker's pending entries are delivered again, first.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import redis

from tapewatch.engine.defaults import ROWS_PER_MESSAGE
from tapewatch.engine.sources import Chunk, empty_chunk
from tapewatch.schema.deadletter import DeadLetter, json_safe_row
from tapewatch.schema.jsonl_reader import parse_jsonl
from tapewatch.schema.raw import RawTable
from tapewatch.schema.readers import iter_raw_batches

#: an entry's field holding one event, a JSON object
FIELD = b"e"
#: an entry's field holding a block of events, an Arrow IPC stream of one table
BLOCK_FIELD = b"a"
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


def publish(
    path: Path,
    url: str,
    partitions: int,
    batch_rows: int = 5_000,
    rows_per_message: int = ROWS_PER_MESSAGE,
) -> list[int]:
    """XADD every row of an events file to its instrument's partition; rows per partition.

    Rows go in blocks of up to `rows_per_message` a message (Arrow IPC), or one JSON
    event a message when it is 1. Rows are sent as read: validation happens in the
    worker, so a bad row becomes a dead letter there, with its message id.
    """
    if partitions < 1:
        raise ValueError("partitions must be >= 1")
    if rows_per_message < 1:
        raise ValueError("rows_per_message must be >= 1")
    target = connect(url)
    counts = [0] * partitions
    batch_rows = max(batch_rows, rows_per_message * partitions)
    for raw in iter_raw_batches(path, batch_rows):
        pipe = target.client.pipeline(transaction=False)
        for k, rows in _by_partition(raw.table, partitions):
            counts[k] += rows.num_rows
            if rows_per_message == 1:
                for row in rows.to_pylist():
                    pipe.xadd(target.stream(k), {FIELD: json.dumps(json_safe_row(row))})
                continue
            for start in range(0, rows.num_rows, rows_per_message):
                block = rows.slice(start, rows_per_message)
                pipe.xadd(target.stream(k), {BLOCK_FIELD: _ipc_bytes(block)})
        pipe.execute()
    return counts


def _by_partition(table: pa.Table, partitions: int) -> Iterator[tuple[int, pa.Table]]:
    """Each partition's rows of a table, in their order."""
    if "instrument_id" not in table.column_names or pa.types.is_null(table["instrument_id"].type):
        yield partition_of("", partitions), table
        return
    codes = pc.dictionary_encode(table["instrument_id"]).combine_chunks()
    names = codes.dictionary.to_pylist()
    of_code = np.array([partition_of(str(n or ""), partitions) for n in names], np.int64)
    indices = codes.indices.fill_null(len(names)).to_numpy()  # a null id hashes as ""
    row_partition = np.append(of_code, partition_of("", partitions))[indices]
    for k in np.unique(row_partition):
        yield int(k), table.take(np.flatnonzero(row_partition == k))


def _ipc_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    data: bytes = sink.getvalue().to_pybytes()
    return data


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


class RedisSource:
    """Chosen partitions of a published stream, read through a consumer group."""

    def __init__(self, url: str, partitions: Sequence[int], group: str, consumer: str) -> None:
        self.target = connect(url)
        # XREADGROUP's reply as Redis sends it: redis-py would build a dict per entry,
        # for the one field read here
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
        #: per stream, the entries delivered and not acknowledged, with their events
        self._unacked: dict[str, list[tuple[str, int]]] = {s: [] for s in self.streams}
        #: chunks read and not yet handed out (a reply of JSON and block entries)
        self._ready: deque[Chunk] = deque()
        #: events an entry held, on average, in the last reply (None before the first)
        self._rows_per_entry: float | None = None

    def seek(self, positions: Mapping[str, str]) -> None:
        """Entries at or before these ids are already inside the checkpoint's state."""
        self._skip = {s: _id_key(i) for s, i in positions.items() if s in self.streams}

    def read(self, max_rows: int, timeout_s: float) -> Chunk | None:
        """Pending entries first, then new ones; waits at most `timeout_s` for new ones.

        Whole entries only: a chunk may hold up to one entry's events more than asked.
        """
        if self._ready:
            return self._ready.popleft()
        client = self.target.client
        # one entry first: a block may hold thousands of events
        per_entry = self._rows_per_entry
        count = 1 if per_entry is None else max(1, int(max_rows / per_entry))
        if self._pending_from:
            since: dict[bytes | str | memoryview[int], int | bytes | str | memoryview[int]]
            since = dict(self._pending_from.items())
            reply = client.xreadgroup(self.group, self.consumer, since, count=count)
            entries = _entries(reply)
            for stream in list(self._pending_from):
                got = entries.get(stream, [])
                if got:
                    self._pending_from[stream] = got[-1].id
                else:
                    del self._pending_from[stream]
        else:
            block = max(1, int(timeout_s * 1000))
            reply = client.xreadgroup(
                self.group,
                self.consumer,
                {s: ">" for s in self.streams},
                count=count,
                block=block,
            )
            entries = _entries(reply)
        self._ready.extend(self._chunks(entries))
        return self._ready.popleft() if self._ready else empty_chunk("redis")

    def _chunks(self, entries: dict[str, list[Entry]]) -> list[Chunk]:
        """Each stream's entries as chunks in their order, one per run of JSON events or
        of blocks with the same columns; entries the checkpoint holds are acknowledged."""
        out: list[Chunk] = []
        n_entries = n_rows = 0
        for stream, items in entries.items():
            skip = self._skip.get(stream)
            if skip is not None:
                stale = [e.id for e in items if _id_key(e.id) <= skip]
                if stale:  # in the checkpoint already, only not yet acknowledged
                    self.target.client.xack(stream, self.group, *stale)
                    items = items[len(stale) :]
            for run in _runs(items):
                chunk = _chunk(stream, run, self.target.prefix)
                self._unacked[stream] += [(e.id, e.rows) for e in run]
                n_entries += len(run)
                n_rows += sum(e.rows for e in run)
                out.append(chunk)
        if n_entries:
            self._rows_per_entry = max(1.0, n_rows / n_entries)
        return out

    def commit(self, positions: Mapping[str, str]) -> None:
        """Acknowledge every delivered entry up to these ids."""
        for stream, position in positions.items():
            if stream not in self._unacked:
                continue
            limit = _id_key(position)
            done = [i for i, _ in self._unacked[stream] if _id_key(i) <= limit]
            for start in range(0, len(done), 10_000):
                self.target.client.xack(stream, self.group, *done[start : start + 10_000])
            self._unacked[stream] = [u for u in self._unacked[stream] if _id_key(u[0]) > limit]

    def unacknowledged(self) -> int:
        """Events this worker holds, delivered and not yet acknowledged."""
        return sum(rows for ids in self._unacked.values() for _, rows in ids)

    def lag(self) -> int:
        """Events in these partitions not yet delivered to the group: exact for entries of
        one event, else the entries times the events an entry held in the last read."""
        total = 0
        for stream in self.streams:
            for info in self.target.client.xinfo_groups(stream):
                if info["name"].decode() == self.group and info.get("lag") is not None:
                    total += int(info["lag"])
        return round(total * (self._rows_per_entry or 1.0))

    def close(self) -> None:
        """Close the connection."""
        self.target.client.close()


@dataclass(frozen=True)
class Entry:
    """One stream entry: its id, and its event (JSON), its block of events (IPC table)
    or why it cannot be read."""

    id: str
    #: events it holds (an entry that cannot be read counts as one, its dead letter)
    rows: int = 1
    event: bytes = b""
    table: pa.Table | None = None
    error: str = ""


def _entry(entry_id: str, field: bytes, payload: bytes) -> Entry:
    if field == FIELD:
        return Entry(entry_id, event=payload)
    if field != BLOCK_FIELD:
        return Entry(entry_id, error="no event: expected field e or a")
    try:
        table = pa.ipc.open_stream(payload).read_all()
    except (pa.ArrowException, ValueError, OSError) as exc:
        return Entry(entry_id, error=f"not an Arrow IPC block: {exc}")
    return Entry(entry_id, table.num_rows, table=table)


def _runs(items: list[Entry]) -> Iterator[list[Entry]]:
    """Consecutive entries that make one table: JSON events, blocks of one schema, or
    entries that cannot be read."""
    run: list[Entry] = []
    for entry in items:
        if run and _kind(run[0]) != _kind(entry):
            yield run
            run = []
        run.append(entry)
    if run:
        yield run


def _kind(entry: Entry) -> tuple[str, pa.Schema | None]:
    if entry.error:
        return "unreadable", None
    if entry.table is not None:
        return "block", entry.table.schema
    return "json", None


def _chunk(stream: str, run: list[Entry], prefix: str) -> Chunk:
    """One run of entries as a chunk; row i's message is ids[i] (an entry's rows are
    `<stream>/<id>#<row>`)."""
    now = time.monotonic_ns()
    positions = {stream: run[-1].id}
    kind, _ = _kind(run[0])
    if kind == "json":
        raw = parse_jsonl(b"\n".join(e.event.replace(b"\n", b" ") for e in run), 1, prefix)
        ids = tuple(f"{stream}/{e.id}" for e in run)
        return Chunk(raw, positions, np.full(raw.num_rows, now, dtype=np.int64), ids)
    if kind == "unreadable":
        letters = tuple(DeadLetter(k + 1, "line", "", e.error, {}) for k, e in enumerate(run))
        raw = RawTable(pa.table({}), 1, "line", prefix, rejected=letters)
        return Chunk(raw, positions, np.empty(0, np.int64), tuple(f"{stream}/{e.id}" for e in run))
    tables = [e.table for e in run if e.table is not None]
    table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
    ids = tuple(f"{stream}/{e.id}#{k}" for e in run for k in range(e.rows))
    raw = RawTable(table, 1, "line", prefix)
    return Chunk(raw, positions, np.full(table.num_rows, now, dtype=np.int64), ids)


def _as_sent(response: object, **_: object) -> object:
    return response


def _entries(reply: object) -> dict[str, list[Entry]]:
    """Each stream's entries of an XREADGROUP reply as the connection parses it:
    {stream: [[id, [field, value, ...]], ...]} (a list of [stream, entries] pairs with
    RESP2 and no hiredis); a deleted entry's fields are nil."""
    out: dict[str, list[Entry]] = {}
    pairs = reply.items() if isinstance(reply, dict) else reply or []
    for stream, items in pairs:  # type: ignore[attr-defined]
        name = stream.decode() if isinstance(stream, bytes) else str(stream)
        out[name] = [
            _entry(entry_id.decode(), *_payload(fields)) if fields else _deleted(entry_id)
            for entry_id, fields in items
        ]
    return out


def _deleted(entry_id: bytes) -> Entry:
    """A pending entry deleted before it was processed: a dead letter, so that the pending
    pass goes on past it and its loss is on record."""
    return Entry(
        entry_id.decode(),
        error="deleted from the stream before it was processed (XDEL or a trim): "
        "its events are lost",
    )


def _payload(fields: list[bytes]) -> tuple[bytes, bytes]:
    """The event or block field of an entry's field/value list, and its value."""
    if len(fields) == 2:
        return fields[0], fields[1]
    values = dict(zip(fields[::2], fields[1::2], strict=False))
    for field in (BLOCK_FIELD, FIELD):
        if field in values:
            return field, values[field]
    return b"", b""


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
