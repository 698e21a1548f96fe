"""A LOBSTER file's name gives its ticker, day, time span, kind and level."""

from __future__ import annotations

import datetime as dt
from pathlib import Path, PurePath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tapewatch.ingest.audit import audit_file
from tapewatch.ingest.lobster import LobsterName, orderbook_beside, parse_lobster_name

MS_PER_DAY = 86_400_000
TICKER = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-",
    min_size=1,
    max_size=8,
)


@st.composite
def lobster_names(draw: st.DrawFn) -> LobsterName:
    """Any name LOBSTER could give: a span within the day, any kind and depth."""
    end = draw(st.integers(0, MS_PER_DAY))
    return LobsterName(
        ticker=draw(TICKER),
        date=draw(st.dates(min_value=dt.date(1, 1, 1))),
        start_ms=draw(st.integers(0, end)),
        end_ms=end,
        kind=draw(st.sampled_from(["message", "orderbook"])),
        level=draw(st.integers(1, 999_999)),
    )


@given(lobster_names(), st.sampled_from(["", "data/", "/srv/lobster/2012/"]))
def test_a_generated_name_parses_back(name: LobsterName, directory: str) -> None:
    assert parse_lobster_name(name.filename) == name
    assert parse_lobster_name(directory + name.filename) == name
    assert parse_lobster_name(Path(directory) / name.filename) == name
    assert name.partner().partner() == name
    assert name.partner().kind != name.kind


@settings(max_examples=500)
@given(st.text())
def test_any_text_is_a_name_or_none(text: str) -> None:
    name = parse_lobster_name(text)
    assert name is None or name.filename == PurePath(text).name


# near misses: the right shape with any digits (leading zeros, impossible days, long numbers)
NEAR = (
    r"[A-Z]{1,5}_[0-9]{4}-[0-9]{2}-[0-9]{2}_[0-9]{1,10}_[0-9]{1,10}"
    r"_(message|orderbook|trades)_[0-9]{1,8}\.(csv|CSV)"
)


@settings(max_examples=500)
@given(st.from_regex(NEAR, fullmatch=True))
def test_a_near_miss_is_a_name_that_prints_back_or_none(text: str) -> None:
    name = parse_lobster_name(text)
    assert name is None or name.filename == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "AAPL_2012-06-21_34200000_57600000_message_1.csv",
            LobsterName("AAPL", dt.date(2012, 6, 21), 34_200_000, 57_600_000, "message", 1),
        ),
        (
            "AMZN_2012-06-21_34200000_57600000_message_10.csv",
            LobsterName("AMZN", dt.date(2012, 6, 21), 34_200_000, 57_600_000, "message", 10),
        ),
        (
            "/data/GOOG_2012-06-21_34200000_57600000_orderbook_5.csv",
            LobsterName("GOOG", dt.date(2012, 6, 21), 34_200_000, 57_600_000, "orderbook", 5),
        ),
        (  # a whole day, and a ticker with a dot
            "BRK.B_2020-02-29_0_86400000_message_1.csv",
            LobsterName("BRK.B", dt.date(2020, 2, 29), 0, MS_PER_DAY, "message", 1),
        ),
    ],
)
def test_lobster_names(text: str, expected: LobsterName) -> None:
    assert parse_lobster_name(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "AAPL.csv",
        "events.parquet",
        "AAPL_2012-06-21_message_1.csv",  # no time span
        "AAPL_2012-06-21_34200000_57600000_message_1",  # no .csv
        "AAPL_2012-06-21_34200000_57600000_message_1.csv.gz",
        "AAPL_2012-06-21_34200000_57600000_message_1.CSV",
        "AAPL_2012-06-21_34200000_57600000_trades_1.csv",  # neither message nor orderbook
        "AAPL_2012-06-21_34200000_57600000_message_0.csv",  # no book has 0 levels
        "AAPL_2012-06-21_34200000_57600000_message_01.csv",  # leading zero
        "AAPL_2012-06-21_034200000_57600000_message_1.csv",
        "AAPL_2012-6-21_34200000_57600000_message_1.csv",  # day not zero-padded
        "AAPL_2012-02-30_34200000_57600000_message_1.csv",  # no such day
        "AAPL_0000-01-01_34200000_57600000_message_1.csv",  # no year 0
        "AAPL_2012-06-21_57600000_34200000_message_1.csv",  # ends before it starts
        "AAPL_2012-06-21_34200000_86400001_message_1.csv",  # ends after midnight
        "_2012-06-21_34200000_57600000_message_1.csv",  # no ticker
        "BRK_B_2012-06-21_34200000_57600000_message_1.csv",  # underscore in the ticker
        "AAPL 2012-06-21_34200000_57600000_message_1.csv",
        "AAPL_2012-06-21_34200000_57600000_message_1.csv/x",  # a directory of that name
        "AAPL_2012-06-21_34200000_57600000_message_\u0661.csv",  # a digit, but not 0-9
    ],
)
def test_other_names_are_none(text: str) -> None:
    assert parse_lobster_name(text) is None


def test_the_order_book_beside_a_message_file(tmp_path: Path) -> None:
    messages = tmp_path / "AAPL_2012-06-21_34200000_57600000_message_10.csv"
    messages.write_text("34200.1,1,1,100,1000000,1\n", encoding="utf-8")
    assert orderbook_beside(messages) is None  # not there yet
    (tmp_path / "AAPL_2012-06-21_34200000_57600000_orderbook_1.csv").write_text("x\n")
    assert orderbook_beside(messages) is None  # another depth is another pair
    book = tmp_path / "AAPL_2012-06-21_34200000_57600000_orderbook_10.csv"
    book.write_text("x\n", encoding="utf-8")
    assert orderbook_beside(messages) == book
    assert orderbook_beside(book) is None  # an order book has no order book
    other = tmp_path / "aapl-messages.csv"
    other.write_text("34200.1,1,1,100,1000000,1\n", encoding="utf-8")
    assert orderbook_beside(other) is None


MESSAGE_LINES = (
    "34200.1,1,101,100,1000000,1\n34200.2,1,102,50,1001000,-1\n34200.3,3,101,100,1000000,1\n"
)
BOOK_LINES = "1001000,50,1000000,100\n1001000,50,1000000,100\n1001000,50,999000,10\n"


def test_audit_fills_the_map_command_from_the_name_or_leaves_placeholders(tmp_path: Path) -> None:
    named = tmp_path / "INTC_2013-01-02_34200000_57600000_message_1.csv"
    named.write_text(MESSAGE_LINES, encoding="utf-8")
    step = audit_file(named).next_step
    assert "--date 2013-01-02 --instrument INTC" in step
    assert "--orderbook <ORDERBOOK_FILE>" in step  # no order book beside it
    # a name that only half follows the convention gives nothing: map would refuse it too
    unnamed = tmp_path / "INTC_2013-01-02_message.csv"
    unnamed.write_text(MESSAGE_LINES, encoding="utf-8")
    step = audit_file(unnamed).next_step
    assert "--date YYYY-MM-DD --instrument <TICKER>" in step
    assert "--orderbook <ORDERBOOK_FILE>" in step


def test_audit_of_an_order_book_points_to_its_message_file(tmp_path: Path) -> None:
    book = tmp_path / "INTC_2013-01-02_34200000_57600000_orderbook_1.csv"
    book.write_text(BOOK_LINES, encoding="utf-8")
    report = audit_file(book)
    assert report.layout == "lobster_orderbook"
    assert "INTC_2013-01-02_34200000_57600000_message_1.csv" in report.next_step
