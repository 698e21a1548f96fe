"""The `tapewatch` command line: each command says what it reads and writes."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from tapewatch.cli import audit, demo, evaluate, generate, queue, score, serve, stream, train
from tapewatch.cli import map as map_cmd
from tapewatch.errors import UserError

app = typer.Typer(
    name="tapewatch",
    help="Market-abuse surveillance: generate labelled markets, train, score, evaluate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("generate")(generate.generate)
app.command("train")(train.train)
app.command("score")(score.score)
app.command("evaluate")(evaluate.evaluate_command)
app.command("demo")(demo.demo)
app.command("audit")(audit.audit)
app.command("map")(map_cmd.map_command)
app.command("queue")(queue.queue)
app.command("stream")(stream.stream)
app.command("publish")(stream.publish_command)
app.command("serve")(serve.serve)
app.add_typer(serve.users, name="users")
app.add_typer(serve.audit_log, name="audit-log")

#: errors a user can fix: one clear line, exit code 2, no traceback
USER_ERRORS = (UserError, FileNotFoundError, ValueError)


def main() -> None:
    """Entry point of the `tapewatch` script."""
    try:
        app()
    except USER_ERRORS as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
