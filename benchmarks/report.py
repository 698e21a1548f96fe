"""What every benchmark prints: a Markdown table with the machine it ran on."""

from __future__ import annotations

import os
import platform
import resource
import sys
from pathlib import Path


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB.

    Linux's own high-water mark where there is one: `ru_maxrss` survives exec, so a
    process spawned by a large one reports its parent's size.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_table(rows: list[tuple[str, str]]) -> None:
    """The machine, then a `| what | measured |` table, for docs/PERFORMANCE.md."""
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print("| what | measured |")
    print("|---|---|")
    for what, value in rows:
        print(f"| {what} | {value} |")
