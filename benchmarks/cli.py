"""The command line as a user times it (make bench): whole processes, imports included.

1. `tapewatch --help`.
2. `tapewatch score` of 2,000 events.
3. `tapewatch score` of a default generated 1,000,000-event day on one core
   (`taskset -c 0`), alerts explained as by default: events per second of the whole run.

Each is the median of a few runs. Prints a Markdown table for docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
from demo_model import demo_model_dir
from report import print_table

#: the script `make install` puts beside this interpreter, as a user runs it
TAPEWATCH = [str(Path(sys.executable).with_name("tapewatch"))]


def timed(args: list[str], cwd: Path, *, one_core: bool = False) -> tuple[float, str]:
    """Wall-clock seconds of one whole command, and what it printed."""
    pin = ["taskset", "-c", str(min(os.sched_getaffinity(0)))] if one_core else []
    t = time.perf_counter()
    done = subprocess.run(
        [*pin, *TAPEWATCH, *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"tapewatch {' '.join(args)} failed:\n{done.stderr}")
    return elapsed, done.stdout


def median_of(runs: int, args: list[str], cwd: Path, *, one_core: bool = False) -> float:
    """The median wall-clock seconds of `runs` runs."""
    return statistics.median(timed(args, cwd, one_core=one_core)[0] for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="runs of each short command")
    parser.add_argument("--day-runs", type=int, default=3, help="runs of the 1,000,000-event day")
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    if shutil.which("taskset") is None:
        raise SystemExit("taskset is missing (util-linux)")
    model = demo_model_dir(1_000_000).resolve()
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        help_s = median_of(args.runs, ["--help"], work)
        rows.append(("`tapewatch --help` (target <= 0.5 s)", f"{help_s:.2f} s"))

        timed(["generate", "--events", str(args.events), "--seed", "11", "--out", "day.parquet",
               "--quiet"], work)  # fmt: skip
        day = pq.read_table(work / "day.parquet")
        pq.write_table(day.slice(0, 2_000), work / "small.parquet")
        score = ["score", "--model", str(model), "--quiet"]
        small_s = median_of(
            args.runs,
            [*score, "small.parquet", "--out", "s.parquet", "--alerts", "a.parquet"],
            work,
        )
        rows.append(("`tapewatch score` of 2,000 events (target <= 2 s)", f"{small_s:.2f} s"))

        day_args = [*score, "day.parquet", "--out", "scores.parquet", "--alerts", "alerts.parquet"]
        runs = [timed(day_args, work, one_core=True) for _ in range(args.day_runs)]
        day_s = statistics.median(s for s, _ in runs)
        alerts = re.search(r"([\d,]+) alerts", " ".join(runs[0][1].split()))
        rows.append(
            (
                f"`taskset -c 0 tapewatch score` of a default day, {day.num_rows:,} events, "
                f"{alerts.group(1) if alerts else '?'} alerts explained (TreeSHAP) "
                "(target >= 100,000 events/s)",
                f"{day.num_rows / day_s:,.0f} events/s ({day_s:.1f} s)",
            )
        )
    print_table(rows)


if __name__ == "__main__":
    main()
