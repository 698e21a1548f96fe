"""The FastAPI application: the JSON API, /metrics, /health and the web pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from tapewatch.api import routes, web
from tapewatch.api.service import Service, ServiceSettings, session_secret

STATIC = Path(__file__).with_name("static")


def create_app(settings: ServiceSettings | None = None, service: Service | None = None) -> FastAPI:
    """The service's app, on the store and model the settings name."""
    settings = settings or ServiceSettings()
    svc = service or Service.open(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        svc.close()

    app = FastAPI(
        title="tapewatch",
        summary="Market-abuse surveillance: score events, review alerts, keep the audit trail.",
        version="1",
        lifespan=lifespan,
    )
    app.state.service = svc
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings),
        session_cookie="tapewatch_session",
        max_age=settings.session_max_age_s,
        same_site="strict",
        https_only=False,
    )
    app.include_router(routes.api)
    app.include_router(routes.ops)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
