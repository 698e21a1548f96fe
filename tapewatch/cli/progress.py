"""Rich progress bars with an events-per-second column, silenced by --quiet."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    """Events per second of a task."""

    def render(self, task: Task) -> Text:
        """The task's speed in events/s."""
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} ev/s" if speed else "– ev/s", style="cyan")


@contextmanager
def progress_bar(
    console: Console, description: str, total: int | None, *, quiet: bool
) -> Iterator[Callable[[int], None]]:
    """A progress bar for one stage; yields a callback taking the events just done."""
    if quiet:
        yield lambda n: None
        return
    with Progress(
        TextColumn("[bold]{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)
