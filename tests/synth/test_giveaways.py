"""Nothing but behaviour tells abuse from normal flow: no id, timing, size or flag artefacts."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tapewatch.synth.ids import is_valid_lei


def _split(table: pa.Table, column: str) -> tuple[np.ndarray, np.ndarray]:
    values = table.column(column).to_numpy(zero_copy_only=False)
    manip = table.column("is_manipulation").to_numpy(zero_copy_only=False)
    return values[manip], values[~manip]


def test_round_quantities_are_as_common_in_abuse_as_in_normal_flow(day: pa.Table) -> None:
    abuse, normal = _split(day, "quantity")
    for lot in (10, 100):
        a, n = np.mean(abuse % lot == 0), np.mean(normal % lot == 0)
        assert abs(a - n) < 0.08, f"multiples of {lot}: abuse {a:.3f}, normal {n:.3f}"


def test_no_round_timestamps(day: pa.Table) -> None:
    ts = day.column("timestamp").cast(pa.int64()).to_numpy()
    manip = day.column("is_manipulation").to_numpy(zero_copy_only=False)
    for unit in (1_000_000, 1_000):
        a, n = np.mean(ts[manip] % unit == 0), np.mean(ts[~manip] % unit == 0)
        assert a < 0.004, f"abuse timestamps on whole {unit} us: {a}"
        assert n < 0.004, f"normal timestamps on whole {unit} us: {n}"
    # Sub-second phase is uniform for both.
    for part in (ts[manip], ts[~manip]):
        frac = (part % 1_000_000) / 1e6
        hist = np.histogram(frac, bins=10, range=(0, 1))[0] / len(frac)
        assert hist.max() < 0.13


def test_episodes_start_at_random_microseconds(day: pa.Table) -> None:
    d = day.filter(day.column("is_manipulation")).select(["scenario_id", "timestamp"])
    first = d.group_by("scenario_id").aggregate([("timestamp", "min")])
    us = first.column("timestamp_min").cast(pa.int64()).to_numpy()
    assert len(us) > 100
    assert np.mean(us % 1_000 == 0) < 0.01
    assert len(np.unique(us % 1_000_000)) > 0.98 * len(us)


def test_ids_share_one_format(day: pa.Table) -> None:
    patterns = {"transaction_id": r"\d{18}", "order_id": r"\d{12}"}
    for column, pattern in patterns.items():
        for part in _split(day, column):
            assert all(re.fullmatch(pattern, v) for v in part[:: max(1, len(part) // 2000)])
    traders = set(day.column("trader_id").to_pylist())
    assert all(is_valid_lei(t) for t in traders)


def test_order_ids_follow_first_appearance(day: pa.Table) -> None:
    """Order ids are numbered in order of first appearance: they say nothing about who or why."""
    ids = day.column("order_id").to_numpy(zero_copy_only=False).astype(np.int64)
    _, first = np.unique(ids, return_index=True)
    firsts = ids[np.sort(first)]
    assert np.all(np.diff(firsts) == 1)


def test_order_types_and_flags_are_shared(day: pa.Table) -> None:
    for column in ("order_type", "trading_venue", "is_hft", "is_algo_trade"):
        abuse, normal = _split(day, column)
        assert set(abuse.tolist()) <= set(normal.tolist()), column
    abuse, normal = _split(day, "order_type")
    assert abs(np.mean(abuse == "MARKET") - np.mean(normal == "MARKET")) < 0.03
    for flag in ("is_hft", "is_algo_trade"):
        a, n = (np.mean(x) for x in _split(day, flag))
        assert abs(a - n) < 0.3, f"{flag}: abuse {a:.2f}, normal {n:.2f}"


def test_abusers_are_a_minority_of_accounts(day: pa.Table) -> None:
    abuse, normal = _split(day, "trader_id")
    assert len(set(abuse.tolist())) < 0.6 * len(set(normal.tolist()))


def test_normal_flow_has_hard_negatives(day: pa.Table) -> None:
    """Normal flow has its own cancels in bursts, self-trades and crossing pairs of accounts."""
    normal = day.filter(pc.invert(day.column("is_manipulation")))
    status = normal.column("order_status").to_numpy(zero_copy_only=False)
    assert np.mean(status == "CANCELLED") > 0.15
    ex = normal.filter(pc.equal(normal.column("order_status"), "EXECUTED"))
    self_trades = pc.sum(pc.equal(ex.column("trader_id"), ex.column("counterparty_id"))).as_py()
    assert self_trades
    assert self_trades < 0.02 * ex.num_rows


def test_no_instant_reactions_to_own_orders(day: pa.Table) -> None:
    """Nobody re-prices an order in the very microsecond it was sent, abuse or not."""
    ids = day.column("order_id").to_numpy(zero_copy_only=False)
    ts = day.column("timestamp").cast(pa.int64()).to_numpy()
    status = day.column("order_status").to_numpy(zero_copy_only=False)
    manip = day.column("is_manipulation").to_numpy(zero_copy_only=False)
    order = np.argsort(ids, kind="stable")
    same_order = ids[order][1:] == ids[order][:-1]
    instant = same_order & (ts[order][1:] == ts[order][:-1]) & (status[order][1:] == "MODIFIED")
    rows = order[1:]
    for mask in (manip[rows], ~manip[rows]):
        modified = status[rows] == "MODIFIED"
        assert instant[mask].sum() <= 0.01 * max(1, (modified & mask).sum())
