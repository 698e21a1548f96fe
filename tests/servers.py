"""Real servers for the tests: a throwaway PostgreSQL cluster (Debian's postgresql package),
and `tapewatch serve` as a user starts it."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

CHROMIUM = "/usr/bin/chromium"
INSTALL_HINT = "run scripts/install-system-deps.sh (or `make servers`)"


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_bin() -> Path:
    """The bin folder of the newest PostgreSQL server installed from Debian's packages."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if not found:
        raise RuntimeError(
            f"no PostgreSQL server (/usr/lib/postgresql/*/bin/initdb): {INSTALL_HINT}"
        )
    return Path(found[-1]).parent


def _version(initdb: str) -> int:
    part = Path(initdb).parts[-3]
    return int(part) if part.isdigit() else 0


@contextmanager
def postgres_server(database: str = "tapewatch") -> Iterator[str]:
    """Start a PostgreSQL cluster on a free port; yield its SQLAlchemy URL; stop and delete it.

    initdb refuses to run as root, so as root the cluster runs as the `postgres` OS user.
    Trust authentication, loopback only, durability off: the data lives as long as the test run.
    """
    bindir = postgres_bin()
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    # /tmp, not $TMPDIR: the `postgres` user must reach it, and socket paths must stay short
    base = Path(tempfile.mkdtemp(prefix="tapewatch-pg-", dir="/tmp"))
    if as_owner:
        shutil.chown(base, "postgres", "postgres")
    data, log, port = base / "data", base / "server.log", free_port()

    def run(*cmd: str, owner: bool = True) -> None:
        done = subprocess.run([*(as_owner if owner else []), *cmd], cwd=base, capture_output=True)
        if done.returncode != 0:
            server_log = log.read_text() if log.exists() else ""
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr.decode()}\n{server_log}")

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")  # fmt: skip
        options = f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off -c full_page_writes=off"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start")
        try:
            run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                database, owner=False)  # fmt: skip
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"
        finally:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def tapewatch_serve(*args: str, cwd: Path) -> Iterator[str]:
    """`tapewatch serve ARGS` run as a user runs it, on a free port; yields its base URL
    once it answers, and stops it after."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tapewatch.cli.app", "serve", *args, "--port", str(port)],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/health")
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the server did not come up"
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def served_alerts(base: str, key: str) -> int:
    """How many alerts the API lists to a key holder, page after page."""
    seen, cursor = 0, None
    while True:
        params = {"limit": 500} | ({"cursor": cursor} if cursor else {})
        page = httpx.get(f"{base}/api/v1/alerts", params=params, headers={"X-API-Key": key})
        assert page.status_code == 200, page.text
        seen += len(page.json()["items"])
        cursor = page.json()["next_cursor"]
        if not cursor:
            return seen
