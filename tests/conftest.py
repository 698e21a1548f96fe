"""Shared pytest set-up: makes tests/kit.py importable as `kit`; a small hybrid model; real servers
(redis-server, PostgreSQL) and a headless Chromium driven by Playwright."""

from __future__ import annotations

import os

# Two test workers plus the CLI's subprocesses share two cores; OpenMP threads in
# PyTorch and XGBoost that spin-wait for each other then run ten times slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import datetime as dt
import shutil
import subprocess
from collections.abc import Iterator

import pytest
import redis
from hybrid import Hybrid
from playwright.sync_api import Browser, sync_playwright
from servers import CHROMIUM, INSTALL_HINT, free_port, postgres_server
from workbench import Workbench, build_workbench

from tapewatch.detect.anomaly import AutoencoderConfig
from tapewatch.engine.redis_streams import wait_for_redis
from tapewatch.learn.workflow import train_on_events
from tapewatch.synth import AbuseMix, MarketConfig, generate_market


@pytest.fixture(scope="session")
def hybrid() -> Hybrid:
    """Small, quick to train, and real: XGBoost plus the LSTM autoencoder and the ensemble."""
    mix = AbuseMix(pump_and_dump=0.02, quote_stuffing=0.02, marking_the_close=0.02)
    day = generate_market(MarketConfig(n_events=80_000, seed=21, mix=mix))
    outcome = train_on_events(
        day, data_path="day", data_hash="day", ae_config=AutoencoderConfig(max_epochs=8)
    )
    unseen = generate_market(MarketConfig(n_events=30_000, seed=22, date=dt.date(2026, 3, 4)))
    return Hybrid(day, outcome, unseen)


@pytest.fixture(scope="session")
def workbench(hybrid: Hybrid, tmp_path_factory: pytest.TempPathFactory) -> Workbench:
    """The hybrid model's unseen day scored into a store and a lake, with a user per role.
    Tests that change the store work on a copy (`tmp_path`) or only add to it."""
    return build_workbench(hybrid.model, hybrid.unseen_day, tmp_path_factory.mktemp("workbench"))


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free port (installed from Debian's packages if missing)."""
    if shutil.which("redis-server") is None:
        subprocess.run(["apt-get", "install", "-y", "-q", "redis-server"], check=True)
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path_factory.mktemp("redis"))],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_redis(redis.Redis(port=port))
    except redis.ConnectionError:
        server.kill()
        raise
    yield f"redis://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a free port with a database `tapewatch`, as a SQLAlchemy
    URL (psycopg 3); one per test worker, deleted at the end."""
    with postgres_server("tapewatch") as url:
        yield url


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium, which the test set-up installs: missing is a failure, not a skip."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: {INSTALL_HINT}", pytrace=False)
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Browser]:
    """A headless Chromium driven by Playwright; never a browser that Playwright downloads."""
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"],
        )  # fmt: skip
        yield chromium
        chromium.close()
    finally:
        playwright.stop()
