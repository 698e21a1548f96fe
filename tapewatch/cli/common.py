"""Options and helpers shared by the commands."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tapewatch.learn.registry import ModelBundle, load_model

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]
DeadLetterDir = Annotated[
    Path,
    typer.Option(help="Where rejected rows go, one JSON line each with line, field and reason."),
]
DEFAULT_DEADLETTER = Path("tapewatch-data/deadletter")
Explain = Annotated[
    str | None,
    typer.Option(
        help="Alert explanations: 'treeshap' (exact) or 'saabas' (cheaper); default: the model's."
    ),
]


Db = Annotated[
    str,
    typer.Option(
        "--db",
        help="The store: a SQLite file or a database URL (postgresql+psycopg://user@host/db).",
    ),
]
DEFAULT_DB = "tapewatch-data/tapewatch.db"


def load_bundle(model_dir: Path, explain: str | None = None) -> ModelBundle:
    """A model directory, with its explanation method overridden if asked."""
    bundle = load_model(model_dir)
    if explain is not None:
        bundle = replace(bundle, scoring=replace(bundle.scoring, explanation=explain))
    return bundle


def console() -> Console:
    """The console commands print to."""
    return Console(highlight=False)
