"""Features do not key on the data's units: a market quoted in cents instead of dollars, or
traded in lots of ten, gives the same features (docs/features.md says so of every one)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tapewatch.features.catalog import FEATURE_NAMES
from tapewatch.features.engine import compute_features_table
from tapewatch.synth import MarketConfig, generate_market

PRICES = ("price", "bid_price", "ask_price")
QUANTITIES = ("quantity", "bid_size", "ask_size")
#: features are float32: agreement to this relative precision is the same value
RELATIVE = 1e-4


@pytest.fixture(scope="module")
def day() -> tuple[pa.Table, npt.NDArray[np.float32]]:
    events = generate_market(MarketConfig(n_events=20_000, seed=5))
    return events, compute_features_table(events)


def scaled(events: pa.Table, columns: tuple[str, ...], factor: float) -> pa.Table:
    """The events with these columns multiplied by `factor`."""
    for name in columns:
        i = events.schema.get_field_index(name)
        column = pc.multiply(events.column(name), factor).cast(events.schema.field(name).type)
        events = events.set_column(i, name, column)
    return events


def changed(base: npt.NDArray[np.float32], other: npt.NDArray[np.float32]) -> dict[str, int]:
    """Rows whose feature changed (value beyond float32 precision, or defined on one side
    only), per feature that changed at all."""
    a, b = base.astype(np.float64), other.astype(np.float64)
    differ = (np.isnan(a) != np.isnan(b)) | (np.abs(a - b) > RELATIVE * (np.abs(a) + 1e-6))
    counts = np.count_nonzero(differ & ~(np.isnan(a) & np.isnan(b)), axis=0)
    return {FEATURE_NAMES[j]: int(n) for j, n in enumerate(counts) if n}


scales = st.sampled_from([0.01, 0.37, 10.0, 100.0, 1000.0])


@pytest.mark.parametrize("columns", [PRICES, QUANTITIES], ids=["prices", "quantities"])
@settings(max_examples=6, deadline=None)
@given(factor=scales)
def test_prices_or_quantities_in_other_units_give_the_same_features(
    day: tuple[pa.Table, npt.NDArray[np.float32]], columns: tuple[str, ...], factor: float
) -> None:
    events, base = day
    assert changed(base, compute_features_table(scaled(events, columns, factor))) == {}


def test_the_check_sees_a_feature_in_the_data_units(
    day: tuple[pa.Table, npt.NDArray[np.float32]],
) -> None:
    """The comparison is not blind: a feature that kept its units would be caught."""
    events, base = day
    moved = compute_features_table(scaled(events, PRICES, 100.0))
    j = FEATURE_NAMES.index("spread_bps")
    moved[:, j] *= 100.0  # spread in currency, not in basis points
    assert "spread_bps" in changed(base, moved)
