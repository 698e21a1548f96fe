"""The compiled per-event feature kernel.

Events are processed strictly in the order given; the feature row of event t is computed
from the state after events up to and including t, so nothing looks ahead and a stream
split into any batches gives the same numbers as the whole day at once.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
from numba import njit

from tapewatch.features.catalog import feature_index as fi
from tapewatch.features.state import (
    CP_BUFFER,
    I_EW_PX_60,
    I_EW_PX_1800,
    I_INSIDE_ORDER,
    I_INSIDE_QTY,
    I_INSIDE_T,
    I_INSIDE_WHO,
    I_LAST_PX,
    I_LAST_T,
    I_LAST_TRADE_PX,
    I_LAST_TRADE_T,
    I_MEAN_LOG_SIZE,
    I_MSG_1,
    I_MSG_10,
    I_MSG_60,
    I_N_SIZE,
    I_NEW_QTY,
    I_NEW_T,
    I_NEW_WHO,
    I_PRIOR_TRADE_PX,
    I_TICK,
    I_TRADE_POS,
    I_VOL_10,
    I_VOL_300,
    I_VOL_600,
    I_VWAP_DEN,
    I_VWAP_NUM,
    LEVELS,
    N_INSTRUMENT,
    N_ORDER,
    N_PAIR,
    N_TRADER,
    O_INSIDE,
    O_INST,
    O_LAST_T,
    O_N_MOD,
    O_OPEN,
    O_OPEN_QTY,
    O_PRICE,
    O_QTY_NEW,
    O_SIDE,
    O_T_NEW,
    P_BOUGHT_300,
    P_COUNT_300,
    P_INST,
    P_LAST_BOUGHT_QTY,
    P_LAST_BOUGHT_T,
    P_LAST_SOLD_QTY,
    P_LAST_SOLD_T,
    P_LAST_T,
    P_SOLD_300,
    T_AGGR_IMPACT_60,
    T_AGGR_QTY_60,
    T_BUY_QTY_60,
    T_CANCEL_60,
    T_CANCEL_AFTER_OPP_60,
    T_CANCEL_BURST_BUY,
    T_CANCEL_KNOWN_60,
    T_CANCEL_LIFE_60,
    T_CANCEL_QTY_60,
    T_CANCEL_QTY_BUY,
    T_CP_POS,
    T_EXEC_60,
    T_EXEC_ABS_600,
    T_EXEC_QTY_60,
    T_EXEC_SIGNED_600,
    T_FAST_CANCEL_60,
    T_IMPACT_300,
    T_INST,
    T_LAST_FILL_BUY_T,
    T_LAST_T,
    T_MSG_10,
    T_NEW_60,
    T_NEW_QTY_60,
    T_NEWMOD_60,
    T_OPEN_CNT_BUY,
    T_OPEN_QTY_BUY,
    T_RATE_1,
    T_RATE_10,
    T_RATE_60,
    T_SELL_QTY_60,
    T_SIZE_MEAN,
    T_SIZE_N,
    T_SIZE_VAR,
    T_VOL_300,
    TRADE_BUFFER,
)


def layout_fingerprint() -> str:
    """Hash of the feature catalogue and the state layout the kernel is compiled against."""
    from tapewatch.features import catalog, state

    consts = sorted((k, v) for k, v in vars(state).items() if k.isupper() and isinstance(v, int))
    blob = repr((catalog.FEATURE_NAMES, consts)).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


#: numba caches the compiled kernel on disk keyed on this file only: a change to the
#: catalogue or the state layout must change this file too, or an old kernel would keep
#: writing features into the wrong columns. Update it to what the error below says.
LAYOUT = "b01a34e2c9f4c30b"
if layout_fingerprint() != LAYOUT:
    raise ImportError(
        f"tapewatch/features/kernel.py: LAYOUT is {LAYOUT}, the catalogue and state layout "
        f"hash to {layout_fingerprint()}: update LAYOUT (this invalidates numba's cache)"
    )

NEW = 0
MODIFIED = 1
CANCELLED = 2
EXECUTED = 3

#: instruments idle this long start afresh (instruments are few; this is a safety net)
INSTRUMENT_IDLE_SECONDS = 7 * 86400.0
CYCLE_WINDOW_SECONDS = 600.0
#: a prearranged cross is hit within seconds of the resting order; older ones are not matched
MATCH_WINDOW_SECONDS = 30.0
#: an order no longer resting (filled or cancelled in full) is forgotten this long after its
#: last event, so live order keys stay about the book's size instead of the day's orders;
#: longer than the match window, which reads a closed order's state (its fill's twin row)
CLOSED_ORDER_IDLE_SECONDS = 60.0
#: the low 52 bits of a trader hash, exact in a float64 state column
WHO_BITS = (1 << 52) - 1

F_HOUR = fi("hour_of_day")
F_DOW = fi("day_of_week")
F_IN_SESSION = fi("in_session")
F_SINCE_OPEN = fi("secs_since_open")
F_TO_CLOSE = fi("secs_to_close")
F_DT_TRADER = fi("log_secs_since_trader_event")
F_RATE_1 = fi("trader_rate_1s")
F_RATE_10 = fi("trader_rate_10s")
F_RATE_60 = fi("trader_rate_60s")
F_CANCEL_RATIO = fi("cancel_ratio_count")
F_CANCEL_RATIO_VOL = fi("cancel_ratio_volume")
F_OTR = fi("order_to_trade_ratio")
F_ORDER_AGE = fi("log_order_age")
F_CANCEL_LIFE = fi("cancelled_lifetime_mean")
F_FAST_CANCEL = fi("fast_cancel_share")
F_SIZE_Z = fi("size_z")
F_SIZE_TOUCH = fi("size_vs_touch_depth")
F_SIZE_MARKET = fi("log_size_vs_market")
F_DIST_TICKS = fi("dist_from_touch_ticks")
F_DIST_BPS = fi("dist_from_touch_bps")
F_BUY_SHARE = fi("buy_share")
F_OPEN_SAME = fi("open_orders_same_side")
F_OPEN_OPP = fi("open_orders_opposite_side")
F_LEVELS_SAME = fi("open_levels_same_side")
F_OPEN_QTY_TOUCH = fi("open_qty_same_side_vs_touch")
F_OPEN_IMBALANCE = fi("open_qty_imbalance")
F_OPP_FILL = fi("opposite_fill_recency")
F_CANCEL_AFTER_OPP = fi("cancels_after_opposite_fill")
F_CANCEL_BURST = fi("same_side_cancel_burst")
F_CANCEL_QTY_BURST = fi("cancel_qty_burst_vs_touch")
F_N_MOD = fi("order_modify_count")
F_AGGRESSOR = fi("aggressor_fill")
F_TRADER_AGGR_IMPACT = fi("trader_aggressive_impact_bps")
F_AGGR_SHARE = fi("trader_aggressive_share")
F_SELF_TRADE = fi("self_trade")
F_PAIR_COUNT = fi("pair_trade_count")
F_PAIR_ROUND_TRIP = fi("pair_round_trip")
F_PAIR_REVERSAL = fi("pair_reversal_recency")
F_PAIR_SIZE_MATCH = fi("pair_reversal_size_match")
F_CYCLE = fi("trade_cycle")
F_MATCHED = fi("matched_cross")
F_DISTINCT_CP = fi("distinct_counterparties")
F_TOP_CP = fi("top_counterparty_share")
F_NET_POS = fi("net_position_ratio")
F_MSG_BURST = fi("message_rate_burst")
F_VOL_SPIKE = fi("volume_spike")
F_PX_1M = fi("price_change_1m_bps")
F_PX_30M = fi("price_change_30m_bps")
F_VWAP_DEV = fi("vwap_deviation_bps")
F_SPREAD = fi("spread_bps")
F_QUOTE_IMB = fi("quote_imbalance")
F_VOL_SHARE = fi("trader_volume_share")
F_MSG_SHARE = fi("trader_message_share")
F_FILL_IMPACT = fi("fill_price_impact_bps")
F_TRADER_IMPACT = fi("trader_price_impact_bps")


@njit(cache=True)
def _decay(dt: float, tau: float) -> float:
    return math.exp(-dt / tau)


@njit(cache=True)
def _ratio(num: float, den: float) -> float:
    # undefined only without a denominator at all: a floor in the data's own units (a
    # quantity, a price) would make the same market undefined at one scale and not another
    if not den > 0.0:
        return np.nan
    return num / den


@njit(cache=True)
def _touch(bid_sz: float, ask_sz: float, sign: int) -> float:
    size = bid_sz if sign > 0 else ask_sz
    if not size > 0.0:
        return np.nan
    return size


@njit(cache=True)
def _level_add(prices, counts, slot, s, price, delta):  # type: ignore[no-untyped-def]
    """Add delta orders at price to a trader's side ladder (bounded at LEVELS levels)."""
    empty = -1
    for k in range(LEVELS):
        if counts[slot, s, k] > 0.0 and prices[slot, s, k] == price:
            counts[slot, s, k] = max(0.0, counts[slot, s, k] + delta)
            return
        if empty < 0 and counts[slot, s, k] <= 0.0:
            empty = k
    if delta > 0.0 and empty >= 0:
        prices[slot, s, empty] = price
        counts[slot, s, empty] = delta


@njit(cache=True)
def _levels(counts, slot, s):  # type: ignore[no-untyped-def]
    n = 0
    for k in range(LEVELS):
        if counts[slot, s, k] > 0.0:
            n += 1
    return n


@njit(cache=True)
def closed_order_seconds(evict_order_s):  # type: ignore[no-untyped-def]
    """How long an order no longer resting is kept after its last event: the kernel and
    the engine's eviction must agree, or a batch split would change a feature."""
    return min(evict_order_s, CLOSED_ORDER_IDLE_SECONDS)


@njit(cache=True)
def _who(trader_hash):  # type: ignore[no-untyped-def]
    """A trader hash as a float state value; 0 for no trader."""
    return float(trader_hash & WHO_BITS)


@njit(cache=True)
def _matched_cross(instruments, orders, m, o, age, q, px, cp, t):  # type: ignore[no-untyped-def]
    """exp(-resting age / 2 s) when this fill crosses, one to one and in full, an order
    placed strictly inside the spread, with the counterparty `cp` on the other side; else 0."""
    if cp == 0 or not (orders[o, O_OPEN_QTY] == q and orders[o, O_QTY_NEW] == q):
        return 0.0
    who = _who(cp)
    if age == 0.0:  # this order took liquidity: was it cp's last inside order it took?
        placed = instruments[m, I_INSIDE_T]
        r = int(instruments[m, I_INSIDE_ORDER])
        taken = orders[r, O_T_NEW] == placed and orders[r, O_PRICE] == px
        # still open for all of q, or closed by this very trade (its row came first)
        taken = taken and (
            (orders[r, O_OPEN] > 0.0 and orders[r, O_OPEN_QTY] == q)
            or (orders[r, O_OPEN] == 0.0 and orders[r, O_LAST_T] == t)
        )
        if (
            taken
            and instruments[m, I_INSIDE_WHO] == who
            and instruments[m, I_INSIDE_QTY] == q
            and 0.0 <= t - placed <= MATCH_WINDOW_SECONDS
        ):
            return _decay(t - placed, 2.0)
        return 0.0
    # this order rested: was it placed inside the spread, and did cp's order of the same
    # size, placed right now, take it?
    if (
        orders[o, O_INSIDE] > 0.0
        and age <= MATCH_WINDOW_SECONDS
        and instruments[m, I_NEW_WHO] == who
        and instruments[m, I_NEW_QTY] == q
        and instruments[m, I_NEW_T] == t
    ):
        return _decay(age, 2.0)
    return 0.0


@njit(cache=True)
def _closes_cycle(sellers, buyers, times, inst, seller, buyer, t):  # type: ignore[no-untyped-def]
    """True when buyer sold to some X who sold to seller recently: seller→buyer→X→seller."""
    for a in range(TRADE_BUFFER):
        if sellers[inst, a] != buyer or not t - times[inst, a] <= CYCLE_WINDOW_SECONDS:
            continue
        x = buyers[inst, a]
        if x in (buyer, seller, 0):
            continue
        for b in range(TRADE_BUFFER):
            if (
                sellers[inst, b] == x
                and buyers[inst, b] == seller
                and t - times[inst, b] <= CYCLE_WINDOW_SECONDS
            ):
                return True
    return False


@njit(cache=True)
def compute_features(  # type: ignore[no-untyped-def]  # noqa: C901
    ts, local_ts, status, side, price, qty, bid, ask, bid_sz, ask_sz,
    inst_slot, trader_slot, order_slot, pair_slot, trader_hash, cp_hash,
    instruments, trade_seller, trade_buyer, trade_time,
    traders, trader_cps, level_price, level_count, orders, pairs,
    open_s, close_s, evict_s, evict_order_s,
    out,
):  # fmt: skip
    """Advance the state over events in order and write one feature row per event."""
    closed_order_s = closed_order_seconds(evict_order_s)
    for i in range(len(ts)):
        t = ts[i]
        st = status[i]
        sgn = side[i]
        s = 0 if sgn > 0 else 1
        q = qty[i]
        px = price[i]
        row = out[i]
        m = inst_slot[i]
        k = trader_slot[i]

        # ---- instrument ----
        last = instruments[m, I_LAST_T]
        if math.isnan(last) or t - last > INSTRUMENT_IDLE_SECONDS:
            for c in range(N_INSTRUMENT):
                instruments[m, c] = 0.0
            instruments[m, I_LAST_TRADE_PX] = np.nan
            instruments[m, I_PRIOR_TRADE_PX] = np.nan
            instruments[m, I_LAST_TRADE_T] = np.nan
            instruments[m, I_EW_PX_60] = np.nan
            instruments[m, I_EW_PX_1800] = np.nan
            instruments[m, I_TICK] = np.inf
            instruments[m, I_LAST_PX] = np.nan
            for b in range(TRADE_BUFFER):
                trade_seller[m, b] = 0
                trade_buyer[m, b] = 0
                trade_time[m, b] = np.nan
            dt_m = 0.0
        else:
            dt_m = max(0.0, t - last)
        instruments[m, I_LAST_T] = max(t, last) if not math.isnan(last) else t
        d1 = _decay(dt_m, 1.0)
        d10 = _decay(dt_m, 10.0)
        d60 = _decay(dt_m, 60.0)
        instruments[m, I_MSG_1] = instruments[m, I_MSG_1] * d1 + 1.0
        instruments[m, I_MSG_10] = instruments[m, I_MSG_10] * d10 + 1.0
        instruments[m, I_MSG_60] = instruments[m, I_MSG_60] * d60 + 1.0
        instruments[m, I_VOL_10] *= d10
        instruments[m, I_VOL_300] *= _decay(dt_m, 300.0)
        d600m = _decay(dt_m, 600.0)
        instruments[m, I_VOL_600] *= d600m
        instruments[m, I_VWAP_NUM] *= d600m
        instruments[m, I_VWAP_DEN] *= d600m
        if px > 0.0:
            lp = instruments[m, I_LAST_PX]
            if lp > 0.0 and abs(px - lp) > 1e-9:
                instruments[m, I_TICK] = min(instruments[m, I_TICK], abs(px - lp))
            instruments[m, I_LAST_PX] = px
        tick = instruments[m, I_TICK]

        # ---- trader in instrument ----
        last = traders[k, T_LAST_T]
        fresh = math.isnan(last) or t - last > evict_s
        if fresh:
            for c in range(N_TRADER):
                traders[k, c] = 0.0
            traders[k, T_LAST_FILL_BUY_T] = np.nan
            traders[k, T_LAST_FILL_BUY_T + 1] = np.nan
            for b in range(CP_BUFFER):
                trader_cps[k, b] = 0
            for b in range(LEVELS):
                level_count[k, 0, b] = 0.0
                level_count[k, 1, b] = 0.0
            dt_k = 0.0
            row[F_DT_TRADER] = np.nan
        else:
            dt_k = max(0.0, t - last)
            row[F_DT_TRADER] = math.log1p(dt_k)
        traders[k, T_LAST_T] = t if fresh else max(t, last)
        traders[k, T_INST] = m
        e1 = _decay(dt_k, 1.0)
        e10 = _decay(dt_k, 10.0)
        e60 = _decay(dt_k, 60.0)
        e300 = _decay(dt_k, 300.0)
        e600 = _decay(dt_k, 600.0)
        traders[k, T_RATE_1] = traders[k, T_RATE_1] * e1 + 1.0
        traders[k, T_RATE_10] = traders[k, T_RATE_10] * e10 + 1.0
        traders[k, T_RATE_60] = traders[k, T_RATE_60] * e60 + 1.0
        traders[k, T_MSG_10] = traders[k, T_MSG_10] * e10 + 1.0
        for c in range(T_NEW_60, T_SELL_QTY_60 + 1):
            traders[k, c] *= e60
        traders[k, T_CANCEL_AFTER_OPP_60] *= e60
        traders[k, T_AGGR_QTY_60] *= e60
        traders[k, T_AGGR_IMPACT_60] *= e60
        traders[k, T_EXEC_QTY_60] *= e60
        for c in range(T_CANCEL_BURST_BUY, T_CANCEL_QTY_BUY + 2):
            traders[k, c] *= e1
        traders[k, T_EXEC_SIGNED_600] *= e600
        traders[k, T_EXEC_ABS_600] *= e600
        traders[k, T_VOL_300] *= e300
        traders[k, T_IMPACT_300] *= e300

        # ---- order ----
        o = order_slot[i]
        last = orders[o, O_LAST_T]
        horizon = evict_order_s if orders[o, O_OPEN] > 0.0 else closed_order_s
        known = not (math.isnan(last) or t - last > horizon)
        if not known:
            for c in range(N_ORDER):
                orders[o, c] = 0.0
            orders[o, O_T_NEW] = np.nan
        orders[o, O_LAST_T] = t
        orders[o, O_INST] = m
        age = t - orders[o, O_T_NEW] if known else np.nan
        row[F_ORDER_AGE] = math.log1p(max(0.0, age)) if st != NEW and age >= 0.0 else np.nan
        touch = _touch(bid_sz[i], ask_sz[i], sgn)
        opp_fill_t = traders[k, T_LAST_FILL_BUY_T + (1 - s)]

        if st in (NEW, MODIFIED):
            row[F_AGGRESSOR] = np.nan
            row[F_MATCHED] = np.nan
            # order sizes: trader's usual and market's usual
            x = math.log(q) if q > 0.0 else 0.0
            n = traders[k, T_SIZE_N]
            if n >= 2.0:
                row[F_SIZE_Z] = (x - traders[k, T_SIZE_MEAN]) / math.sqrt(
                    traders[k, T_SIZE_VAR] + 0.01
                )
            else:
                row[F_SIZE_Z] = np.nan
            alpha = max(1.0 / (n + 1.0), 0.05)
            delta = x - traders[k, T_SIZE_MEAN]
            traders[k, T_SIZE_MEAN] += alpha * delta
            traders[k, T_SIZE_VAR] = (1.0 - alpha) * (
                traders[k, T_SIZE_VAR] + alpha * delta * delta
            )
            traders[k, T_SIZE_N] = n + 1.0
            nm = instruments[m, I_N_SIZE]
            am = max(1.0 / (nm + 1.0), 0.01)
            instruments[m, I_MEAN_LOG_SIZE] += am * (x - instruments[m, I_MEAN_LOG_SIZE])
            instruments[m, I_N_SIZE] = nm + 1.0
            traders[k, T_NEWMOD_60] += 1.0
            if st == NEW:
                traders[k, T_NEW_60] += 1.0
                traders[k, T_NEW_QTY_60] += q
                if sgn > 0:
                    traders[k, T_BUY_QTY_60] += q
                else:
                    traders[k, T_SELL_QTY_60] += q
                orders[o, O_T_NEW] = t
                orders[o, O_SIDE] = sgn
                orders[o, O_PRICE] = px
                orders[o, O_OPEN_QTY] = q
                orders[o, O_OPEN] = 1.0
                orders[o, O_QTY_NEW] = q
                inside = bid[i] > 0.0 and bid[i] < px < ask[i]
                orders[o, O_INSIDE] = 1.0 if inside else 0.0
                who = _who(trader_hash[i])
                if who != 0.0:
                    instruments[m, I_NEW_WHO] = who
                    instruments[m, I_NEW_QTY] = q
                    instruments[m, I_NEW_T] = t
                    if inside:
                        instruments[m, I_INSIDE_WHO] = who
                        instruments[m, I_INSIDE_QTY] = q
                        instruments[m, I_INSIDE_T] = t
                        instruments[m, I_INSIDE_ORDER] = o
                traders[k, T_OPEN_CNT_BUY + s] += 1.0
                traders[k, T_OPEN_QTY_BUY + s] += q
                _level_add(level_price, level_count, k, s, px, 1.0)
            else:
                orders[o, O_N_MOD] += 1.0
                if orders[o, O_OPEN] > 0.0:
                    traders[k, T_OPEN_QTY_BUY + s] += q - orders[o, O_OPEN_QTY]
                    if orders[o, O_PRICE] != px:
                        _level_add(level_price, level_count, k, s, orders[o, O_PRICE], -1.0)
                        _level_add(level_price, level_count, k, s, px, 1.0)
                else:
                    orders[o, O_SIDE] = sgn
                    orders[o, O_OPEN] = 1.0
                    traders[k, T_OPEN_CNT_BUY + s] += 1.0
                    traders[k, T_OPEN_QTY_BUY + s] += q
                    _level_add(level_price, level_count, k, s, px, 1.0)
                orders[o, O_PRICE] = px
                orders[o, O_OPEN_QTY] = q
        else:
            row[F_SIZE_Z] = np.nan
            row[F_AGGRESSOR] = np.nan
            row[F_MATCHED] = np.nan
            if st == CANCELLED:
                traders[k, T_CANCEL_60] += 1.0
                traders[k, T_CANCEL_QTY_60] += q
                traders[k, T_CANCEL_BURST_BUY + s] += 1.0
                traders[k, T_CANCEL_QTY_BUY + s] += q
                if age >= 0.0:
                    traders[k, T_CANCEL_LIFE_60] += math.log1p(age)
                    traders[k, T_CANCEL_KNOWN_60] += 1.0
                    if age < 1.0:
                        traders[k, T_FAST_CANCEL_60] += 1.0
                if opp_fill_t >= 0.0 and t - opp_fill_t <= 2.0:
                    traders[k, T_CANCEL_AFTER_OPP_60] += 1.0
            else:  # EXECUTED
                row[F_MATCHED] = (
                    _matched_cross(instruments, orders, m, o, age, q, px, cp_hash[i], t)
                    if age >= 0.0
                    else np.nan
                )
                aggressor = 1.0 if age == 0.0 else 0.0
                row[F_AGGRESSOR] = aggressor if age >= 0.0 else np.nan
                traders[k, T_AGGR_QTY_60] += aggressor * q
                traders[k, T_EXEC_QTY_60] += q
                traders[k, T_EXEC_60] += 1.0
                traders[k, T_LAST_FILL_BUY_T + s] = t
                traders[k, T_EXEC_SIGNED_600] += sgn * q
                traders[k, T_EXEC_ABS_600] += q
                traders[k, T_VOL_300] += q
            if orders[o, O_OPEN] > 0.0:
                remaining = orders[o, O_OPEN_QTY] - q
                traders[k, T_OPEN_QTY_BUY + s] -= min(q, orders[o, O_OPEN_QTY])
                if remaining <= 1e-9:
                    orders[o, O_OPEN] = 0.0
                    orders[o, O_OPEN_QTY] = 0.0
                    traders[k, T_OPEN_CNT_BUY + s] = max(0.0, traders[k, T_OPEN_CNT_BUY + s] - 1.0)
                    _level_add(level_price, level_count, k, s, orders[o, O_PRICE], -1.0)
                else:
                    orders[o, O_OPEN_QTY] = remaining
        # a side with no open order has no open quantity: what a running sum of fractional
        # quantities leaves behind is rounding, not an order
        if traders[k, T_OPEN_CNT_BUY + s] <= 0.0:
            traders[k, T_OPEN_QTY_BUY + s] = 0.0
        else:
            traders[k, T_OPEN_QTY_BUY + s] = max(0.0, traders[k, T_OPEN_QTY_BUY + s])

        # ---- executions: market and network state ----
        p = pair_slot[i]
        if st == EXECUTED and px > 0.0:
            half = 0.5 * q  # each trade is two EXECUTED rows, one per side
            instruments[m, I_VOL_10] += half
            instruments[m, I_VOL_300] += half
            instruments[m, I_VOL_600] += half
            instruments[m, I_VWAP_NUM] += half * px
            instruments[m, I_VWAP_DEN] += half
            if instruments[m, I_LAST_TRADE_T] != t:
                instruments[m, I_PRIOR_TRADE_PX] = instruments[m, I_LAST_TRADE_PX]
                lt = instruments[m, I_LAST_TRADE_T]
                dtt = max(0.0, t - lt) if lt >= 0.0 else 0.0
                for c, tau in ((I_EW_PX_60, 60.0), (I_EW_PX_1800, 1800.0)):
                    ew = instruments[m, c]
                    if math.isnan(ew):
                        instruments[m, c] = px
                    else:
                        instruments[m, c] = ew + (1.0 - _decay(dtt, tau)) * (px - ew)
                instruments[m, I_LAST_TRADE_PX] = px
                instruments[m, I_LAST_TRADE_T] = t
            prior = instruments[m, I_PRIOR_TRADE_PX]
            impact = sgn * (px - prior) / prior * 1e4 if prior > 0.0 else 0.0
            row[F_FILL_IMPACT] = impact
            traders[k, T_IMPACT_300] += impact
            if row[F_AGGRESSOR] == 1.0:
                traders[k, T_AGGR_IMPACT_60] += impact
            # trade graph: shares flow seller → buyer
            me = trader_hash[i]
            cp = cp_hash[i]
            seller = cp if sgn > 0 else me
            buyer = me if sgn > 0 else cp
            row[F_SELF_TRADE] = 1.0 if me == cp else 0.0
            if me != cp and cp != 0:
                row[F_CYCLE] = (
                    1.0
                    if _closes_cycle(trade_seller, trade_buyer, trade_time, m, seller, buyer, t)
                    else 0.0
                )
            else:
                row[F_CYCLE] = 0.0
            pos = int(instruments[m, I_TRADE_POS])
            prev = (pos - 1) % TRADE_BUFFER
            if not (
                trade_seller[m, prev] == seller
                and trade_buyer[m, prev] == buyer
                and trade_time[m, prev] == t
            ):
                trade_seller[m, pos] = seller
                trade_buyer[m, pos] = buyer
                trade_time[m, pos] = t
                instruments[m, I_TRADE_POS] = (pos + 1) % TRADE_BUFFER
            cpos = int(traders[k, T_CP_POS])
            trader_cps[k, cpos % CP_BUFFER] = cp
            traders[k, T_CP_POS] = cpos + 1
            if p >= 0:
                last = pairs[p, P_LAST_T]
                if math.isnan(last) or t - last > evict_s:
                    for c in range(N_PAIR):
                        pairs[p, c] = 0.0
                    pairs[p, P_LAST_BOUGHT_T] = np.nan
                    pairs[p, P_LAST_SOLD_T] = np.nan
                    dp = 0.0
                else:
                    dp = max(0.0, t - last)
                pairs[p, P_LAST_T] = t
                pairs[p, P_INST] = m
                f = _decay(dp, 300.0)
                pairs[p, P_COUNT_300] = pairs[p, P_COUNT_300] * f + 1.0
                pairs[p, P_BOUGHT_300] *= f
                pairs[p, P_SOLD_300] *= f
                # a fill that reverses the pair's last fill the other way (bought back, sold back)
                rev_t, rev_q = (
                    (P_LAST_SOLD_T, P_LAST_SOLD_QTY)
                    if sgn > 0
                    else (P_LAST_BOUGHT_T, P_LAST_BOUGHT_QTY)
                )
                rt = pairs[p, rev_t]
                if math.isnan(rt):
                    row[F_PAIR_REVERSAL] = 0.0
                    row[F_PAIR_SIZE_MATCH] = np.nan
                else:
                    row[F_PAIR_REVERSAL] = _decay(max(0.0, t - rt), 300.0)
                    rq = pairs[p, rev_q]
                    row[F_PAIR_SIZE_MATCH] = min(q, rq) / max(q, rq) if max(q, rq) > 0.0 else 0.0
                if sgn > 0:
                    pairs[p, P_BOUGHT_300] += q
                    pairs[p, P_LAST_BOUGHT_T] = t
                    pairs[p, P_LAST_BOUGHT_QTY] = q
                else:
                    pairs[p, P_SOLD_300] += q
                    pairs[p, P_LAST_SOLD_T] = t
                    pairs[p, P_LAST_SOLD_QTY] = q
                row[F_PAIR_COUNT] = pairs[p, P_COUNT_300]
                hi = max(pairs[p, P_BOUGHT_300], pairs[p, P_SOLD_300])
                row[F_PAIR_ROUND_TRIP] = min(pairs[p, P_BOUGHT_300], pairs[p, P_SOLD_300]) / hi
            else:
                row[F_PAIR_COUNT] = np.nan
                row[F_PAIR_ROUND_TRIP] = np.nan
                row[F_PAIR_REVERSAL] = np.nan
                row[F_PAIR_SIZE_MATCH] = np.nan
        else:
            row[F_FILL_IMPACT] = np.nan
            row[F_SELF_TRADE] = 0.0
            row[F_CYCLE] = np.nan
            row[F_PAIR_COUNT] = np.nan
            row[F_PAIR_ROUND_TRIP] = np.nan
            row[F_PAIR_REVERSAL] = np.nan
            row[F_PAIR_SIZE_MATCH] = np.nan

        # ---- temporal ----
        local = local_ts[i]
        sod = local - math.floor(local / 86400.0) * 86400.0
        row[F_HOUR] = sod / 3600.0
        row[F_DOW] = (math.floor(local / 86400.0) + 3.0) % 7.0
        row[F_IN_SESSION] = 1.0 if open_s <= sod < close_s else 0.0
        row[F_SINCE_OPEN] = sod - open_s
        row[F_TO_CLOSE] = close_s - sod
        row[F_RATE_1] = traders[k, T_RATE_1]
        row[F_RATE_10] = traders[k, T_RATE_10] / 10.0
        row[F_RATE_60] = traders[k, T_RATE_60] / 60.0

        # ---- behavioural ----
        row[F_CANCEL_RATIO] = traders[k, T_CANCEL_60] / (traders[k, T_NEW_60] + 1.0)
        row[F_CANCEL_RATIO_VOL] = min(
            10.0, _ratio(traders[k, T_CANCEL_QTY_60], traders[k, T_NEW_QTY_60])
        )
        row[F_OTR] = traders[k, T_NEWMOD_60] / (traders[k, T_EXEC_60] + 1.0)
        row[F_CANCEL_LIFE] = _ratio(traders[k, T_CANCEL_LIFE_60], traders[k, T_CANCEL_KNOWN_60])
        row[F_FAST_CANCEL] = _ratio(traders[k, T_FAST_CANCEL_60], traders[k, T_CANCEL_KNOWN_60])
        row[F_SIZE_TOUCH] = q / touch
        mean_size = instruments[m, I_MEAN_LOG_SIZE]
        row[F_SIZE_MARKET] = math.log(q) - mean_size if q > 0.0 else np.nan
        if st != EXECUTED and px > 0.0:
            ref = bid[i] if sgn > 0 else ask[i]
            dist = (ref - px) if sgn > 0 else (px - ref)
            mid = 0.5 * (bid[i] + ask[i])
            row[F_DIST_TICKS] = dist / tick if tick < np.inf and tick > 0.0 else np.nan
            row[F_DIST_BPS] = dist / mid * 1e4 if mid > 0.0 else np.nan
        else:
            row[F_DIST_TICKS] = np.nan
            row[F_DIST_BPS] = np.nan
        row[F_BUY_SHARE] = _ratio(
            traders[k, T_BUY_QTY_60], traders[k, T_BUY_QTY_60] + traders[k, T_SELL_QTY_60]
        )
        same_qty = traders[k, T_OPEN_QTY_BUY + s]
        opp_qty = traders[k, T_OPEN_QTY_BUY + 1 - s]
        row[F_OPEN_SAME] = traders[k, T_OPEN_CNT_BUY + s]
        row[F_OPEN_OPP] = traders[k, T_OPEN_CNT_BUY + 1 - s]
        row[F_LEVELS_SAME] = _levels(level_count, k, s)
        row[F_OPEN_QTY_TOUCH] = same_qty / touch
        row[F_OPEN_IMBALANCE] = _ratio(same_qty - opp_qty, same_qty + opp_qty)
        row[F_OPP_FILL] = _decay(max(0.0, t - opp_fill_t), 1.0) if opp_fill_t >= 0.0 else 0.0
        row[F_CANCEL_AFTER_OPP] = traders[k, T_CANCEL_AFTER_OPP_60]
        row[F_CANCEL_BURST] = traders[k, T_CANCEL_BURST_BUY + s]
        row[F_CANCEL_QTY_BURST] = traders[k, T_CANCEL_QTY_BUY + s] / touch
        row[F_N_MOD] = orders[o, O_N_MOD]
        row[F_AGGR_SHARE] = _ratio(traders[k, T_AGGR_QTY_60], traders[k, T_EXEC_QTY_60])

        # ---- network (trader level) ----
        filled = min(int(traders[k, T_CP_POS]), CP_BUFFER)
        if filled > 0:
            distinct = 0
            top = 0
            for a in range(filled):
                seen = False
                for b in range(a):
                    if trader_cps[k, b] == trader_cps[k, a]:
                        seen = True
                        break
                if not seen:
                    distinct += 1
                    same = 0
                    for b in range(a, filled):
                        if trader_cps[k, b] == trader_cps[k, a]:
                            same += 1
                    top = max(top, same)
            row[F_DISTINCT_CP] = distinct
            row[F_TOP_CP] = top / filled
        else:
            row[F_DISTINCT_CP] = np.nan
            row[F_TOP_CP] = np.nan
        row[F_NET_POS] = _ratio(traders[k, T_EXEC_SIGNED_600], traders[k, T_EXEC_ABS_600])

        # ---- market ----
        row[F_MSG_BURST] = instruments[m, I_MSG_1] / max(1.0, instruments[m, I_MSG_60] / 60.0)
        row[F_VOL_SPIKE] = _ratio(
            instruments[m, I_VOL_10] / 10.0, instruments[m, I_VOL_600] / 600.0
        )
        last_px = instruments[m, I_LAST_TRADE_PX]
        ew60 = instruments[m, I_EW_PX_60]
        ew1800 = instruments[m, I_EW_PX_1800]
        row[F_PX_1M] = (last_px - ew60) / ew60 * 1e4 if ew60 > 0.0 else np.nan
        row[F_PX_30M] = (last_px - ew1800) / ew1800 * 1e4 if ew1800 > 0.0 else np.nan
        vwap = _ratio(instruments[m, I_VWAP_NUM], instruments[m, I_VWAP_DEN])
        row[F_VWAP_DEV] = (px - vwap) / vwap * 1e4 if px > 0.0 and vwap > 0.0 else np.nan
        b0 = bid[i]
        a0 = ask[i]
        row[F_SPREAD] = (a0 - b0) / (0.5 * (a0 + b0)) * 1e4 if b0 > 0.0 and a0 > 0.0 else np.nan
        same_sz = bid_sz[i] if sgn > 0 else ask_sz[i]
        opp_sz = ask_sz[i] if sgn > 0 else bid_sz[i]
        row[F_QUOTE_IMB] = _ratio(same_sz - opp_sz, same_sz + opp_sz)
        row[F_VOL_SHARE] = _ratio(traders[k, T_VOL_300], 2.0 * instruments[m, I_VOL_300])
        row[F_MSG_SHARE] = traders[k, T_MSG_10] / instruments[m, I_MSG_10]
        row[F_TRADER_IMPACT] = traders[k, T_IMPACT_300]
        row[F_TRADER_AGGR_IMPACT] = traders[k, T_AGGR_IMPACT_60]
