"""`tapewatch map --format lobster` as a user runs it: a file named as LOBSTER names it gives
its day and instrument, and the order book beside it the bid and ask."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import typer
from kit import tapewatch
from typer.testing import CliRunner

from tapewatch.cli import map as map_cmd

STEM = "AAPL_2012-06-21_34200000_57600000"
MESSAGE = f"{STEM}_message_1.csv"
BOOK = f"{STEM}_orderbook_1.csv"
EMPTY = 9_999_999_999
# time, type, order_id, size, price (x10000), direction
MESSAGES = [
    "34200.000000100,1,101,100,1000000,1",  # 1 NEW buy 100 @ 100.00
    "34200.000000200,1,102,50,1001000,-1",  # 2 NEW sell 50 @ 100.10
    "34200.500000000,4,102,20,1001000,-1",  # 3 visible exec of resting sell 102: two rows
    "34201.200000000,3,101,100,1000000,1",  # 4 full delete of 101
]
# ask_px1, ask_sz1, bid_px1, bid_sz1: the book after each message
ORDER_BOOK = [
    f"{EMPTY},0,1000000,100",
    "1001000,50,1000000,100",
    "1001000,30,1000000,100",
    f"1001000,30,-{EMPTY},0",
]
# (bid_price, bid_size, ask_price, ask_size) just before each event row
QUOTES = [
    (None, None, None, None),
    (100.0, 100.0, None, None),
    (100.0, 100.0, 100.1, 50.0),
    (100.0, 100.0, 100.1, 50.0),
    (100.0, 100.0, 100.1, 30.0),
]


def write_pair(directory: Path, message: str = MESSAGE, book: str | None = BOOK) -> Path:
    """A LOBSTER message file (and its order book, unless `book` is None) in `directory`."""
    path = directory / message
    path.write_text("\n".join(MESSAGES) + "\n", encoding="utf-8")
    if book is not None:
        (directory / book).write_text("\n".join(ORDER_BOOK) + "\n", encoding="utf-8")
    return path


def quotes(table: pa.Table) -> list[tuple[float | None, ...]]:
    """Each event's best bid and ask as (bid_price, bid_size, ask_price, ask_size)."""
    names = ("bid_price", "bid_size", "ask_price", "ask_size")
    return list(zip(*(table[name].to_pylist() for name in names), strict=True))


def test_map_takes_day_instrument_and_order_book_from_the_names(tmp_path: Path) -> None:
    write_pair(tmp_path)
    run = tapewatch(
        "map",
        MESSAGE,
        "--format",
        "lobster",
        "--out",
        "events.parquet",
        "--deadletter-dir",
        "dl",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert f"order book: {BOOK}" in run.stdout
    assert "from the file name: instrument AAPL, date 2012-06-21" in run.stdout
    events = pq.read_table(tmp_path / "events.parquet")
    assert events.num_rows == 5
    assert set(events["instrument_id"].to_pylist()) == {"AAPL"}
    assert events["transaction_id"][0].as_py() == "AAPL-20120621-00000001"
    # 09:30 in New York on that day is 13:30 UTC on the same day
    times = events["timestamp"].to_pylist()
    assert times[0] == dt.datetime(2012, 6, 21, 13, 30, tzinfo=dt.UTC)
    assert set(pc.cast(events["timestamp"], pa.date32()).to_pylist()) == {dt.date(2012, 6, 21)}
    assert quotes(events) == QUOTES


def test_a_name_that_says_nothing_needs_the_flags(tmp_path: Path) -> None:
    write_pair(tmp_path, message="aapl-messages.csv", book=None)
    run = tapewatch(
        "map", "aapl-messages.csv", "--format", "lobster", "--out", "events.parquet", cwd=tmp_path
    )
    assert run.returncode == 2
    error = " ".join(run.stderr.split())
    assert "aapl-messages.csv" in error
    assert "TICKER_YYYY-MM-DD_START_END_message_LEVEL.csv" in error
    assert "needs --date and --instrument" in error
    assert not (tmp_path / "events.parquet").exists()


@pytest.fixture
def runner_app() -> typer.Typer:
    """The map command alone, run in this process."""
    app = typer.Typer()
    app.command("map")(map_cmd.map_command)
    app.command("nothing")(nothing)  # with two commands, `map` is named on the line
    return app


def nothing() -> None:
    """A second command."""


def run_map(app: typer.Typer, file: Path, *args: str) -> tuple[int, str, BaseException | None]:
    """Exit code, output and exception of `map FILE --format lobster ARGS`."""
    done = CliRunner().invoke(
        app,
        [
            "map",
            str(file),
            "--format",
            "lobster",
            "--deadletter-dir",
            str(file.parent / "dl"),
            *args,
        ],
        env={"COLUMNS": "400"},
    )
    return done.exit_code, done.output, done.exception


def test_flags_override_the_names(runner_app: typer.Typer, tmp_path: Path) -> None:
    message = write_pair(tmp_path)
    other_book = tmp_path / "book.csv"
    rows = [f"{EMPTY},0,1000000,7", "1001000,50,1000000,7", "1001000,30,1000000,7", "1,1,1,1"]
    other_book.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "events.parquet"
    code, output, _ = run_map(
        runner_app,
        message,
        "--date",
        "2012-06-22",
        "--instrument",
        "XYZ",
        "--orderbook",
        str(other_book),
        "--out",
        str(out),
    )
    assert code == 0, output
    assert "from the file name" not in output
    assert "order book:" not in output
    events = pq.read_table(out)
    assert set(events["instrument_id"].to_pylist()) == {"XYZ"}
    assert set(pc.cast(events["timestamp"], pa.date32()).to_pylist()) == {dt.date(2012, 6, 22)}
    assert events["bid_size"].to_pylist()[1:] == [7.0, 7.0, 7.0, 7.0]


def test_one_flag_overrides_and_the_name_gives_the_other(
    runner_app: typer.Typer, tmp_path: Path
) -> None:
    message = write_pair(tmp_path)
    out = tmp_path / "events.parquet"
    code, output, _ = run_map(
        runner_app, message, "--instrument", "US0378331005", "--out", str(out)
    )
    assert code == 0, output
    assert "from the file name: date 2012-06-21" in output
    events = pq.read_table(out)
    assert set(events["instrument_id"].to_pylist()) == {"US0378331005"}
    assert set(pc.cast(events["timestamp"], pa.date32()).to_pylist()) == {dt.date(2012, 6, 21)}


def test_without_an_order_book_beside_it_bid_and_ask_stay_empty(
    runner_app: typer.Typer, tmp_path: Path
) -> None:
    message = write_pair(tmp_path, book=None)
    out = tmp_path / "events.parquet"
    code, output, _ = run_map(runner_app, message, "--out", str(out))
    assert code == 0, output
    assert f"no order book beside {MESSAGE}" in output
    events = pq.read_table(out)
    assert events["bid_price"].null_count == events.num_rows


def test_a_name_without_the_convention_says_which_flag_is_missing(
    runner_app: typer.Typer, tmp_path: Path
) -> None:
    message = write_pair(tmp_path, message="aapl-messages.csv", book=None)
    out = tmp_path / "events.parquet"
    _, _, error = run_map(runner_app, message, "--date", "2012-06-21", "--out", str(out))
    assert isinstance(error, ValueError)
    assert "aapl-messages.csv" in str(error)
    assert "needs --instrument" in str(error)
    assert "--date" not in str(error).split("needs")[1]
    code, output, _ = run_map(
        runner_app, message, "--date", "2012-06-21", "--instrument", "AAPL", "--out", str(out)
    )
    assert code == 0, output
    assert pq.read_table(out)["instrument_id"][0].as_py() == "AAPL"


def test_an_order_book_file_is_not_mapped_as_messages(
    runner_app: typer.Typer, tmp_path: Path
) -> None:
    write_pair(tmp_path)
    _, _, error = run_map(runner_app, tmp_path / BOOK, "--out", str(tmp_path / "events.parquet"))
    assert isinstance(error, ValueError)
    assert f"{BOOK} is a LOBSTER order-book file" in str(error)
    assert MESSAGE in str(error)
