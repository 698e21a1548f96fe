"""Who a request acts as: an API key in `X-API-Key` (or `Authorization: Bearer`), or the
signed session cookie the web UI sets at login; and what their role lets them do."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from tapewatch.api.service import Service
from tapewatch.store.models import Role, User
from tapewatch.store.users import Principal

API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key")
BEARER = HTTPBearer(auto_error=False, description="An API key as a bearer token")
SESSION_USER = "user"


# the dependencies are async: FastAPI runs a sync dependency on its thread pool, a hop
# through AnyIO that costs more than the check; store reads go to the pool themselves
async def service(request: Request) -> Service:
    """The service of this app."""
    return service_of(request)


async def principal(
    request: Request,
    api_key: Annotated[str | None, Depends(API_KEY)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> Principal:
    """The caller, from a key or the session; 401 without either."""
    svc = service_of(request)
    key = api_key or (bearer.credentials if bearer is not None else None)
    if key:
        # a key verified a moment ago is answered on the event loop; only a store read
        # goes to the thread pool
        found = svc.known_key(key)
        if found is None:
            found = await run_in_threadpool(svc.authenticate, key)
        if found is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown or revoked API key")
        return found
    session = request.scope.get("session") or {}
    if session.get(SESSION_USER):
        # the role is read afresh: a user removed or demoted since login loses access
        name = str(session[SESSION_USER])
        role = await run_in_threadpool(_role_of, svc, name)
        if role is not None:
            return Principal(name, role)
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "an API key is needed (X-API-Key header), or log in",
        headers={"WWW-Authenticate": "Bearer"},
    )


def _role_of(svc: Service, name: str) -> Role | None:
    with svc.engine.connect() as connection:
        role = connection.execute(
            sa.select(User.role).where(User.name == name)
        ).scalar_one_or_none()
    return None if role is None else Role(role)


def service_of(request: Request) -> Service:
    """The service of this app (to call directly; `service` is the dependency)."""
    found: Service = request.app.state.service
    return found


def require(role: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets through callers whose role covers `role` (403 otherwise)."""

    async def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if not who.may(role):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"this needs the {role.value} role; {who.name} is a {who.role.value}",
            )
        return who

    return check


VIEWER = Depends(require(Role.VIEWER))
ANALYST = Depends(require(Role.ANALYST))
ADMIN = Depends(require(Role.ADMIN))
