"""Suggest a schema mapping from column names and sniffed contents."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass

from tapewatch.ingest.mapping import FieldSpec, SchemaMapping
from tapewatch.ingest.sniff import ColumnProfile
from tapewatch.schema.columns import REQUIRED_EVENT_COLUMNS

#: Usual source names of each contract column (normalised: lower case, '_' separators).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "transaction_id": ("transaction_id", "txn_id", "tx_id", "event_id", "id", "exec_id",
                       "msg_id", "message_id", "record_id", "seq", "seq_no", "sequence",
                       "report_id", "transaction_reference_number"),
    "timestamp": ("timestamp", "ts", "time", "exec_time", "event_time", "datetime",
                  "date_time", "transact_time", "trade_time", "time_stamp", "t", "time_ns",
                  "trading_date_time"),
    "order_id": ("order_id", "order", "oid", "ord_id", "order_ref", "orderid",
                 "client_order_id", "cl_ord_id", "clordid", "order_number"),
    "order_status": ("order_status", "status", "event_type", "action", "event", "msg_type",
                     "exec_type", "ord_status", "type"),
    "trader_id": ("trader_id", "trader", "account", "account_id", "acct", "lei", "user",
                  "participant", "firm", "member", "client", "client_id", "investor",
                  "buyer_id", "decision_maker", "executing_entity"),
    "instrument_id": ("instrument_id", "symbol", "isin", "instrument", "ticker", "security",
                      "security_id", "sym", "ric", "cusip", "stock"),
    "trading_venue": ("trading_venue", "venue", "mic", "exchange", "market", "exch",
                      "venue_mic", "ex"),
    "side": ("side", "direction", "buy_sell", "bs", "buysell", "b_s", "dir",
             "buy_sell_indicator", "buy_sell_ind"),
    "price": ("price", "px", "prc", "limit_price", "exec_price", "fill_price", "trade_price",
              "last_px", "price_usd"),
    "quantity": ("quantity", "qty", "size", "shares", "volume", "amount", "vol",
                 "filled_qty", "sz", "last_qty", "order_qty"),
    "order_type": ("order_type", "ord_type", "otype", "order_kind"),
    "counterparty_id": ("counterparty_id", "counterparty", "cpty", "contra", "contra_account",
                        "contra_party", "cp", "counter_party", "cpty_id"),
    "is_algo_trade": ("is_algo_trade", "algo", "is_algo", "algorithmic", "algo_flag"),
    "is_hft": ("is_hft", "hft", "hft_flag"),
    "bid_price": ("bid_price", "bid", "bid_px", "best_bid", "bidpx", "bid_px1", "bid_price1"),
    "ask_price": ("ask_price", "ask", "ask_px", "best_ask", "offer", "askpx", "ask_px1",
                  "offer_price", "ask_price1"),
    "bid_size": ("bid_size", "bid_sz", "bid_qty", "bidsize", "bid_sz1", "bid_size1"),
    "ask_size": ("ask_size", "ask_sz", "ask_qty", "asksize", "ask_sz1", "offer_size",
                 "ask_size1"),
    "is_manipulation": ("is_manipulation",),
    "manipulation_type": ("manipulation_type",),
    "scenario_id": ("scenario_id",),
}  # fmt: skip
#: The least score that makes a column a suggestion.
THRESHOLD = 0.5
#: Placeholder for ids a file does not have.
PLACEHOLDER = "UNKNOWN"
_DATE_IN_NAME = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")


def normalise(name: str) -> str:
    """A column name in lower case with runs of other characters as one '_'."""
    camel = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    return re.sub(r"[^a-z0-9]+", "_", camel.lower()).strip("_")


def name_score(canonical: str, name: str) -> float:
    """How much a column name suggests a contract column: 1 exact ... 0 nothing."""
    norm = normalise(name)
    synonyms = SYNONYMS[canonical]
    if norm == canonical:
        return 1.0
    if norm in synonyms:
        return 0.9
    tokens = set(norm.split("_"))
    if any(len(s) > 2 and (s in tokens or s.replace("_", "") == norm) for s in synonyms):
        return 0.6
    if max(difflib.SequenceMatcher(None, norm, s).ratio() for s in synonyms) >= 0.85:
        return 0.5
    return 0.0


def content_score(canonical: str, p: ColumnProfile) -> float:
    """How much a column's values fit a contract column (negative: they do not)."""
    k = p.kinds
    if "empty" in k:
        return -1.0
    if canonical == "timestamp":
        return 0.6 if k & {"iso_time", "epoch", "time_of_day"} else -0.6
    if canonical == "instrument_id":
        return 0.6 if "isin" in k else (-0.3 if "fraction" in k else 0.0)
    if canonical == "trading_venue":
        return 0.6 if "mic" in k else -0.3
    if canonical == "side":
        return 0.6 if "side" in k else -0.6
    if canonical == "order_status":
        return 0.6 if "status" in k else -0.6
    if canonical == "order_type":
        return 0.6 if "order_type" in k else -0.6
    if canonical in ("price", "bid_price", "ask_price"):
        if not p.numeric or "epoch" in k:
            return -1.0
        return 0.3 if "positive" in k else 0.0
    if canonical in ("quantity", "bid_size", "ask_size"):
        if not p.numeric or "epoch" in k:
            return -1.0
        return 0.3 if "positive" in k else 0.0
    if canonical in ("trader_id", "counterparty_id"):
        return 0.3 if "lei" in k else (-0.5 if "fraction" in k else 0.0)
    if canonical == "transaction_id":
        return 0.3 if "unique" in k and "fraction" not in k else -0.2
    if canonical == "order_id":
        return -0.5 if "fraction" in k else 0.0
    if canonical in ("is_algo_trade", "is_hft", "is_manipulation"):
        return 0.3 if "bool" in k else -0.6
    return 0.0


@dataclass(frozen=True)
class Suggestion:
    """A suggested mapping, where each contract column came from, and warnings."""

    mapping: SchemaMapping
    #: contract column -> how it is filled, e.g. "column 'qty' (name, content)" or "constant"
    via: dict[str, str]
    warnings: tuple[str, ...]


def suggest_mapping(profiles: list[ColumnProfile], *, file_name: str = "") -> Suggestion:
    """The best mapping of contract columns to profiled columns, one column per field."""
    candidates: list[tuple[float, str, ColumnProfile, str]] = []
    for canonical in SYNONYMS:
        for p in profiles:
            by_name = name_score(canonical, p.name)
            by_content = content_score(canonical, p)
            # content alone may suggest a column for fields with a telling pattern
            if by_name == 0.0 and canonical not in ("instrument_id", "trading_venue", "side",
                                                    "order_status", "order_type", "timestamp"):  # fmt: skip
                continue
            score = by_name + by_content
            if score >= THRESHOLD:
                why = ", ".join(w for w, s in (("name", by_name), ("content", by_content)) if s > 0)
                candidates.append((score, canonical, p, why))
    candidates.sort(key=lambda c: (-c[0], list(SYNONYMS).index(c[1])))
    chosen: dict[str, tuple[ColumnProfile, str]] = {}
    used: set[str] = set()
    for _, canonical, p, why in candidates:
        if canonical in chosen or p.name in used:
            continue
        chosen[canonical] = (p, why)
        used.add(p.name)

    specs: list[FieldSpec] = []
    via: dict[str, str] = {}
    warnings: list[str] = []
    date = _date_in(file_name)
    for canonical in SYNONYMS:
        if canonical in chosen:
            p, why = chosen[canonical]
            spec, note = _spec_for(canonical, p, date)
            specs.append(spec)
            via[canonical] = f"column '{p.name}' (by {why})" + (f"; {note}" if note else "")
            if note.startswith("WARNING "):
                warnings.append(f"{canonical}: {note.removeprefix('WARNING ')}")
    if "transaction_id" not in chosen:
        specs.append(FieldSpec("transaction_id", derive="row_number"))
        via["transaction_id"] = "derived from the row number"
    if "trader_id" not in chosen:
        specs.append(FieldSpec("trader_id", value=PLACEHOLDER))
        via["trader_id"] = f"constant '{PLACEHOLDER}' (no trader column found)"
        warnings.append(
            "no trader ids: every per-trader feature sees one pooled trader; "
            "wash-trading and any account-based rule cannot work"
        )
    if "counterparty_id" not in chosen:
        specs.append(FieldSpec("counterparty_id", value=PLACEHOLDER))
        via["counterparty_id"] = f"constant '{PLACEHOLDER}' (no counterparty column found)"
        warnings.append(
            "no counterparty ids: executions cannot be paired by trader; "
            "wash-trading and cross-account rules cannot work"
        )
    comment = "suggested by tapewatch audit" + (f" from {file_name}" if file_name else "")
    mapping = SchemaMapping(fields=tuple(specs), comment=comment + "; review before use")
    for name in REQUIRED_EVENT_COLUMNS:
        if mapping.get(name) is None:
            warnings.append(f"required field '{name}' has no source: add it to the mapping")
    return Suggestion(mapping, via, tuple(warnings))


def _date_in(file_name: str) -> dt.date | None:
    """A YYYY-MM-DD or YYYYMMDD date in a file name, if there is one."""
    match = _DATE_IN_NAME.search(file_name)
    if match is None:
        return None
    try:
        return dt.date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


def _spec_for(canonical: str, p: ColumnProfile, date: dt.date | None) -> tuple[FieldSpec, str]:
    """The spec for one chosen column, with transforms its contents call for, and a note."""
    if canonical in ("side", "order_status", "order_type") and p.value_map:
        identity = all(source == target for source, target in p.value_map)
        if not identity:
            return FieldSpec(canonical, column=p.name, values=p.value_map), "values mapped"
    if canonical == "timestamp":
        if "epoch" in p.kinds and p.epoch_unit is not None:
            return FieldSpec(canonical, column=p.name, unit=p.epoch_unit), (f"epoch {p.epoch_unit}")
        if "time_of_day" in p.kinds:
            if date is not None:
                spec = FieldSpec(canonical, column=p.name, unit="s", date=date, timezone="UTC")
                return spec, (
                    f"WARNING seconds after midnight: date {date} taken from the file name; "
                    "set 'timezone' to the venue's zone (UTC assumed)"
                )
            return FieldSpec(canonical, column=p.name), (
                'WARNING seconds after midnight: add "unit": "s", "date" and "timezone"'
            )
    scaled = "integer" in p.kinds and p.median is not None and p.median >= 100_000
    if canonical in ("price", "bid_price", "ask_price") and scaled and p.median is not None:
        return FieldSpec(canonical, column=p.name), (
            f'WARNING integer prices around {p.median:,.0f}: scaled? add "scale"'
        )
    return FieldSpec(canonical, column=p.name), ""
