"""Real servers for the tests: a throwaway PostgreSQL cluster (Debian's postgresql package)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
