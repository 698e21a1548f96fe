"""Options and helpers shared by the commands.

A command module imports only typer, rich and light constants at the top; what a command
runs is imported inside it, so `tapewatch --help` and each command load only what they use.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from tapewatch.store.paths import DEFAULT_DB, DEFAULT_DEADLETTER, DEFAULT_LAKE

if TYPE_CHECKING:
    from tapewatch.learn.registry import ModelBundle
    from tapewatch.store.alerts import AlertStore

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]
DeadLetterDir = Annotated[
    Path,
    typer.Option(help="Where rejected rows go, one JSON line each with line, field and reason."),
]
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
        help="The store of alerts, cases, users and model versions: a SQLite file or a "
        "database URL (postgresql+psycopg://user@host/db).",
    ),
]
Lake = Annotated[Path, typer.Option(help="The scored-event lake (Parquet by date and instrument).")]

__all__ = [
    "DEFAULT_DB",
    "DEFAULT_DEADLETTER",
    "DEFAULT_LAKE",
    "Db",
    "DeadLetterDir",
    "Explain",
    "Lake",
    "Quiet",
    "console",
    "load_bundle",
    "open_store",
]


def load_bundle(model_dir: Path, explain: str | None = None) -> ModelBundle:
    """A model directory, with its explanation method overridden if asked."""
    from tapewatch.learn.registry import load_model

    bundle = load_model(model_dir)
    if explain is not None:
        bundle = replace(bundle, scoring=replace(bundle.scoring, explanation=explain))
    return bundle


def open_store(db: str, bundle: ModelBundle, model_dir: Path) -> AlertStore:
    """The alert store, with the model registered as a version (the first one registered is
    the workbench's active model), so `tapewatch serve` finds what was scored."""
    from tapewatch.store.alerts import AlertStore
    from tapewatch.store.versions import register_model

    store = AlertStore(db)
    register_model(
        store.engine,
        bundle.version,
        str(model_dir.resolve()),
        bundle.config_hash,
        bundle.test_metrics,
    )
    return store


def console() -> Console:
    """The console commands print to."""
    return Console(highlight=False)
