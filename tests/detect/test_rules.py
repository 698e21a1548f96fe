"""Deterministic rules: the shipped file, their hits, and clear errors for a bad file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tapewatch.detect.rules import RuleConfigError, load_rules
from tapewatch.features.catalog import N_FEATURES, feature_index
from tapewatch.features.keys import SMALL_BATCH


def rows(*values: dict[str, float]) -> np.ndarray:
    """Feature rows with every feature missing except the given ones."""
    x = np.full((len(values), N_FEATURES), np.nan, dtype=np.float32)
    for i, v in enumerate(values):
        for name, value in v.items():
            x[i, feature_index(name)] = value
    return x


def test_the_shipped_rules_cover_the_analysts_checklist() -> None:
    rules = load_rules()
    names = {r.name for r in rules.rules}
    assert names == {
        "self_trade",
        "wash_round_trip",
        "cancel_after_opposite_fill",
        "layered_cancel",
        "message_burst",
        "closing_price_move",
        "volume_spike",
        "pump_then_dump",
    }
    assert all(len(r.meaning) > 20 for r in rules.rules)


def test_rules_fire_on_their_pattern_and_status_only() -> None:
    rules = load_rules()
    x = rows(
        {"self_trade": 1.0},
        {"self_trade": 1.0},
        {"secs_to_close": 120, "aggressor_fill": 1, "fill_price_impact_bps": 8},
        {"secs_to_close": 900, "aggressor_fill": 1, "fill_price_impact_bps": 8},
        {"same_side_cancel_burst": 4, "cancel_qty_burst_vs_touch": 2.5},
        {},
    )
    statuses = pa.array(["EXECUTED", "NEW", "EXECUTED", "EXECUTED", "CANCELLED", "EXECUTED"])
    hits = rules.hits(x, statuses).to_pylist()
    assert hits == [
        ["self_trade"],
        [],  # a NEW order is not a trade
        ["closing_price_move"],
        [],  # 15 minutes before the close is outside the window
        ["layered_cancel"],
        [],  # missing features (no trader ids) never fire a rule
    ]


def test_a_row_can_hit_several_rules_in_the_files_order() -> None:
    x = rows({"self_trade": 1, "pair_trade_count": 3, "pair_round_trip": 0.95, "volume_spike": 30})
    hits = load_rules().hits(x, pa.array(["EXECUTED"])).to_pylist()
    assert hits == [["self_trade", "wash_round_trip", "volume_spike"]]


def test_a_changed_threshold_in_a_copy_of_the_file_changes_the_hits(tmp_path: Path) -> None:
    text = load_rules().source
    custom = tmp_path / "rules.toml"
    custom.write_text(
        Path(text).read_text().replace('["volume_spike", ">=", 25]', '["volume_spike", ">=", 40]')
    )
    x = rows({"volume_spike": 30})
    assert load_rules().hits(x, pa.array(["EXECUTED"])).to_pylist() == [["volume_spike"]]
    assert load_rules(custom).hits(x, pa.array(["EXECUTED"])).to_pylist() == [[]]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            'name = "r"\nmeaning = "m"\nwhen = [["no_such_feature", ">=", 1]]',
            "unknown feature 'no_such_feature'",
        ),
        ('name = "r"\nmeaning = "m"\nwhen = [["self_trade", "=>", 1]]', "unknown operator '=>'"),
        (
            'name = "r"\nmeaning = "m"\nstatuses = ["FILLED"]\nwhen = [["self_trade", ">=", 1]]',
            "unknown status 'FILLED'",
        ),
        ('name = "r"\nwhen = [["self_trade", ">=", 1]]', "needs name, meaning and when"),
    ],
)
def test_a_bad_rule_is_a_clear_error_naming_the_rule(
    tmp_path: Path, entry: str, message: str
) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("[[rule]]\n" + entry + "\n")
    with pytest.raises(RuleConfigError, match="rule 1 \\(r\\)") as error:
        load_rules(path)
    assert message in str(error.value)


_CUTS = [np.nan, -30.0, -20.0, 0.0, 0.1353, 0.8, 1.0, 2.0, 3.0, 5.0, 10.0, 25.0, 50.0, 300.0, 301.0]


@given(
    n=st.integers(min_value=0, max_value=2 * SMALL_BATCH + 8),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
@settings(max_examples=60, deadline=None)
def test_every_rule_fires_where_its_statuses_and_all_its_conditions_hold(n: int, seed: int) -> None:
    """The rule set, evaluated all at once, against each rule read one by one (batches
    under and over the size that skips Arrow)."""
    rng = np.random.default_rng(seed)
    x = rng.choice(np.array(_CUTS, dtype=np.float32), size=(n, N_FEATURES))
    statuses = rng.choice(["NEW", "MODIFIED", "CANCELLED", "EXECUTED"], size=n).tolist()
    rules = load_rules()
    ops = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less}
    expected = [
        [
            rule.name
            for rule in rules.rules
            if (not rule.statuses or statuses[i] in rule.statuses)
            and all(
                ops[c.op](x[i, feature_index(c.feature)], np.float32(c.value))
                for c in rule.conditions
            )
        ]
        for i in range(n)
    ]
    for chunks in ([statuses], [statuses[: n // 2], statuses[n // 2 :]]):
        column = pa.chunked_array(chunks, pa.string())
        assert rules.hits(x, column).to_pylist() == expected
