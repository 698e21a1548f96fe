"""Shared pytest set-up: makes tests/kit.py importable as `kit`; a small hybrid model."""

from __future__ import annotations

import os

# Two test workers plus the CLI's subprocesses share two cores; OpenMP threads in
# PyTorch and XGBoost that spin-wait for each other then run ten times slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import datetime as dt
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pytest
import redis

from tapewatch.detect.anomaly import AutoencoderConfig
from tapewatch.engine.redis_streams import wait_for_redis
from tapewatch.learn.registry import ModelBundle
from tapewatch.learn.workflow import TrainOutcome, train_on_events
from tapewatch.synth import AbuseMix, MarketConfig, generate_market


@dataclass(frozen=True)
class Hybrid:
    """A labelled training day, the model trained on it with the autoencoder, an unseen day."""

    train_day: pa.Table
    outcome: TrainOutcome
    unseen_day: pa.Table

    @property
    def model(self) -> ModelBundle:
        return self.outcome.bundle


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


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
