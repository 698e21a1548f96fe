"""HTTP API benchmarks (make bench): `tapewatch serve` in its own process, this process
the client.

1. POST /api/v1/check, one event per request, with the events of an unseen generated
   day in time order, so the server keeps each trader's live state: first one request at
   a time (the service time), then at a fixed open-loop rate (default 500 requests/s for
   30 s). Requests go out on schedule whether or not earlier ones have answered, and
   each latency runs from the request's scheduled send time to its answer, so any
   queueing counts. Target (issue): P99 under 10 ms. Between the two, the same pacing
   against GET /health gives the HTTP floor and shows that the client keeps time, and
   GET /health as fast as the server answers gives the most the HTTP stack serves.
2. The alert list with 100,000 alerts in the store: GET /api/v1/alerts (first page, a
   filtered page, the 50th page through cursors) and the HTML page /alerts.

The store is a day scored as `tapewatch score --db --lake` scores it, its alerts then
replicated (new ids, earlier days) up to 100,000. Everything lives in a temporary
directory; only the demo model is cached, under tapewatch-data/bench-cache.
Prints a Markdown table for docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from demo_model import demo_model_dir
from report import print_table
from rich.console import Console

from tapewatch.cli.score import run_score
from tapewatch.schema.columns import EVENT_SCHEMA
from tapewatch.schema.writers import write_parquet_atomic
from tapewatch.store.alerts import AlertStore
from tapewatch.store.models import AlertRecord, Role
from tapewatch.store.users import add_user
from tapewatch.synth import MarketConfig, generate_market

DAY_US = 86_400_000_000


# --- the store -------------------------------------------------------------------------


def scored_store(model_dir: Path, work: Path, n_events: int) -> tuple[str, Path, int]:
    """A generated day scored into a new SQLite store and lake as `tapewatch score --db
    --lake` does it; the store's URL, the lake and the alerts it raised."""
    day = generate_market(MarketConfig(n_events=n_events, seed=301, date=dt.date(2026, 3, 9)))
    events = work / "day.parquet"
    write_parquet_atomic(day, events)
    db, lake = str(work / "tapewatch.db"), work / "lake"
    result = run_score(
        events,
        model_dir,
        work / "scores.parquet",
        None,
        batch_rows=100_000,
        deadletter_dir=work / "deadletter",
        quiet=True,
        out_console=Console(quiet=True),
        db=db,
        lake=lake,
    )
    return db, lake, result.alerts.num_rows


def _suffixed(strings: pa.Array | pa.ChunkedArray, suffix: str) -> pa.Array:
    return pc.binary_join_element_wise(strings, pa.scalar(suffix), "")


def replicas(alerts: pa.Table, copy: int) -> pa.Table:
    """The alerts again with new alert and transaction ids, `copy` days earlier."""
    suffix = f"~{copy}"
    tx = alerts.column("transaction_ids").combine_chunks()
    shift = pa.scalar(dt.timedelta(days=copy))
    columns = {
        "alert_id": _suffixed(alerts.column("alert_id"), suffix),
        "transaction_ids": pa.ListArray.from_arrays(
            tx.offsets, _suffixed(tx.flatten(), suffix), type=tx.type
        ),
        "start": pc.subtract(alerts.column("start"), shift),
        "end": pc.subtract(alerts.column("end"), shift),
    }
    for name, values in columns.items():
        i = alerts.schema.get_field_index(name)
        alerts = alerts.set_column(i, alerts.schema.field(name), values)
    return alerts


def fill_alerts(db: str, total: int, chunk: int = 10_000) -> tuple[int, float]:
    """Replicate the store's alerts until it holds `total`; how many it holds, and the
    seconds the writes took."""
    store = AlertStore(db)
    real = store.table()
    have = real.num_rows
    if have == 0:
        raise SystemExit("the scored day raised no alerts to replicate")
    started = time.perf_counter()
    copy, pending = 0, []
    while have < total:
        copy += 1
        more = replicas(real, copy).slice(0, total - have)
        pending.append(more)
        have += more.num_rows
        if sum(t.num_rows for t in pending) >= chunk or have >= total:
            store.put(pa.concat_tables(pending))
            pending = []
    seconds = time.perf_counter() - started
    count = store.count()
    store.close()
    return count, seconds


# --- the server ------------------------------------------------------------------------


def free_port() -> int:
    """A loopback TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A `tapewatch serve` process and where it answers."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def peak_rss_mb(self) -> float:
        """The server's peak resident memory so far, in MiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return math.nan

    def stop(self) -> None:
        """Stop the server (it stores the alerts still open as it goes)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(
    db: str, lake: Path, model_dir: Path, work: Path, omp_threads: int | None = None
) -> Server:
    """`tapewatch serve` on a free loopback port (with OMP_NUM_THREADS set if given);
    returns once /health answers."""
    port = free_port()
    env = dict(os.environ)
    if omp_threads is not None:
        env["OMP_NUM_THREADS"] = str(omp_threads)
    log = work / "serve.log"
    command = [sys.executable, "-m", "tapewatch.cli.app", "serve", "--db", db,
               "--lake", str(lake), "--model", str(model_dir), "--port", str(port)]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    server = Server(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"tapewatch serve exited:\n{log.read_text()}")
        try:
            if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise SystemExit(f"tapewatch serve did not answer /health in 180 s:\n{log.read_text()}")


# --- 1. /api/v1/check at a fixed rate ----------------------------------------------------


def event_bodies(n_events: int, wanted: int) -> list[bytes]:
    """The first `wanted` events of an unseen generated day in time order, each a JSON
    request body of one event in the contract's columns."""
    day = generate_market(MarketConfig(n_events=n_events, seed=302, date=dt.date(2026, 3, 10)))
    day = day.select(EVENT_SCHEMA.names)
    day = day.take(pc.sort_indices(day, [("timestamp", "ascending")])).slice(0, wanted)
    if day.num_rows < wanted:
        raise SystemExit(f"the day has {day.num_rows:,} events, {wanted:,} wanted")
    bodies = []
    for row in day.to_pylist():
        row["timestamp"] = row["timestamp"].isoformat().replace("+00:00", "Z")
        bodies.append(json.dumps(row).encode())
    return bodies


@dataclass
class Load:
    """What a paced run measured, per request (NaN where there was no answer)."""

    latency_ms: np.ndarray
    send_lag_ms: np.ndarray
    processing_ms: np.ndarray
    status: np.ndarray
    rejected: int
    send_s: float
    elapsed_s: float

    def stats(self) -> tuple[float, float, float, float, float]:
        """P50, P95, P99, P99.9 and max latency (ms) of the answered requests."""
        answered = self.latency_ms[~np.isnan(self.latency_ms)]
        p50, p95, p99, p999 = np.percentile(answered, [50, 95, 99, 99.9])
        return float(p50), float(p95), float(p99), float(p999), float(answered.max())

    @property
    def errors(self) -> int:
        """Requests not answered 200."""
        return int((self.status != 200).sum())


class Connections:
    """Keep-alive HTTP/1.1 connections to the server, one request at a time on each, at
    most `limit` open (a request waits for a free one beyond that). Hand-rolled because
    httpx's connection pool spends time quadratic in the requests queued in it, which
    made the client, not the server, the bottleneck once the server fell behind."""

    def __init__(self, url: str, limit: int) -> None:
        address = httpx.URL(url)
        self.host, self.port = str(address.host), int(address.port or 80)
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.free = asyncio.Semaphore(limit)

    def head(self, method: str, path: str, headers: dict[str, str], length: int) -> bytes:
        """A request's start line and headers."""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines += [f"Content-Length: {length}", "", ""]
        return "\r\n".join(lines).encode()

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """Send a whole request; the answer's status and body. A kept-alive connection the
        server has closed meanwhile (uvicorn drops them after 5 s idle) is replaced once."""
        async with self.free:
            while True:
                reused = bool(self.idle)
                if reused:
                    reader, writer = self.idle.pop()
                else:
                    reader, writer = await asyncio.open_connection(self.host, self.port)
                try:
                    writer.write(request)
                    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
                    fields = dict(
                        line.split(": ", 1) for line in head.split("\r\n")[1:] if ": " in line
                    )
                    body = await reader.readexactly(int(fields["content-length"]))
                except (ConnectionError, asyncio.IncompleteReadError) as exc:
                    writer.close()
                    nothing = not isinstance(exc, asyncio.IncompleteReadError) or not exc.partial
                    if reused and nothing:
                        continue
                    raise
                except BaseException:
                    writer.close()
                    raise
                if fields.get("connection") == "close":
                    writer.close()
                else:
                    self.idle.append((reader, writer))
                return int(head[9:12]), body

    def close(self) -> None:
        """Close the idle connections."""
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


async def paced(
    url: str,
    key: str,
    bodies: list[bytes | None],
    rate: float,
    path: str = "/api/v1/check",
    connections: int = 2_000,
) -> Load:
    """Send request i at its slot, i / rate s after the start, without waiting for the
    answers to earlier ones (a POST of bodies[i], or a GET where it is None); latency from
    the slot to the answer."""
    n = len(bodies)
    latency, lag = np.full(n, np.nan), np.full(n, np.nan)
    processing = np.full(n, np.nan)
    status = np.zeros(n, np.int32)
    rejected = 0
    pool = Connections(url, connections)
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    requests = [
        pool.head("GET", path, headers, 0)
        if body is None
        else pool.head("POST", path, headers, len(body)) + body
        for body in bodies
    ]

    async def one(i: int, due: float) -> None:
        nonlocal rejected
        lag[i] = (time.perf_counter() - due) * 1e3
        try:
            code, answer = await pool.send(requests[i])
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, KeyError):
            status[i] = -1
            return
        latency[i] = (time.perf_counter() - due) * 1e3
        status[i] = code
        if code == 200 and bodies[i] is not None:
            scored = json.loads(answer)
            processing[i] = scored["processing_ms"]
            rejected += len(scored["rejected"])

    tasks = []
    start = time.perf_counter() + 0.1
    for i in range(n):
        due = start + i / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(i, due)))
    send_s = time.perf_counter() - start
    await asyncio.gather(*tasks)
    elapsed_s = time.perf_counter() - start
    pool.close()
    return Load(latency, lag, processing, status, rejected, send_s, elapsed_s)


async def saturate(
    url: str, key: str, path: str, connections: int, seconds: float
) -> tuple[float, np.ndarray]:
    """GET `path` on `connections` connections, each sending its next request as soon
    as the last is answered, for `seconds`: requests/s answered, and their latencies (ms)."""
    pool = Connections(url, connections)
    request = pool.head("GET", path, {"X-API-Key": key}, 0)
    times: list[float] = []
    end = time.perf_counter() + seconds

    async def client() -> None:
        while time.perf_counter() < end:
            t = time.perf_counter()
            await pool.send(request)
            times.append((time.perf_counter() - t) * 1e3)

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    elapsed = time.perf_counter() - start
    pool.close()
    return len(times) / elapsed, np.array(times)


def one_at_a_time(url: str, key: str, bodies: list[bytes]) -> np.ndarray:
    """POST these events one after another (the first builds the live scorer); the
    latency of each, in ms."""
    times = np.empty(len(bodies))
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    with httpx.Client(base_url=url, timeout=120) as client:
        for i, body in enumerate(bodies):
            t = time.perf_counter()
            client.post("/api/v1/check", content=body, headers=headers).raise_for_status()
            times[i] = (time.perf_counter() - t) * 1e3
    return times


def check_rows(
    serial: np.ndarray,
    load: Load,
    floor: Load,
    most: tuple[float, np.ndarray],
    rate: float,
    warm: int,
) -> list[tuple[str, str]]:
    """The table rows of the /check runs."""
    p50, p95, p99, p999, worst = load.stats()
    s50, s99 = np.nanpercentile(load.processing_ms, [50, 99])
    lag99, lag_max = np.nanpercentile(load.send_lag_ms, [99, 100])
    n = len(load.status)
    verdict = "met" if p99 < 10 else "**not met**"
    f50, _, f99, _, f_max = floor.stats()
    return [
        (
            f"POST /api/v1/check one at a time ({len(serial):,} events after {warm} warm-up "
            "events): latency P50 / P99, and the rate that makes",
            f"{np.percentile(serial, 50):.2f} / {np.percentile(serial, 99):.2f} ms; "
            f"{len(serial) / serial.sum() * 1e3:,.0f} requests/s",
        ),
        (
            f"POST /api/v1/check, one event per request, open loop at {rate:,.0f}/s for "
            f"{n / rate:,.0f} s ({n:,} requests, the next events of the day in time order)",
            f"sent at {n / load.send_s:,.0f}/s, answered in {load.elapsed_s:,.1f} s "
            f"({n / load.elapsed_s:,.0f}/s); {load.errors} errors; "
            f"{load.rejected} events rejected",
        ),
        (
            "  latency from scheduled send to answer: P50 / P95 / P99 / P99.9 / max",
            f"{p50:,.2f} / {p95:,.2f} / **{p99:,.2f}** / {p999:,.2f} / {worst:,.1f} ms "
            f"(target P99 < 10 ms: {verdict})",
        ),
        (
            "  server's scoring time per request (processing_ms, waiting for the scorer's "
            "lock included): P50 / P99",
            f"{s50:,.2f} / {s99:,.2f} ms",
        ),
        ("  client send lag behind schedule: P99 / max", f"{lag99:,.2f} / {lag_max:,.2f} ms"),
        (
            f"GET /health open loop at {rate:,.0f}/s for {len(floor.status) / rate:,.0f} s "
            "before the paced /check run (the HTTP floor: uvicorn, FastAPI, one SQLite read): "
            "P50 / P99 / max",
            f"{f50:,.2f} / {f99:,.2f} / {f_max:,.1f} ms; {floor.errors} errors",
        ),
        (
            "GET /health as fast as it answers (32 connections, closed loop, 5 s): "
            "throughput; latency P50 / P99",
            f"{most[0]:,.0f} requests/s; {np.percentile(most[1], 50):.2f} / "
            f"{np.percentile(most[1], 99):.2f} ms",
        ),
    ]


# --- 2. the alert list -----------------------------------------------------------------


def timed(client: httpx.Client, path: str, params: dict[str, str], n: int) -> tuple[float, float]:
    """Median and P95 (ms) of `n` GETs after two unmeasured ones."""
    times = []
    for i in range(n + 2):
        t = time.perf_counter()
        response = client.get(path, params=params)
        elapsed = (time.perf_counter() - t) * 1e3
        response.raise_for_status()
        if i >= 2:
            times.append(elapsed)
    p50, p95 = np.percentile(times, [50, 95])
    return float(p50), float(p95)


def page_cursor(client: httpx.Client, page: int) -> str:
    """The cursor of page `page` (from 1) of the unfiltered list."""
    cursor: str | None = None
    for _ in range(page - 1):
        params = {"cursor": cursor} if cursor else {}
        cursor = (
            client.get("/api/v1/alerts", params=params).raise_for_status().json()["next_cursor"]
        )
        if cursor is None:
            raise SystemExit(f"the list has fewer than {page} pages")
    assert cursor is not None
    return cursor


def commonest_typology(db: str) -> str:
    """The typology most of the store's alerts have (the filter that matches most)."""
    store = AlertStore(db)
    with store.engine.connect() as connection:
        found = connection.execute(
            sa.select(AlertRecord.manipulation_type)
            .group_by(AlertRecord.manipulation_type)
            .order_by(sa.func.count().desc())
            .limit(1)
        ).scalar_one()
    store.close()
    return str(found)


def list_rows(url: str, key: str, n_alerts: int, typology: str, n: int) -> list[tuple[str, str]]:
    """Page times of the JSON list and the HTML page with the store's alerts."""
    rows = []
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=60) as api:
        cases: list[tuple[str, dict[str, str]]] = [
            ("first page (50 newest)", {}),
            (f"filtered: typology={typology} (the commonest), min_score=0.9", {"typology": typology, "min_score": "0.9"}),
            ("50th page (cursor of the 49th)", {"cursor": page_cursor(api, 50)}),
        ]  # fmt: skip
        for label, params in cases:
            p50, p95 = timed(api, "/api/v1/alerts", params, n)
            rows.append(
                (
                    f"GET /api/v1/alerts with {n_alerts:,} alerts: {label}",
                    f"median {p50:.1f} ms, P95 {p95:.1f} ms",
                )
            )
    with httpx.Client(base_url=url, timeout=60) as browser:
        login = browser.post("/login", data={"api_key": key})
        if login.status_code != 303 or "tapewatch_session" not in browser.cookies:
            rows.append(("GET /alerts (HTML)", "TODO: could not log in to time the page"))
            return rows
        if browser.get("/alerts").status_code == 404:
            rows.append(("GET /alerts (HTML)", "TODO: no /alerts page in this build"))
            return rows
        for label, params in [
            ("first page", {}),
            (f"filtered: typology={typology} (the commonest), min_score=0.9", {"typology": typology, "min_score": "0.9"}),
        ]:  # fmt: skip
            p50, p95 = timed(browser, "/alerts", params, n)
            rows.append(
                (
                    f"GET /alerts (HTML, logged-in session) with {n_alerts:,} alerts: {label}",
                    f"median {p50:.1f} ms, P95 {p95:.1f} ms",
                )
            )
    return rows


# --- main ------------------------------------------------------------------------------


def main() -> None:
    """Build the store, start the server, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-events", type=int, default=1_000_000)
    parser.add_argument("--day-events", type=int, default=300_000, help="scored into the store")
    parser.add_argument("--rate", type=float, default=500.0, help="requests/s to /check")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the paced run")
    parser.add_argument("--warm-up", type=int, default=200, help="events sent before the run")
    parser.add_argument("--serial", type=int, default=1_000, help="events sent one at a time")
    parser.add_argument(
        "--floor-seconds", type=float, default=10.0, help="length of the paced GET /health run"
    )
    parser.add_argument(
        "--omp-threads",
        type=int,
        default=None,
        help="OMP_NUM_THREADS for the server (default: this environment's)",
    )
    parser.add_argument("--alerts", type=int, default=100_000, help="alerts in the store")
    parser.add_argument("--requests", type=int, default=20, help="timed GETs per page")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    t = time.perf_counter()
    model_dir = demo_model_dir(args.train_events)
    model_s = time.perf_counter() - t
    n_checks = math.ceil(args.rate * args.seconds)
    with tempfile.TemporaryDirectory(prefix="tapewatch-bench-api-") as tmp:
        work = Path(tmp)
        t = time.perf_counter()
        db, lake, raised = scored_store(model_dir, work, args.day_events)
        score_s = time.perf_counter() - t
        n_alerts, fill_s = fill_alerts(db, args.alerts)
        typology = commonest_typology(db)
        store = AlertStore(db)
        key = add_user(store.engine, "bench", Role.ADMIN)
        store.close()
        first = args.warm_up + args.serial
        bodies = event_bodies(args.day_events, first + n_checks)

        server = start_server(db, lake, model_dir, work, args.omp_threads)
        try:
            one_at_a_time(server.url, key, bodies[: args.warm_up])
            serial = one_at_a_time(server.url, key, bodies[args.warm_up : first])
            # what is alive now stays, and nothing is collected while the client paces: a
            # collection would stall the client's loop and count as the server's latency
            gc.collect()
            gc.freeze()
            gc.disable()
            n_floor = math.ceil(args.rate * args.floor_seconds)
            floor = asyncio.run(paced(server.url, key, [None] * n_floor, args.rate, "/health"))
            most = asyncio.run(saturate(server.url, key, "/health", 32, 5.0))
            load = asyncio.run(paced(server.url, key, list(bodies[first:]), args.rate))
            gc.enable()
            rows = check_rows(serial, load, floor, most, args.rate, args.warm_up)
            rows += list_rows(server.url, key, n_alerts, typology, args.requests)
            server_rss = server.peak_rss_mb()
        finally:
            server.stop()
        for name, run in (("/api/v1/check", load), ("/health", floor)):
            bad = run.status != 200
            if bad.any():
                codes, counts = np.unique(run.status[bad], return_counts=True)
                found = dict(zip(codes.tolist(), counts.tolist(), strict=True))
                print(f"{name} errors by status (-1: no answer): {found}")
        if load.errors or floor.errors:
            print("server log:", server.log.read_text()[-3000:])

    rows = [
        (
            "store",
            f"{args.day_events:,}-event day scored with the demo model into SQLite + lake "
            f"({raised:,} alerts, {score_s:.0f} s), replicated to {n_alerts:,} alerts "
            f"({fill_s:.0f} s); demo model "
            + ("from the cache" if model_s < 10 else f"trained in {model_s:.0f} s"),
        ),
        *rows,
        ("peak RSS of the server", f"{server_rss:,.0f} MiB"),
        (
            "server's OMP_NUM_THREADS; load average (1 min) before / after",
            f"{args.omp_threads or os.environ.get('OMP_NUM_THREADS', 'unset')}; "
            f"{load_before:.2f} / {os.getloadavg()[0]:.2f}",
        ),
    ]
    print_table(rows)


if __name__ == "__main__":
    main()
