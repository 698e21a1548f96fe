"""`tapewatch serve`, `tapewatch users` and `tapewatch audit-log`: the analysts'
workbench, its keys and its audit trail."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tapewatch.cli.common import DEFAULT_DB, DEFAULT_LAKE, Db, Lake, console
from tapewatch.store.policy import RETENTION_YEARS, Role

users = typer.Typer(help="Users and their API keys.", no_args_is_help=True)
audit_log = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


def serve(
    db: Db = str(DEFAULT_DB),
    model: Annotated[
        Path | None,
        typer.Option(help="Model directory to score with; default: the store's active model."),
    ] = None,
    lake: Lake = DEFAULT_LAKE,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the API (/api/v1, OpenAPI at /docs), /metrics and the web workbench."""
    import uvicorn

    from tapewatch.api.app import create_app
    from tapewatch.api.service import ServiceSettings
    from tapewatch.engine.heap import freeze_loaded

    app = create_app(ServiceSettings(db=db, lake=lake, model_dir=model))
    app.state.service.prepare()
    freeze_loaded()
    console().print(f"tapewatch workbench on http://{host}:{port} (log in with an API key)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


@users.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The user's name.")],
    role: Annotated[Role, typer.Option(help="What the user may do.")] = Role.ANALYST,
    db: Db = str(DEFAULT_DB),
) -> None:
    """Create a user (or give one a new role) and print a new API key, shown only once."""
    from tapewatch.store.database import open_engine
    from tapewatch.store.users import add_user

    key = add_user(open_engine(db), name, role)
    console().print(f"user {name} ({role.value}); API key (shown once, keep it safe):")
    typer.echo(key)


@users.command("list")
def users_list(db: Db = str(DEFAULT_DB)) -> None:
    """Users, their roles and how many live keys each has."""
    from tapewatch.store.database import open_engine
    from tapewatch.store.users import list_users

    for name, role, keys in list_users(open_engine(db)):
        console().print(f"{name}\t{role}\t{keys} key(s)")


@users.command("revoke")
def users_revoke(
    name: Annotated[str, typer.Argument(help="The user whose keys to revoke.")],
    db: Db = str(DEFAULT_DB),
) -> None:
    """Revoke every API key of a user."""
    from tapewatch.store.database import open_engine
    from tapewatch.store.users import revoke_keys

    n = revoke_keys(open_engine(db), name)
    console().print(f"revoked {n} key(s) of {name}")


@audit_log.command("verify")
def audit_verify(db: Db = str(DEFAULT_DB)) -> None:
    """Check the hash chain: exit 1 and name the first edited or deleted entry if broken."""
    from tapewatch.store.audit import verify
    from tapewatch.store.database import open_engine

    result = verify(open_engine(db))
    out = console()
    if not result.ok:
        out.print(f"[bold red]audit log broken at entry {result.broken_at}:[/] {result.reason}")
        raise typer.Exit(1)
    out.print(
        f"audit log intact: {result.checked:,} entries"
        + (f" ({result.first_seq}..{result.last_seq})" if result.checked else "")
        + f"; head {result.head_hash}"
    )


@audit_log.command("prune")
def audit_prune(
    keep_years: Annotated[
        int, typer.Option(help=f"Keep this many years (at least {RETENTION_YEARS}, as MAR asks).")
    ] = RETENTION_YEARS,
    db: Db = str(DEFAULT_DB),
) -> None:
    """Delete entries older than the retention period; the deletion is itself recorded."""
    from tapewatch.store.audit import prune
    from tapewatch.store.database import open_engine

    n = prune(open_engine(db), "cli", keep_years)
    console().print(f"deleted {n:,} entries older than {keep_years} years")
