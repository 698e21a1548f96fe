"""Plain-words explanations of alerts: TreeSHAP contributions, the autoencoder's error
by feature, the key's usual values and the rules hit.

A reason is a feature that sets the event apart: its value beside the key's usual value,
both in the same words and units. A reason whose value reads the same as its usual value
is left out (the next most important one takes its place), clock features get no usual,
numbers never read in scientific notation, and the full text states each clause once."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from tapewatch.features.catalog import CLOCK_FEATURES, FEATURE_NAMES

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]

#: How an analyst reads a feature's value. The bracketed part is the value with its unit
#: (its "slot"); the key's usual value is shown in that same form: "spread 0.5 bp
#: (usually 0.4 bp)". {v} is the value, the other placeholders are derived from it.
PHRASES: dict[str, str] = {
    "log_secs_since_trader_event": "[{secs} s] since the trader's previous event",
    "trader_rate_1s": "[{v:.0f}] messages from the trader in about a second",
    "trader_rate_10s": "[{v:.1f} messages/s] from the trader over 10 s",
    "trader_rate_60s": "[{v:.2f} messages/s] from the trader over a minute",
    "cancel_ratio_count": "[{v:.1f}] cancels per new order over the last minute",
    "cancel_ratio_volume": "[{pct}] of the quantity placed cancelled over the last minute",
    "order_to_trade_ratio": "[{v:.1f}] orders per execution",
    "log_order_age": "the order was [{secs} s] old",
    "cancelled_lifetime_mean": "cancelled orders lived [{secs} s] on average",
    "fast_cancel_share": "[{pct}] of cancels within 1 s of placement",
    "size_z": "order size [{v:+.1f} standard deviations] from the trader's average",
    "size_vs_touch_depth": "order size [{v:.1f}x] the displayed size at the best price",
    "log_size_vs_market": "order size [{ratio:.1f}x] the instrument's typical order",
    "dist_from_touch_ticks": "[{v:.0f} ticks] behind the best price",
    "dist_from_touch_bps": "[{v:.1f} bp] behind the best price",
    "buy_share": "[{pct}] of the quantity placed on the buy side",
    "open_orders_same_side": "[{v:.0f}] open orders on this side",
    "open_orders_opposite_side": "[{v:.0f}] open orders on the other side",
    "open_levels_same_side": "open orders on [{v:.0f}] price levels of this side",
    "open_qty_same_side_vs_touch": "open quantity [{v:.1f}x] the displayed size at the best price",
    "open_qty_imbalance": "open quantity imbalance [{v:+.2f}] toward this side",
    "opposite_fill_recency": "a fill on the other side [{ago}]",
    "cancels_after_opposite_fill": "[{v:.1f}] cancels within 2 s of an opposite-side fill in the last minute",
    "same_side_cancel_burst": "[{v:.1f}] cancels on this side within about a second",
    "cancel_qty_burst_vs_touch": "cancelled [{v:.1f}x] the displayed size within about a second",
    "order_modify_count": "the order modified [{times}]",
    "aggressor_fill": "[{yesno}] fill that took liquidity",
    "trader_aggressive_share": "[{pct}] of the trader's fills over a minute took liquidity",
    "self_trade": "[{yesno}] trade with itself",
    "pair_trade_count": "[{v:.1f}] trades with this counterparty in the last 5 minutes",
    "pair_round_trip": "[{pct}] of the quantity bought from this counterparty sold back to it",
    "pair_reversal_recency": "reverses a fill the other way with this counterparty [{ago300}]",
    "pair_reversal_size_match": "[{pct}] size match with that reversed fill",
    "matched_cross": "crosses, one to one and in full, an order placed inside the spread [{ago2}]",
    "trade_cycle": "[{yesno}] trade closing a cycle A→B→C→A",
    "distinct_counterparties": "[{v:.0f}] distinct counterparties in the last 8 fills",
    "top_counterparty_share": "[{pct}] of the last fills with one counterparty",
    "net_position_ratio": "net position [{v:+.2f}] of traded quantity",
    "message_rate_burst": "instrument message rate [{v:.1f}x] its minute average",
    "volume_spike": "instrument volume rate [{v:.1f}x] its 10-minute average",
    "price_change_1m_bps": "price [{v:+.0f} bp] from its 1-minute average",
    "price_change_30m_bps": "price [{v:+.0f} bp] from its 30-minute average",
    "vwap_deviation_bps": "price [{v:+.0f} bp] from VWAP",
    "spread_bps": "spread [{v:.1f} bp]",
    "quote_imbalance": "displayed size imbalance [{v:+.2f}] toward this side",
    "trader_volume_share": "[{pct}] of the instrument's volume over 5 minutes",
    "trader_message_share": "[{pct}] of the instrument's messages over 10 s",
    "fill_price_impact_bps": "fill moved the price [{v:+.1f} bp] in the trade's direction",
    "trader_price_impact_bps": "the trader's fills moved the price [{v:+.1f} bp] over 5 minutes",
    "trader_aggressive_impact_bps": "the trader's aggressive fills moved the price [{v:+.1f} bp] in their direction over a minute",
    "secs_to_close": "[{mins} minutes] before the close",
    "secs_since_open": "[{mins} minutes] after the open",
    "hour_of_day": "at hour [{v:.1f}]",
    "day_of_week": "on weekday [{v:.0f}]",
    "in_session": "[{inside}] the session",
}

#: What a recency mark of zero (no such fill within the feature's memory) reads as; a
#: usual of zero reads "none".
NONE_PHRASES: dict[str, str] = {
    "opposite_fill_recency": "no recent fill on the other side",
    "pair_reversal_recency": "reverses no recent fill with this counterparty",
    "matched_cross": "not a one-to-one cross of an order placed inside the spread",
}

#: Where in the day or week an event fell. They get no usual: a key's mean time of day
#: or weekday says nothing about the event, and they are reasons in their own right.
CALENDAR_FEATURES: frozenset[str] = CLOCK_FEATURES | {"in_session", "secs_to_close"}


def _yes(value: float) -> bool:
    return value >= 0.5


def _marked(value: float) -> bool:
    return value > 0


#: Features that mark an event yes or no (matched_cross with a mark that decays with the
#: resting order's age): what marks an event, and what a key's usual value, the mean of
#: its marks, is the share of.
INDICATORS: dict[str, tuple[Callable[[float], bool], str]] = {
    "aggressor_fill": (_yes, "fills"),
    "self_trade": (_yes, "events"),
    "trade_cycle": (_yes, "fills"),
    "matched_cross": (_marked, "fills"),
}


@dataclass(frozen=True)
class FeatureReason:
    """One feature's part in a score: its value, the key's usual value and its weight.

    `contribution` is the TreeSHAP (or Saabas) log-odds for the supervised model and the
    share of the reconstruction error for the autoencoder.
    """

    name: str
    value: float | None
    contribution: float
    usual: float | None = None
    detector: str = "xgboost"

    def phrase(self) -> str:
        """The feature and its value in words, with the usual value when it tells
        something: known, not a clock feature, and not reading the same as the value."""
        text = describe(self.name, self.value)
        usual = usual_text(self.name, self.value, self.usual)
        return text if usual is None else f"{text} (usually {usual})"

    def sets_apart(self) -> bool:
        """False when the value reads the same as the key's usual value: nothing to show."""
        return not same_as_usual(self.name, self.value, self.usual)

    def as_dict(self) -> dict[str, object]:
        """The reason as one entry of the alert's top_features JSON."""
        return {
            "feature": self.name,
            "value": self.value,
            "usual": self.usual,
            "contribution": round(self.contribution, 4),
            "detector": self.detector,
        }


def describe(name: str, value: float | None) -> str:
    """A feature's value in words an analyst can check."""
    if value is None or not math.isfinite(value):
        return f"{name} not available"
    if value <= 0 and name in NONE_PHRASES:
        return NONE_PHRASES[name]
    before, _, after = _parts(name)
    return before + _slot(name, value) + after


def shown_value(name: str, value: float) -> str:
    """A usual value as it reads beside its feature's phrase: in the units of the phrase's
    value; for a yes/no feature, the share of the key's rows so marked."""
    if name in INDICATORS:
        return f"{_percent(value)} of its {INDICATORS[name][1]}"
    return _slot(name, value)


def usual_text(name: str, value: float | None, usual: float | None) -> str | None:
    """The "(usually ...)" part of a phrase, or None when it has nothing to add."""
    if usual is None or not math.isfinite(usual) or name in CALENDAR_FEATURES:
        return None
    if same_as_usual(name, value, usual):
        return None
    return shown_value(name, usual)


def same_as_usual(name: str, value: float | None, usual: float | None) -> bool:
    """Whether a value and a (known, not calendar) usual value read the same at the
    precision the phrase shows."""
    if value is None or usual is None or name in CALENDAR_FEATURES:
        return False
    if not (math.isfinite(value) and math.isfinite(usual)):
        return False
    if name in INDICATORS:  # the usual share against this event's mark, as a share
        marked = 1.0 if INDICATORS[name][0](value) else 0.0
        return _percent(usual) in (_percent(marked), _percent(value))
    return _slot(name, value) == _slot(name, usual)


def _parts(name: str) -> tuple[str, str, str]:
    """A phrase split around its slot: (text before, slot template, text after)."""
    parts = _PARTS.get(name)
    return parts if parts is not None else (f"{name} = ", "{plain}", "")


def _split(template: str) -> tuple[str, str, str]:
    found = re.fullmatch(r"([^\[\]]*)\[([^\[\]]+)\]([^\[\]]*)", template)
    if found is None:
        raise ValueError(f"a phrase needs one [slot]: {template!r}")
    before, slot, after = found.groups()
    return before, slot, after


_PARTS: dict[str, tuple[str, str, str]] = {n: _split(t) for n, t in PHRASES.items()}
_NONZERO = re.compile("[1-9]")


def _slot(name: str, value: float) -> str:
    """A value with its unit, as its phrase shows it; a number that rounds to zero reads
    without a sign, so -0.0 and +0.0 read as the 0.0 they are."""
    text = _parts(name)[1].format_map(_Placeholders(name, value))
    if text[:1] in "+-" and _NONZERO.search(text) is None:
        return text[1:]
    return text


def _percent(value: float) -> str:
    """A share as a whole percentage (exact past the range where value * 100 overflows)."""
    text = f"{value:.0%}" if abs(value) < 1e300 else f"{Decimal(value) * 100:.0f}%"
    return text[1:] if text.startswith("-") and _NONZERO.search(text) is None else text


def _plain(value: float) -> str:
    """A number to three significant digits without an exponent; tiny ones read 0."""
    if value == 0:
        return "0"
    decimals = min(max(2 - math.floor(math.log10(abs(value))), 0), 4)
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if _NONZERO.search(text) is None else text


class _Placeholders(dict[str, Any]):
    """A feature value's placeholders, each computed when a phrase first asks for it (a
    phrase uses one of them). With math, not numpy: on one float numpy's functions cost
    a microsecond each."""

    def __init__(self, name: str, value: float) -> None:
        super().__init__(v=value)
        self.name = name

    def __missing__(self, key: str) -> Any:
        got = _PLACEHOLDER[key](self.name, self["v"])
        self[key] = got
        return got


def _seconds(name: str, value: float) -> str:
    secs = (
        math.expm1(min(value, 700.0))  # past 709 it would overflow a float
        if name.startswith("log_") or name == "cancelled_lifetime_mean"
        else value
    )
    return f"{secs:.2f}"


def _ago(tau: float) -> Callable[[str, float], str]:
    """Seconds since a mark exp(-seconds / tau) was set; "none" for no mark at all."""

    def ago(_: str, value: float) -> str:
        if value <= 0:
            return "none"
        return f"{max(-tau * math.log(value), 0.0):.2f} s before"

    return ago


def _times(_: str, value: float) -> str:
    count = f"{value:.0f}"
    return "once" if count == "1" else f"{count} times"


_PLACEHOLDER: dict[str, Callable[[str, float], Any]] = {
    "pct": lambda _, v: _percent(v),
    "secs": _seconds,
    "ratio": lambda _, v: math.exp(min(v, 50.0)),
    "mins": lambda _, v: f"{v / 60:.1f}",
    "ago": _ago(1.0),
    "ago2": _ago(2.0),
    "ago300": _ago(300.0),
    "yesno": lambda _, v: "a" if _yes(v) else "not a",
    "inside": lambda _, v: "inside" if _yes(v) else "outside",
    "times": _times,
    "plain": lambda _, v: _plain(v),
}


def top_reasons(
    values: F32, contributions: F64, k: int = 5, usual: F32 | None = None
) -> list[FeatureReason]:
    """The k features with a value pushing a row's supervised score up the most, leaving
    out those whose value reads the same as the key's usual value."""
    n = len(FEATURE_NAMES)
    order = np.argsort(-contributions[:n], kind="stable")
    kept = (contributions[:n] > 0) & np.isfinite(values[:n])
    candidates = (
        FeatureReason(FEATURE_NAMES[j], float(values[j]), float(contributions[j]), _at(usual, j))
        for j in order[kept[order]].tolist()
    )
    return _first_apart(candidates, k)


def anomaly_reasons(
    values: F32, errors: F32, columns: tuple[int, ...], k: int = 3, usual: F32 | None = None
) -> list[FeatureReason]:
    """The k features (with a value) taking the largest share of the reconstruction error,
    leaving out those whose value reads the same as the key's usual value."""
    total = float(errors.sum())
    if total <= 0:
        return []
    order = np.argsort(-errors, kind="stable")
    # a missing value is read as the feature's centre; its "error" is nothing to show
    present = np.isfinite(values[list(columns)])
    candidates = (
        FeatureReason(
            FEATURE_NAMES[columns[j]],
            float(values[columns[j]]),
            float(errors[j]) / total,
            _at(usual, columns[j]),
            "autoencoder",
        )
        for j in order[present[order]].tolist()
    )
    return _first_apart(candidates, k)


def _first_apart(candidates: Iterable[FeatureReason], k: int) -> list[FeatureReason]:
    chosen: list[FeatureReason] = []
    for reason in candidates:
        if len(chosen) >= k:
            break
        if reason.sets_apart():
            chosen.append(reason)
    return chosen


def _at(usual: F32 | None, j: int) -> float | None:
    """The key's usual value of feature j; none for a clock feature."""
    if usual is None or FEATURE_NAMES[j] in CALENDAR_FEATURES:
        return None
    return _finite(usual[j])


def _finite(value: np.floating[Any]) -> float | None:
    return float(value) if np.isfinite(value) else None


def explanation_text(
    typology: str,
    score: float,
    n_events: int,
    reasons: list[FeatureReason],
    *,
    detected_by: str = "known pattern",
    ae_score: float | None = None,
    unusual: list[FeatureReason] | None = None,
    rules: list[str] | None = None,
) -> str:
    """A few sentences for an alert: which detector, why, and which rules agreed. A clause
    is stated once: a feature both models point at is named where it first comes."""
    kind = typology.replace("_", " ").lower()
    events = f"{n_events} event{'s' if n_events != 1 else ''}"
    text = f"{detected_by.capitalize()} ({kind}), score {score:.2f} over {events}"
    said: set[str] = set()
    known = _unsaid((r.phrase() for r in reasons[:3]), said)
    text += ": " + "; ".join(known) + "." if known else "."
    if unusual:
        ae = f", anomaly score {ae_score:.3f}" if ae_score is not None else ""
        new = _unsaid((r.phrase() for r in unusual), said)
        if new:
            text += f" Unusual against normal flow{ae}: " + "; ".join(new) + "."
        else:
            text += f" Unusual against normal flow{ae}, on the features above."
    hit = _unsaid(rules or [], said)
    if hit:
        text += " Rules hit: " + "; ".join(hit) + "."
    return text


def _unsaid(clauses: Iterable[str], said: set[str]) -> list[str]:
    """The clauses not said yet, in order and each once; they count as said from now on."""
    new: list[str] = []
    for clause in clauses:
        if clause not in said:
            said.add(clause)
            new.append(clause)
    return new


def reasons_json(reasons: list[FeatureReason]) -> str:
    """The reasons as the alert's top_features JSON."""
    return json.dumps([r.as_dict() for r in reasons])
