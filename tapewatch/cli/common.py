"""Options and helpers shared by the commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]
DeadLetterDir = Annotated[
    Path,
    typer.Option(help="Where rejected rows go, one JSON line each with line, field and reason."),
]
DEFAULT_DEADLETTER = Path("tapewatch-data/deadletter")


def console() -> Console:
    """The console commands print to."""
    return Console(highlight=False)
