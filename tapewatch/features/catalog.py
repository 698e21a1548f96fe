"""The feature catalogue: every feature's name, group and one-line definition.

The position of a feature in `FEATURES` is its column in the feature matrix; the kernel
writes columns by these positions, so the order here is the order everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FeatureSpec:
    """One feature: its column name, group and what it measures."""

    name: str
    group: str
    definition: str


FEATURES: tuple[FeatureSpec, ...] = (
    # temporal
    FeatureSpec("in_session", "temporal", "1 inside the venue's continuous session, 0 outside."),
    FeatureSpec(
        "secs_to_close", "temporal", "Seconds until the session closes (negative after it)."
    ),
    FeatureSpec(
        "log_secs_since_trader_event",
        "temporal",
        "log(1 + seconds since this trader's previous event in the instrument); missing for the first.",
    ),
    FeatureSpec(
        "trader_rate_1s",
        "temporal",
        "Trader's event count in the instrument, decayed with a 1 s time constant.",
    ),
    FeatureSpec(
        "trader_rate_10s", "temporal", "Trader's event rate per second over a decayed 10 s window."
    ),
    FeatureSpec(
        "trader_rate_60s", "temporal", "Trader's event rate per second over a decayed 60 s window."
    ),
    # behavioural
    FeatureSpec(
        "cancel_ratio_count", "behavioural", "Trader's cancels per new order, decayed over 60 s."
    ),
    FeatureSpec(
        "cancel_ratio_volume",
        "behavioural",
        "Trader's cancelled quantity per quantity placed, decayed over 60 s (capped at 10).",
    ),
    FeatureSpec(
        "order_to_trade_ratio",
        "behavioural",
        "Trader's new and modified orders per execution (+1), decayed over 60 s.",
    ),
    FeatureSpec(
        "log_order_age",
        "behavioural",
        "log(1 + seconds since this order was placed), for MODIFIED/CANCELLED/EXECUTED rows of known orders.",
    ),
    FeatureSpec(
        "cancelled_lifetime_mean",
        "behavioural",
        "Trader's mean log(1 + lifetime in s) of cancelled orders, decayed over 60 s.",
    ),
    FeatureSpec(
        "fast_cancel_share",
        "behavioural",
        "Share of the trader's cancels within 1 s of placement, decayed over 60 s.",
    ),
    FeatureSpec(
        "size_z",
        "behavioural",
        "Order size against the trader's usual size: z-score of log quantity vs the trader's running mean.",
    ),
    FeatureSpec(
        "size_vs_touch_depth",
        "behavioural",
        "Order quantity / displayed size at the same-side best price.",
    ),
    FeatureSpec(
        "log_size_vs_market",
        "behavioural",
        "log(order quantity / the instrument's running mean order size).",
    ),
    FeatureSpec(
        "dist_from_touch_ticks",
        "behavioural",
        "Ticks behind the same-side best price (0 at the touch, negative when improving or crossing).",
    ),
    FeatureSpec(
        "dist_from_touch_bps",
        "behavioural",
        "Distance behind the same-side best price in basis points of mid.",
    ),
    FeatureSpec(
        "buy_share", "behavioural", "Trader's buy share of quantity placed, decayed over 60 s."
    ),
    FeatureSpec(
        "open_orders_same_side",
        "behavioural",
        "Trader's open orders on the event's side after the event.",
    ),
    FeatureSpec(
        "open_orders_opposite_side",
        "behavioural",
        "Trader's open orders on the other side after the event.",
    ),
    FeatureSpec(
        "open_levels_same_side",
        "behavioural",
        "Distinct price levels holding the trader's open orders on the event's side.",
    ),
    FeatureSpec(
        "open_qty_same_side_vs_touch",
        "behavioural",
        "Trader's open quantity on the event's side / displayed size at that side's best price.",
    ),
    FeatureSpec(
        "open_qty_imbalance",
        "behavioural",
        "(open quantity on event's side - other side) / total open quantity of the trader.",
    ),
    FeatureSpec(
        "opposite_fill_recency",
        "behavioural",
        "exp(-seconds since the trader's last fill on the opposite side); 1 right after such a fill.",
    ),
    FeatureSpec(
        "cancels_after_opposite_fill",
        "behavioural",
        "Trader's cancels within 2 s after an opposite-side fill, decayed count over 60 s.",
    ),
    FeatureSpec(
        "same_side_cancel_burst",
        "behavioural",
        "Trader's cancels on the event's side, decayed count over 1 s.",
    ),
    FeatureSpec(
        "cancel_qty_burst_vs_touch",
        "behavioural",
        "Trader's cancelled quantity on the event's side over a decayed 1 s / same-side displayed size.",
    ),
    FeatureSpec("order_modify_count", "behavioural", "Modifications of this order so far."),
    FeatureSpec(
        "aggressor_fill",
        "behavioural",
        "Executions: 1 when the order filled on arrival (it took liquidity), 0 when it rested first.",
    ),
    FeatureSpec(
        "trader_aggressive_share",
        "behavioural",
        "Share of the trader's executed quantity that took liquidity, decayed over 60 s.",
    ),
    # network
    FeatureSpec(
        "self_trade", "network", "1 when an execution's counterparty is the trader itself."
    ),
    FeatureSpec(
        "pair_trade_count",
        "network",
        "Fills between the trader and this counterparty in the instrument, decayed over 5 min (executions only).",
    ),
    FeatureSpec(
        "pair_round_trip",
        "network",
        "min(bought from, sold to) / max(...) of quantity with this counterparty, decayed over 5 min.",
    ),
    FeatureSpec(
        "pair_reversal_recency",
        "network",
        "exp(-seconds since the trader's last fill in the other direction with this counterparty / 300 s); 0 when none.",
    ),
    FeatureSpec(
        "pair_reversal_size_match",
        "network",
        "min(q, q') / max(q, q') of this fill's quantity q and that last reversed fill's q'; missing when none.",
    ),
    FeatureSpec(
        "matched_cross",
        "network",
        "Executions: exp(-age of the resting order / 2 s) when the fill crosses, one to one and "
        "in full, an order placed strictly inside the spread (a prearranged cross); else 0.",
    ),
    FeatureSpec(
        "trade_cycle",
        "network",
        "1 when this fill closes a cycle A→B→C→A among the instrument's last 256 trades within 10 min.",
    ),
    FeatureSpec(
        "distinct_counterparties",
        "network",
        "Distinct counterparties among the trader's last 8 fills.",
    ),
    FeatureSpec(
        "top_counterparty_share",
        "network",
        "Share of the trader's last 8 fills done with its most frequent counterparty.",
    ),
    FeatureSpec(
        "net_position_ratio",
        "network",
        "Trader's signed executed quantity / absolute executed quantity, decayed over 10 min.",
    ),
    # market
    FeatureSpec(
        "message_rate_burst",
        "market",
        "Instrument message rate over a decayed 1 s / max(1 per s, its rate over a decayed 60 s).",
    ),
    FeatureSpec(
        "volume_spike",
        "market",
        "Instrument traded volume rate over a decayed 10 s / its rate over a decayed 10 min.",
    ),
    FeatureSpec(
        "price_change_1m_bps",
        "market",
        "Last trade price vs its 1-minute decayed mean, in basis points.",
    ),
    FeatureSpec(
        "price_change_30m_bps",
        "market",
        "Last trade price vs its 30-minute decayed mean, in basis points.",
    ),
    FeatureSpec(
        "vwap_deviation_bps",
        "market",
        "Event price vs the instrument's VWAP decayed over 10 min, in basis points.",
    ),
    FeatureSpec(
        "spread_bps", "market", "Best ask - best bid before the event, in basis points of mid."
    ),
    FeatureSpec(
        "quote_imbalance",
        "market",
        "(same-side displayed size - other side) / (sum) at the best prices before the event.",
    ),
    FeatureSpec(
        "trader_volume_share",
        "market",
        "Trader's share of the instrument's executed quantity, decayed over 5 min.",
    ),
    FeatureSpec(
        "trader_message_share",
        "market",
        "Trader's share of the instrument's messages, decayed over 10 s.",
    ),
    FeatureSpec(
        "fill_price_impact_bps",
        "market",
        "Executions: fill price vs the instrument's previous trade price, in bps, signed by side (buying up > 0).",
    ),
    FeatureSpec(
        "trader_price_impact_bps",
        "market",
        "Trader's summed signed price impact of its fills in bps, decayed over 5 min.",
    ),
    FeatureSpec(
        "trader_aggressive_impact_bps",
        "market",
        "Trader's summed signed price impact of the fills it took (aggressor only) in bps, decayed over 1 min.",
    ),
    # wall-clock position: for analysts and rules, not given to the models (see CLOCK_FEATURES)
    FeatureSpec(
        "hour_of_day", "temporal", "Venue-local hour of the event, fractional (10.5 = 10:30)."
    ),
    FeatureSpec("day_of_week", "temporal", "Day of the week of the event, Monday = 0."),
    FeatureSpec(
        "secs_since_open", "temporal", "Seconds since the session opened (negative before it)."
    ),
)

FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
N_FEATURES = len(FEATURES)

#: Wall-clock position is kept for analysts and rules but not given to the models: abuse
#: is not tied to the hour or weekday (the close is covered by secs_to_close), and a model
#: that learned when a simulator schedules its episodes would not carry over to real flow.
CLOCK_FEATURES: frozenset[str] = frozenset({"hour_of_day", "day_of_week", "secs_since_open"})
MODEL_FEATURES: tuple[str, ...] = tuple(n for n in FEATURE_NAMES if n not in CLOCK_FEATURES)

#: Features that describe one trader (or a pair of traders). Where the data has no trader
#: ids (LOBSTER, anonymised feeds) they would describe the whole market pooled as one
#: "trader", so they are reported missing instead of wrong.
TRADER_FEATURES: frozenset[str] = frozenset(
    {
        "log_secs_since_trader_event",
        "trader_rate_1s",
        "trader_rate_10s",
        "trader_rate_60s",
        "cancel_ratio_count",
        "cancel_ratio_volume",
        "order_to_trade_ratio",
        "cancelled_lifetime_mean",
        "fast_cancel_share",
        "size_z",
        "buy_share",
        "open_orders_same_side",
        "open_orders_opposite_side",
        "open_levels_same_side",
        "open_qty_same_side_vs_touch",
        "open_qty_imbalance",
        "opposite_fill_recency",
        "cancels_after_opposite_fill",
        "same_side_cancel_burst",
        "cancel_qty_burst_vs_touch",
        "trader_aggressive_share",
        "self_trade",
        "pair_trade_count",
        "pair_round_trip",
        "pair_reversal_recency",
        "pair_reversal_size_match",
        "matched_cross",
        "trade_cycle",
        "distinct_counterparties",
        "top_counterparty_share",
        "net_position_ratio",
        "trader_volume_share",
        "trader_message_share",
        "trader_price_impact_bps",
        "trader_aggressive_impact_bps",
    }
)


def feature_index(name: str) -> int:
    """Column of a feature in the feature matrix."""
    return FEATURE_NAMES.index(name)


def feature_columns(names: tuple[str, ...]) -> tuple[int, ...]:
    """Positions of these features in the feature matrix."""
    return tuple(FEATURE_NAMES.index(n) for n in names)


def features_markdown() -> str:
    """The catalogue as the Markdown table of docs/features.md."""
    lines = [
        "# Features",
        "",
        "Generated from `tapewatch/features/catalog.py` (`python -m tapewatch.features.catalog`).",
        "Every feature at event t uses only events up to and including t, in one instrument.",
        "Missing values (NaN) mean 'not defined for this row' and are handled natively by XGBoost.",
        "The clock features (hour, weekday, seconds since open) are computed but not given to",
        "the models: abuse is not tied to the clock, and a model that learned a simulator's",
        "schedule would not carry over to real flow.",
        "",
        "Features marked 'trader' describe one trader or pair: where the data has no trader ids",
        "(the trader is one of `FeatureConfig.anonymous_trader_ids`, e.g. LOBSTER's `UNKNOWN`)",
        "they are missing (NaN) rather than a description of the whole market.",
        "",
        "Units: every feature is the same whether prices come in dollars or cents and",
        "quantities in shares or lots (any positive scale of either;",
        "`tests/features/test_feature_invariance.py` holds every feature to it). Time is not",
        "yet so: the decay windows are in seconds (1 s to 30 minutes), so the rates, ratios,",
        "bursts and market features change when the same market runs ten times faster. The",
        "features that did not change (or on a few rows in ten thousand) when measured so are",
        "the order's size and distance against the book, the spread, the quote imbalance,",
        "the fill's own price impact and the yes/no marks of a fill (aggressor, self trade).",
        "",
        "| # | feature | group | needs | definition |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {i} | `{f.name}` | {f.group} | {'trader' if f.name in TRADER_FEATURES else ''} "
        f"| {f.definition} |"
        for i, f in enumerate(FEATURES)
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(features_markdown(), end="")
