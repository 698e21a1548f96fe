"""Read LOBSTER message (and order-book) files into contract events.

LOBSTER (lobsterdata.com) message files have no header and six numeric columns:
``time`` (seconds after midnight, local exchange time), ``type`` (1 new, 2 partial
cancel, 3 full delete, 4 visible execution, 5 hidden execution, 7 trading halt),
``order_id``, ``size``, ``price`` (USD x 10000) and ``direction`` (1 buy, -1 sell; for an
execution, the side of the *resting* order). Row ``i`` of the order-book file
(``ask_px1, ask_sz1, bid_px1, bid_sz1, ...``) is the book *after* message ``i``.

How messages become contract rows (every row is one line of the message file):

- 1 -> ``NEW``; 2 -> ``CANCELLED`` with the cancelled size (a partial cancel);
  3 -> ``CANCELLED``; 7 -> skipped and counted (halts carry no order).
- 4 and 5 -> a trade, so two ``EXECUTED`` rows (the contract's convention), aggressor
  first: a synthetic aggressor row, order id ``AGG-<transaction id>`` on the opposite
  side, then the resting order's row (``direction``'s side). A hidden execution's resting
  order is not known (LOBSTER gives id 0): its order id is ``HID-<transaction id>``.
- ``transaction_id`` is ``<instrument>-<YYYYMMDD>-<line, 8 digits>``, with ``-A`` for
  the aggressor row of a trade.
- LOBSTER has no trader ids: ``trader_id`` and (on executions) ``counterparty_id`` are
  the placeholder ``UNKNOWN``. Every per-trader feature sees one pooled trader, and
  wash trading or any account-based rule cannot work on these files.
- ``bid_*``/``ask_*``: the order-book row of the *previous* message (the book just before
  this one); the first message has none. Empty levels (price +-9999999999) are null.
- There is no ``MODIFIED`` in LOBSTER; ``order_type`` is ``LIMIT`` throughout.

Lines that do not parse (not six fields, a field that is not a number, an unknown type
code, a direction other than 1/-1, a non-positive size or price) become dead letters.

A LOBSTER file's name says what it holds: ``TICKER_YYYY-MM-DD_START_END_message_LEVEL.csv``
(``_orderbook_`` for its order book); `parse_lobster_name` reads it, so the day and the
instrument need not be given by hand.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from tapewatch.ingest.clock import midnight_micros, to_timestamp_array, wall_clock_to_utc
from tapewatch.ingest.run import MapResult, finish
from tapewatch.schema.coerce import Mask, show, to_float, to_mask
from tapewatch.schema.deadletter import DeadLetter
from tapewatch.schema.errors import ContractError
from tapewatch.schema.raw import RawTable

#: Placeholder trader and counterparty: LOBSTER does not say who placed an order.
UNKNOWN_TRADER = "UNKNOWN"
MESSAGE_COLUMNS = ("time", "type", "order_id", "size", "price", "direction")
TYPE_NAMES = {
    1: "new",
    2: "partial_cancel",
    3: "delete",
    4: "visible_execution",
    5: "hidden_execution",
    7: "halt",
}
#: Contract order_status of each message type that makes rows.
_STATUS = {1: "NEW", 2: "CANCELLED", 3: "CANCELLED", 4: "EXECUTED", 5: "EXECUTED"}
_EMPTY_LEVEL = 9_999_999_999
#: LOBSTER prices are USD x 10000 (dividing keeps 2238200 -> 223.82 exact)
_PRICE_DIVISOR = 10_000.0
_SECONDS_PER_DAY = 86_400
#: LOBSTER's file names. Numbers have no leading zeros, so a parsed name prints back the
#: same; times are at most 8 digits (a day's milliseconds) and levels at most 6.
_NAME = re.compile(
    r"(?P<ticker>[A-Za-z0-9.\-]+)_(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"_(?P<start>0|[1-9][0-9]{0,7})_(?P<end>0|[1-9][0-9]{0,7})"
    r"_(?P<kind>message|orderbook)_(?P<level>[1-9][0-9]{0,5})\.csv"
)


@dataclass(frozen=True)
class LobsterSpec:
    """What a LOBSTER file does not say: its day, instrument, venue and time zone."""

    date: dt.date
    instrument: str
    venue: str = "XNAS"
    timezone: str = "America/New_York"

    def __post_init__(self) -> None:
        if not self.instrument.strip():
            raise ValueError("--instrument must not be empty")
        if not self.venue.strip():
            raise ValueError("--venue must not be empty")


LobsterKind = Literal["message", "orderbook"]


@dataclass(frozen=True)
class LobsterName:
    """What a LOBSTER file's name says: ticker, day, the requested time span (milliseconds
    after midnight), which of the pair the file is, and the order book's depth in levels."""

    ticker: str
    date: dt.date
    start_ms: int
    end_ms: int
    kind: LobsterKind
    level: int

    @property
    def filename(self) -> str:
        """The file name LOBSTER gives this file."""
        return (
            f"{self.ticker}_{self.date.isoformat()}_{self.start_ms}_{self.end_ms}"
            f"_{self.kind}_{self.level}.csv"
        )

    def partner(self) -> LobsterName:
        """The other file of the pair: the order book of a message file, and back."""
        kind: LobsterKind = "orderbook" if self.kind == "message" else "message"
        return LobsterName(self.ticker, self.date, self.start_ms, self.end_ms, kind, self.level)


def parse_lobster_name(path: str | PurePath) -> LobsterName | None:
    """Ticker, day, time span, kind and level from a file named as LOBSTER names its files,
    ``TICKER_YYYY-MM-DD_START_END_message_LEVEL.csv`` (or ``_orderbook_``); None for any
    other name. Only the last part of a path counts; a name that only looks right (a day
    that does not exist, a span that ends before it starts or after midnight) is None too.

    >>> name = parse_lobster_name("data/AAPL_2012-06-21_34200000_57600000_message_10.csv")
    >>> name.ticker, name.date.isoformat(), name.start_ms, name.end_ms, name.kind, name.level
    ('AAPL', '2012-06-21', 34200000, 57600000, 'message', 10)
    >>> parse_lobster_name("AAPL_2012-06-21.csv") is None
    True
    """
    match = _NAME.fullmatch(PurePath(path).name)
    if match is None:
        return None
    try:
        date = dt.date.fromisoformat(match["date"])
    except ValueError:
        return None
    start, end = int(match["start"]), int(match["end"])
    if not start <= end <= _SECONDS_PER_DAY * 1000:
        return None
    kind: LobsterKind = "message" if match["kind"] == "message" else "orderbook"
    return LobsterName(match["ticker"], date, start, end, kind, int(match["level"]))


def orderbook_beside(message_path: Path) -> Path | None:
    """The order-book file next to a LOBSTER message file, when both follow LOBSTER's naming
    and the order book exists; None otherwise."""
    name = parse_lobster_name(message_path)
    if name is None or name.kind != "message":
        return None
    book = message_path.with_name(name.partner().filename)
    return book if book.is_file() else None


def _read_lines(path: Path) -> pa.Array:
    """Every line of a text file as one string cell, blank lines kept."""
    source = str(path)
    if not path.is_file():
        raise ContractError(source, "not a readable file")
    if path.stat().st_size == 0:
        raise ContractError(source, "file is empty")
    try:
        table = pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(column_names=["line"], block_size=1 << 22),
            parse_options=pcsv.ParseOptions(
                delimiter="\x1f", quote_char=False, escape_char=False, ignore_empty_lines=False
            ),
            convert_options=pcsv.ConvertOptions(
                column_types={"line": pa.string()}, strings_can_be_null=False
            ),
        )
    except (pa.ArrowException, OSError) as exc:
        raise ContractError(source, f"cannot read ({exc})") from None
    return table.column("line").combine_chunks()


def _fields(lines: pa.Array, width: int) -> tuple[list[pa.Array], Mask]:
    """The ``width`` comma-separated fields of each line, and a mask of lines of another width."""
    parts = pc.split_pattern(lines, ",")
    ok = to_mask(pc.equal(pc.list_value_length(parts), width))
    if not ok.all():
        parts = pc.split_pattern(pc.if_else(pa.array(ok), lines, "," * (width - 1)), ",")
    return [pc.utf8_trim_whitespace(pc.list_element(parts, i)) for i in range(width)], ok


def read_orderbook(path: Path, n_messages: int) -> dict[str, pa.Array]:
    """Best bid/ask price (USD) and size after each message; empty levels as null."""
    lines = _read_lines(path)
    source = str(path)
    if len(lines) != n_messages:
        raise ContractError(
            source, f"order book has {len(lines):,} rows but the message file {n_messages:,}"
        )
    first = pc.split_pattern(lines, ",", max_splits=4)
    short = to_mask(pc.less(pc.list_value_length(first), 4))
    if short.any():
        line = int(np.flatnonzero(short)[0]) + 1
        raise ContractError(source, f"line {line}: expected at least 4 fields")
    out: dict[str, pa.Array] = {}
    for i, name in enumerate(("ask_price", "ask_size", "bid_price", "bid_size")):
        parsed = to_float(pc.list_element(first, i), strictly_positive=False)
        failed = parsed.problems[0].mask | parsed.problems[1].mask
        if failed.any():
            line = int(np.flatnonzero(failed)[0]) + 1
            raise ContractError(source, f"line {line}: {name} is not a number")
        out[name] = pc.cast(pc.list_element(first, i), pa.float64())
    for side in ("ask", "bid"):
        price = out[f"{side}_price"]
        empty = pc.greater_equal(pc.abs(price), float(_EMPTY_LEVEL))
        out[f"{side}_price"] = pc.if_else(empty, None, pc.divide(price, _PRICE_DIVISOR))
        out[f"{side}_size"] = pc.if_else(empty, None, out[f"{side}_size"])
    return out


@dataclass(frozen=True)
class _Messages:
    """Parsed message fields, with the first failing field per line."""

    time: npt.NDArray[np.float64]
    kind: npt.NDArray[np.int64]
    order_id: pa.Array
    size: npt.NDArray[np.float64]
    price: npt.NDArray[np.float64]
    direction: npt.NDArray[np.int64]
    bad: list[DeadLetter]
    good: Mask


def _numbers(text: pa.Array) -> tuple[npt.NDArray[np.float64], Mask]:
    """Floats of a text column (NaN where missing) and a mask of cells that are no number."""
    parsed = to_float(text, strictly_positive=False)
    floats = np.array(pc.fill_null(parsed.values, np.nan).to_numpy(zero_copy_only=False))
    bad = parsed.missing | parsed.problems[0].mask | parsed.problems[1].mask
    # negative numbers are fine here (direction -1, halt prices); to_float nulled them
    negative = parsed.problems[2].mask
    if negative.any():
        floats[negative] = np.asarray(
            pc.cast(pc.filter(text, pa.array(negative)), pa.float64()).to_numpy()
        )
    return floats, bad


def _parse_messages(lines: pa.Array) -> _Messages:
    """Parse and check every message line; bad lines become dead letters."""
    fields, shaped = _fields(lines, len(MESSAGE_COLUMNS))
    n = len(lines)
    time, bad_time = _numbers(fields[0])
    kind_f, bad_kind = _numbers(fields[1])
    size, bad_size = _numbers(fields[3])
    price, bad_price = _numbers(fields[4])
    direction_f, bad_dir = _numbers(fields[5])
    order_id = fields[2]
    no_order = to_mask(pc.equal(pc.utf8_length(order_id), 0))
    with np.errstate(invalid="ignore"):
        kind = np.where(bad_kind, -1, kind_f).astype(np.int64)
        direction = np.where(bad_dir, 0, direction_f).astype(np.int64)
        unknown = ~bad_kind & (~np.isin(kind, list(TYPE_NAMES)) | (kind != kind_f))
        halt = kind == 7
        checks: list[tuple[str, Mask, str]] = [
            ("", ~shaped, f"expected {len(MESSAGE_COLUMNS)} comma-separated fields"),
            ("time", bad_time, "not a number"),
            ("time", ~bad_time & ((time < 0) | (time >= 2 * _SECONDS_PER_DAY)), "out of range"),
            ("type", bad_kind, "not a number"),
            ("type", unknown, "unknown event type; expected 1, 2, 3, 4, 5 or 7"),
            ("order_id", no_order & ~halt, "required"),
            ("size", bad_size & ~halt, "not a number"),
            ("size", ~bad_size & ~halt & ~(size > 0), "must be > 0"),
            ("price", bad_price & ~halt, "not a number"),
            ("price", ~bad_price & ~halt & ~(price > 0), "must be > 0"),
            ("direction", bad_dir | ~np.isin(direction_f, [1.0, -1.0]), "expected 1 or -1"),
        ]
    first = np.full(n, -1, dtype=np.int32)
    for index, (_, mask, _) in enumerate(checks):
        first[mask & (first < 0)] = index
    rows = np.flatnonzero(first >= 0)
    letters: list[DeadLetter] = []
    if len(rows):
        texts = pc.take(lines, pa.array(rows)).to_pylist()
        values = [pc.take(f, pa.array(rows)).to_pylist() for f in fields]
        for j, (row, text) in enumerate(zip(rows, texts, strict=True)):
            name, _, reason = checks[first[row]]
            if name:
                raw = values[MESSAGE_COLUMNS.index(name)][j]
                reason = f"{reason}, got {show(raw)}"
                record: dict[str, object] = {
                    col: values[k][j] for k, col in enumerate(MESSAGE_COLUMNS)
                }
            else:
                record = {"_text": text}
            letters.append(DeadLetter(int(row) + 1, "line", name, reason, record))
    return _Messages(time, kind, order_id, size, price, direction, letters, first < 0)


def _previous(values: pa.Array) -> pa.Array:
    """Each cell replaced by the one before it; the first becomes null."""
    return pa.concat_arrays([pa.nulls(1, values.type), values.slice(0, len(values) - 1)])


def _join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of text arrays and constants."""
    return pc.binary_join_element_wise(*parts, "")


def map_lobster(
    message_path: Path,
    spec: LobsterSpec,
    *,
    orderbook_path: Path | None,
    deadletter_dir: Path | None,
) -> MapResult:
    """Contract events from a LOBSTER message file (and its order book, for bid/ask)."""
    source = str(message_path)
    lines = _read_lines(message_path)
    n = len(lines)
    msgs = _parse_messages(lines)
    book = read_orderbook(orderbook_path, n) if orderbook_path is not None else None

    emit = msgs.good & (msgs.kind != 7)
    per_row = np.where(np.isin(msgs.kind, [4, 5]), 2, 1) * emit
    idx = np.repeat(np.arange(n), per_row)
    starts = np.repeat(np.cumsum(per_row) - per_row, per_row)
    aggressor = (np.arange(len(idx)) - starts == 0) & np.isin(msgs.kind[idx], [4, 5])
    kind = msgs.kind[idx]
    line = idx + 1
    m = len(idx)

    line_text = pc.utf8_lpad(pc.cast(pa.array(line, pa.int64()), pa.string()), 8, "0")
    base = _join(f"{spec.instrument}-{spec.date:%Y%m%d}-", line_text)
    agg_mask = pa.array(aggressor)
    transaction_id = pc.if_else(agg_mask, _join(base, "-A"), base)
    order_id = pc.take(msgs.order_id, pa.array(idx, pa.int64()))
    order_id = pc.if_else(pa.array(kind == 5), _join("HID-", base), order_id)
    order_id = pc.if_else(agg_mask, _join("AGG-", base), order_id)

    resting_buy = msgs.direction[idx] == 1
    side = np.where(resting_buy != aggressor, "BUY", "SELL")
    lookup = np.array([_STATUS.get(k, "") for k in range(8)])
    status = lookup[kind]
    executed = np.isin(kind, [4, 5])

    wall = np.round(msgs.time[idx] * 1e6).astype(np.int64) + midnight_micros(spec.date)
    utc, ok = wall_clock_to_utc(wall, np.ones(m, dtype=np.bool_), spec.timezone)

    columns: dict[str, pa.Array] = {
        "transaction_id": transaction_id,
        "timestamp": to_timestamp_array(utc, ok),
        "order_id": order_id,
        "order_status": pa.array(status, pa.string()),
        "trader_id": pa.repeat(pa.scalar(UNKNOWN_TRADER), m),
        "instrument_id": pa.repeat(pa.scalar(spec.instrument), m),
        "trading_venue": pa.repeat(pa.scalar(spec.venue), m),
        "side": pa.array(side, pa.string()),
        "price": pa.array(msgs.price[idx] / _PRICE_DIVISOR),
        "quantity": pa.array(msgs.size[idx]),
        "order_type": pa.repeat(pa.scalar("LIMIT"), m),
        "counterparty_id": pc.if_else(pa.array(executed), UNKNOWN_TRADER, None),
    }
    if book is not None:
        take = pa.array(idx, pa.int64())
        for name, values in book.items():
            columns[name] = pc.take(_previous(values), take)
    table = pa.table(columns)
    raw = RawTable(
        table=table,
        line_of_first_row=1,
        unit="line",
        source=source,
        row_lines=line.astype(np.int64),
        rejected=tuple(msgs.bad),
    )
    good_kinds = msgs.kind[msgs.good]
    counts = {f"type_{k}_{name}": int((good_kinds == k).sum()) for k, name in TYPE_NAMES.items()}
    counts["halts_skipped"] = counts["type_7_halt"]
    counts["messages_rejected"] = len(msgs.bad)
    return finish(raw, message_path, deadletter_dir=deadletter_dir, n_read=n, counts=counts)
