"""The web pages (server-rendered with Jinja2 and htmx): login and logout so far."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tapewatch.api.auth import SESSION_USER, service
from tapewatch.store.audit import append
from tapewatch.store.users import authenticate

router = APIRouter(include_in_schema=False)


@router.post("/login")
def login(request: Request, api_key: str = Form(...)) -> RedirectResponse:
    """Log in with an API key: the session cookie then stands for it."""
    who = authenticate(service(request).engine, api_key.strip())
    if who is None:
        return RedirectResponse("/login?failed=1", status_code=303)
    request.session[SESSION_USER] = who.name
    append(service(request).engine, who.name, "user.login", who.name, {"via": "web"})
    return RedirectResponse("/", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(failed: int = 0) -> str:
    """The login form."""
    note = "<p>That key is not valid.</p>" if failed else ""
    return (
        "<!doctype html><title>tapewatch login</title>"
        f"{note}<form method=post action=/login><input name=api_key type=password>"
        "<button>log in</button></form>"
    )


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    """End the session."""
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
