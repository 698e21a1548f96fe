"""LOBSTER message and order-book files become contract events."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tapewatch.ingest.audit import audit_file
from tapewatch.ingest.lobster import LobsterSpec, map_lobster
from tapewatch.schema.errors import ContractError

# time, type, order_id, size, price (x10000), direction
MESSAGES = [
    "34200.000000100,1,101,100,1000000,1",  # 1 NEW buy 100 @ 100.00
    "34200.000000200,1,102,50,1001000,-1",  # 2 NEW sell 50 @ 100.10
    "34200.000001000,2,101,30,1000000,1",  # 3 partial cancel 30 of 101
    "34200.500000000,4,102,20,1001000,-1",  # 4 visible exec of resting sell 102
    "34201.000000000,5,0,10,1000500,1",  # 5 hidden exec, resting side buy
    "34201.100000000,7,0,0,-1,-1",  # 6 halt
    "34201.200000000,3,101,70,1000000,1",  # 7 full delete of 101
    "34201.300000000,9,103,10,1000000,1",  # 8 unknown type
    "34201.400000000,1,104,ten,1000000,1",  # 9 unparseable size
    "34201.500000000,1,105,10,1000000",  # 10 five fields
    "34201.600000000,1,106,10,999000,-2",  # 11 bad direction
    "34201.700000000,1,107,5,1000000,1",  # 12 NEW buy 5 @ 100.00
]
EMPTY = 9_999_999_999
BOOK = [
    f"{EMPTY},0,1000000,100",  # after 1: no ask
    "1001000,50,1000000,100",  # after 2
    "1001000,50,1000000,70",  # after 3
    "1001000,30,1000000,70",  # after 4
    "1001000,30,1000000,70",  # after 5
    "1001000,30,1000000,70",  # after 6 (halt: book repeated)
    f"1001000,30,-{EMPTY},0",  # after 7: no bid
    f"1001000,30,-{EMPTY},0",
    f"1001000,30,-{EMPTY},0",
    f"1001000,30,-{EMPTY},0",
    f"1001000,30,-{EMPTY},0",
    "1001000,30,1000000,5",  # after 12
]
SPEC = LobsterSpec(date=dt.date(2012, 6, 21), instrument="AMZN", venue="XNAS")


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    """A hand-written message file and its order book."""
    messages = tmp_path / "AMZN_2012-06-21_34200000_57600000_message_1.csv"
    book = tmp_path / "AMZN_2012-06-21_34200000_57600000_orderbook_1.csv"
    messages.write_text("\n".join(MESSAGES) + "\n", encoding="utf-8")
    book.write_text("\n".join(BOOK) + "\n", encoding="utf-8")
    return messages, book


def test_messages_map_to_contract_rows(files: tuple[Path, Path], tmp_path: Path) -> None:
    messages, book = files
    result = map_lobster(messages, SPEC, orderbook_path=book, deadletter_dir=tmp_path / "dl")
    rows = result.table.to_pylist()
    got = [
        (
            r["transaction_id"],
            r["order_id"],
            r["order_status"],
            r["side"],
            r["price"],
            r["quantity"],
        )
        for r in rows
    ]
    assert got == [
        ("AMZN-20120621-00000001", "101", "NEW", "BUY", 100.0, 100.0),
        ("AMZN-20120621-00000002", "102", "NEW", "SELL", 100.1, 50.0),
        ("AMZN-20120621-00000003", "101", "CANCELLED", "BUY", 100.0, 30.0),
        ("AMZN-20120621-00000004-A", "AGG-AMZN-20120621-00000004", "EXECUTED", "BUY", 100.1, 20.0),
        ("AMZN-20120621-00000004", "102", "EXECUTED", "SELL", 100.1, 20.0),
        (
            "AMZN-20120621-00000005-A",
            "AGG-AMZN-20120621-00000005",
            "EXECUTED",
            "SELL",
            100.05,
            10.0,
        ),
        ("AMZN-20120621-00000005", "HID-AMZN-20120621-00000005", "EXECUTED", "BUY", 100.05, 10.0),
        ("AMZN-20120621-00000007", "101", "CANCELLED", "BUY", 100.0, 70.0),
        ("AMZN-20120621-00000012", "107", "NEW", "BUY", 100.0, 5.0),
    ]
    assert {r["trader_id"] for r in rows} == {"UNKNOWN"}
    assert [r["counterparty_id"] for r in rows] == [None] * 3 + ["UNKNOWN"] * 4 + [None] * 2
    assert {(r["instrument_id"], r["trading_venue"], r["order_type"]) for r in rows} == {
        ("AMZN", "XNAS", "LIMIT")
    }
    # 09:30 in New York on 2012-06-21 (daylight saving) is 13:30 UTC
    assert rows[0]["timestamp"] == dt.datetime(2012, 6, 21, 13, 30, 0, 0, tzinfo=dt.UTC)
    assert rows[3]["timestamp"] == dt.datetime(2012, 6, 21, 13, 30, 0, 500_000, tzinfo=dt.UTC)
    # the book before each event is the previous message's row; the first has none
    quotes = [(r["bid_price"], r["bid_size"], r["ask_price"], r["ask_size"]) for r in rows]
    assert quotes[0] == (None, None, None, None)
    assert quotes[1] == (100.0, 100.0, None, None)  # empty ask level -> null
    assert quotes[2] == (100.0, 100.0, 100.1, 50.0)
    assert quotes[3] == quotes[4] == (100.0, 70.0, 100.1, 50.0)  # both sides of a trade
    assert quotes[7] == (100.0, 70.0, 100.1, 30.0)  # after the halt row (6)
    assert quotes[8] == (None, None, 100.1, 30.0)  # empty bid level -> null
    assert result.counts["halts_skipped"] == 1
    assert result.counts["type_4_visible_execution"] == 1
    assert result.n_read == 12
    assert result.n_bad == 4


def test_bad_lines_go_to_the_dead_letter_with_line_numbers(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    messages, _ = files
    result = map_lobster(messages, SPEC, orderbook_path=None, deadletter_dir=tmp_path / "dl")
    assert result.table["bid_price"].null_count == result.table.num_rows
    path = tmp_path / "dl" / f"{messages.stem}.deadletter.jsonl"
    letters = [json.loads(line) for line in path.open()]
    assert [(x["line"], x["field"]) for x in letters] == [
        (8, "type"),
        (9, "size"),
        (10, ""),
        (11, "direction"),
    ]
    assert "unknown event type" in letters[0]["reason"]
    assert "'9'" in letters[0]["reason"]
    assert "not a number" in letters[1]["reason"]
    assert letters[1]["row"]["size"] == "ten"
    assert "6 comma-separated fields" in letters[2]["reason"]


def test_order_book_of_another_length_is_refused(files: tuple[Path, Path], tmp_path: Path) -> None:
    messages, book = files
    book.write_text("\n".join(BOOK[:5]) + "\n", encoding="utf-8")
    with pytest.raises(ContractError, match="order book has 5 rows but the message file 12"):
        map_lobster(messages, SPEC, orderbook_path=book, deadletter_dir=None)


def test_audit_recognises_lobster(files: tuple[Path, Path]) -> None:
    messages, book = files
    report = audit_file(messages)
    assert report.layout == "lobster_message"
    assert "--format lobster" in report.next_step
    assert f"--orderbook {book.name}" in report.next_step
    assert "--date 2012-06-21 --instrument AMZN" in report.next_step
    assert any("no trader ids" in w and "wash-trading" in w for w in report.warnings)
    assert report.mapping is None
    assert audit_file(book).layout == "lobster_orderbook"
