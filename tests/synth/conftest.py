"""Shared generated days: one of 100,000 events (typology shares) and one small (replays)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tapewatch.synth import MarketConfig, generate_market

DAY = MarketConfig(n_events=100_000, seed=11)
SMALL = MarketConfig(n_events=20_000, seed=3)


@pytest.fixture(scope="session")
def day_config() -> MarketConfig:
    """The config of the ``day`` table."""
    return DAY


@pytest.fixture(scope="session")
def small_config() -> MarketConfig:
    """The config of the ``small`` table."""
    return SMALL


@pytest.fixture(scope="session")
def day() -> pa.Table:
    """A default-sized day (about 100,000 events, the default abuse mix)."""
    return generate_market(DAY)


@pytest.fixture(scope="session")
def small() -> pa.Table:
    """A small day for the slower row-by-row checks."""
    return generate_market(SMALL)
