"""The web pages, server-rendered with Jinja2 and updated with htmx: login, the dashboard,
the alert list, one alert with its review form, and the review queue. Pages need a
logged-in session; without one they send the browser to /login."""

from __future__ import annotations

import datetime as dt
import math
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, status
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from tapewatch.api import charts
from tapewatch.api.auth import SESSION_USER, principal, service_of
from tapewatch.api.queries import alert_detail, parse_time
from tapewatch.api.service import NoModelError, Service
from tapewatch.detect.decision import risk_bands, risk_level
from tapewatch.schema.enums import ManipulationType
from tapewatch.store.audit import append
from tapewatch.store.cases import (
    AlertFilter,
    NotFoundError,
    Review,
    alert_rows,
    get_alert,
    list_alerts,
    next_unreviewed,
    open_cases,
    overview,
    review,
    severity_over_time,
)
from tapewatch.store.models import CaseStatus, Role
from tapewatch.store.users import Principal

router = APIRouter(include_in_schema=False)
TEMPLATES = Jinja2Templates(directory=Path(__file__).with_name("templates"))
PLOTLY_JS = Path(str(files("plotly").joinpath("package_data", "plotly.min.js")))
PLOTLY_VERSION = version("plotly")
PAGE_SIZE = 50
QUEUE_SIZE = 50
FILTERS = ("typology", "instrument_id", "trader_id", "min_score", "status", "since", "until")
TYPOLOGIES = [t.value for t in ManipulationType]
STATUSES = [s.value for s in CaseStatus]


def when(value: int | str | None) -> str:
    """A time (µs since the epoch, or ISO 8601) as `YYYY-MM-DD HH:MM:SS.mmm` UTC."""
    if value is None or value == "":
        return "—"
    us = value if isinstance(value, int) else parse_time(value)
    stamp = dt.datetime.fromtimestamp((us or 0) / 1e6, dt.UTC)
    return stamp.strftime("%Y-%m-%d %H:%M:%S.%f")[:23]


def number(value: float | None, digits: int = 2) -> str:
    """A number for people; a dash when unknown."""
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:,.{digits}f}"


TEMPLATES.env.filters["when"] = when
TEMPLATES.env.filters["number"] = number
TEMPLATES.env.globals["typology_colours"] = charts.TYPOLOGY_COLOURS


# --- who is asking ---------------------------------------------------------------------


async def page_user(request: Request) -> Principal:
    """The logged-in user; a browser without a session is sent to the login page."""
    try:
        return await principal(request, None, None)
    except HTTPException:
        target = "/login?" + urlencode({"next": _here(request)})
        if request.headers.get("HX-Request"):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "log in", headers={"HX-Redirect": target}
            ) from None
        raise HTTPException(
            status.HTTP_303_SEE_OTHER, "log in", headers={"Location": target}
        ) from None


PageUser = Annotated[Principal, Depends(page_user)]


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _safe_next(target: str) -> str:
    """A same-site path to return to after login (anything else: the dashboard)."""
    ok = target.startswith("/") and not target.startswith("//") and "\\" not in target
    return target if ok else "/"


def _page(
    request: Request, name: str, who: Principal | None, code: int = 200, **context: Any
) -> HTMLResponse:
    svc = service_of(request)
    model = svc.model() if who is not None else None
    context.update(who=who, model=model, plotly_version=PLOTLY_VERSION)
    return TEMPLATES.TemplateResponse(request, name, context, status_code=code)


def _threshold(svc: Service) -> float | None:
    try:
        return svc.threshold()
    except (NoModelError, OSError):
        return None


def _is_fragment(request: Request) -> bool:
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )


# --- login -----------------------------------------------------------------------------


@router.post("/login")
def login(
    request: Request,
    api_key: Annotated[str, Form()],
    then: Annotated[str, Form(alias="next")] = "/",
) -> RedirectResponse:
    """Log in with an API key: the session cookie then stands for it."""
    who = service_of(request).authenticate(api_key.strip())
    if who is None:
        query = urlencode({"failed": 1, "next": _safe_next(then)})
        return RedirectResponse(f"/login?{query}", status_code=303)
    request.session[SESSION_USER] = who.name
    append(service_of(request).engine, who.name, "user.login", who.name, {"via": "web"})
    return RedirectResponse(_safe_next(then), status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, failed: int = 0, then: Annotated[str, Query(alias="next")] = "/"
) -> HTMLResponse:
    """The login form."""
    return _page(request, "login.html", None, failed=bool(failed), next=_safe_next(then))


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    """End the session."""
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


# --- dashboard -------------------------------------------------------------------------


def severity_bands(threshold: float | None) -> list[tuple[str, float]]:
    """Severity names and the lowest score of each, most urgent first: the risk levels
    against the alert threshold, or fixed score bands without a model."""
    if threshold is None:
        return [("score ≥ 0.95", 0.95), ("0.8–0.95", 0.8), ("0.5–0.8", 0.5), ("< 0.5", 0.0)]
    return [(level.value, low) for level, low in risk_bands(threshold)]


def _live(svc: Service) -> dict[str, float | int | None]:
    m = svc.metrics
    return {
        "events": m.events,
        "flagged": m.flagged,
        "alerts": m.alerts,
        "flag_rate": m.flagged / m.events if m.events else None,
        "rate": m.rate(),
        "p50": m.percentile_ms(50),
        "p99": m.percentile_ms(99),
    }


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, who: PageUser) -> HTMLResponse:
    """Alerts over time by typology and severity, the live scoring figures, the riskiest
    instruments and the model in use."""
    svc = service_of(request)
    threshold = _threshold(svc)
    bands = severity_bands(threshold)
    names = [name for name, _ in reversed(bands)]
    colours = dict(zip(names, charts.SEVERITY_COLOURS.values(), strict=True))
    summary = overview(svc.engine)
    return _page(
        request,
        "dashboard.html",
        who,
        overview=summary,
        threshold=threshold,
        live=_live(svc),
        by_typology=charts.hourly_stacked(summary.over_time, charts.TYPOLOGY_COLOURS),
        by_severity=charts.hourly_stacked(severity_over_time(svc.engine, bands), colours),
        instruments=charts.instrument_risk(summary.instruments, threshold),
    )


@router.get("/dashboard/live", response_class=HTMLResponse)
def dashboard_live(request: Request, who: PageUser) -> HTMLResponse:
    """The live scoring figures (the dashboard polls them)."""
    return _page(request, "_live.html", who, live=_live(service_of(request)))


# --- alert list ------------------------------------------------------------------------


def alert_filter(params: dict[str, str]) -> AlertFilter:
    """The list's filter from the form's fields (blank: unconstrained); ValueError with a
    message for people when a field does not parse."""
    min_score = None
    if params.get("min_score"):
        try:
            min_score = float(params["min_score"])
        except ValueError:
            raise ValueError("the minimum score must be a number") from None
        if not 0.0 <= min_score <= 1.0:
            raise ValueError("the minimum score must be between 0 and 1")
    case_status = None
    if params.get("status"):
        try:
            case_status = CaseStatus(params["status"])
        except ValueError:
            raise ValueError(f"no case status {params['status']!r}") from None
    return AlertFilter(
        params.get("typology") or None,
        params.get("instrument_id") or None,
        params.get("trader_id") or None,
        min_score,
        case_status,
        parse_time(params.get("since")),
        parse_time(params.get("until")),
    )


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request, who: PageUser, cursor: Annotated[str | None, Query()] = None
) -> HTMLResponse:
    """Alerts, newest first, filtered by the form; htmx swaps in just the table."""
    svc = service_of(request)
    params = {k: request.query_params.get(k, "").strip() for k in FILTERS}
    params = {k: v for k, v in params.items() if v}
    error, rows, next_cursor = None, [], None
    try:
        page = list_alerts(svc.engine, alert_filter(params), cursor or None, PAGE_SIZE)
        rows, next_cursor = page.items, page.next_cursor
    except ValueError as exc:
        error = str(exc)
    threshold = _threshold(svc)
    for row in rows:
        row["risk"] = None if threshold is None else risk_level(row["score"], threshold).value
    context = {
        "params": params,
        "rows": rows,
        "error": error,
        "query": urlencode(params),
        "next_cursor": next_cursor,
        "paged": bool(cursor),
        "typologies": TYPOLOGIES,
        "statuses": STATUSES,
    }
    name = "_alert_table.html" if _is_fragment(request) else "alerts.html"
    response = _page(request, name, who, code=422 if error else 200, **context)
    if name == "_alert_table.html":
        query = urlencode({**params, **({"cursor": cursor} if cursor else {})})
        response.headers["HX-Push-Url"] = "/alerts" + (f"?{query}" if query else "")
    return response


# --- one alert -------------------------------------------------------------------------


def _review_context(svc: Service, who: Principal, alert_id: str) -> dict[str, Any]:
    """What the review panel shows; NotFoundError for an unknown alert."""
    alert = get_alert(svc.engine, alert_id)
    return {
        "alert_id": alert_id,
        "status": alert["status"],
        "predicted": alert["manipulation_type"],
        "updated_by": alert["updated_by"],
        "labels": alert["labels"],
        "can_review": who.may(Role.ANALYST),
        "typologies": TYPOLOGIES,
        "statuses": STATUSES,
    }


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(request: Request, who: PageUser, alert_id: str) -> HTMLResponse:
    """One alert: the order book around it, why it was raised, the trader's other alerts,
    its review history and the review form."""
    svc = service_of(request)
    try:
        detail, timeline = alert_detail(svc, alert_id)
        panel = _review_context(svc, who, alert_id)
    except NotFoundError:
        return _page(request, "missing.html", who, code=404, alert_id=alert_id)
    threshold = _threshold(svc)
    start_us, end_us = parse_time(detail.start) or 0, parse_time(detail.end) or 0
    others = list_alerts(svc.engine, AlertFilter(trader_id=detail.trader_id), None, 11).items
    return _page(
        request,
        "alert.html",
        who,
        alert=detail,
        risk=None if threshold is None else risk_level(detail.score, threshold).value,
        threshold=threshold,
        timeline=charts.order_book(timeline, detail.trader_id, start_us, end_us),
        features=charts.contributions(detail.top_features),
        others=[o for o in others if o["alert_id"] != alert_id][:10],
        review=panel,
    )


def verdict(
    action: str,
    predicted: str,
    is_manipulation: str,
    typology: str,
    confidence: str,
    notes: str,
    case_status: str,
) -> Review:
    """The review a submitted form asks for: `confirm` (as the chosen typology, else the
    predicted one), `dismiss`, `escalate`, or `save` (the fields as they are); ValueError
    with a message for people when a field is wrong."""
    try:
        chosen = ManipulationType(typology or predicted).value
    except ValueError:
        raise ValueError(f"no typology {typology!r}") from None
    try:
        sure = float(confidence) if confidence else 0.8
        target = CaseStatus(case_status) if case_status else None
    except ValueError:
        raise ValueError("confidence must be a number, and the status one of the list") from None
    if not 0.0 <= sure <= 1.0:
        raise ValueError("confidence must be between 0 and 1")
    notes = notes.strip()
    if action == "confirm":
        kind = chosen if chosen != ManipulationType.NONE else predicted
        return Review(True, kind, sure, notes, CaseStatus.CLOSED_CONFIRMED)
    if action == "dismiss":
        return Review(False, ManipulationType.NONE.value, sure, notes, CaseStatus.CLOSED_DISMISSED)
    manipulation = is_manipulation != "no"
    if action == "escalate":
        return Review(manipulation, chosen, sure, notes, CaseStatus.ESCALATED)
    if action != "save":
        raise ValueError(f"no verdict {action!r}")
    return Review(manipulation, chosen, sure, notes, target)


@router.post("/alerts/{alert_id}/review", response_class=HTMLResponse)
def review_form(
    request: Request,
    who: PageUser,
    alert_id: str,
    action: Annotated[str, Form(alias="verdict")] = "save",
    is_manipulation: Annotated[str, Form()] = "yes",
    manipulation_type: Annotated[str, Form()] = "",
    confidence: Annotated[str, Form()] = "",
    notes: Annotated[str, Form(max_length=10_000)] = "",
    case_status: Annotated[str, Form(alias="status")] = "",
) -> Response:
    """Record the logged-in analyst's verdict on an alert (viewers get 403) and answer
    with the updated review panel."""
    svc = service_of(request)
    try:
        panel = _review_context(svc, who, alert_id)
    except NotFoundError:
        return _page(request, "missing.html", who, code=404, alert_id=alert_id)
    code, message = 200, None
    if not who.may(Role.ANALYST):
        code, message = 403, f"Only analysts and admins review alerts; {who.name} is a viewer."
    else:
        fields = (is_manipulation, manipulation_type, confidence, notes, case_status)
        try:
            given = verdict(action, panel["predicted"], *fields)
        except ValueError as exc:
            code, message = 422, str(exc)
        else:
            done = review(svc.engine, alert_id, who.name, given)
            if not _is_fragment(request):
                return RedirectResponse(f"/alerts/{alert_id}", status_code=303)
            message = f"Saved: {done['status'].replace('_', ' ').lower()}."
            panel = _review_context(svc, who, alert_id)
    return _page(
        request, "_review.html", who, code=code, message=message, ok=code == 200, review=panel
    )


# --- review queue ----------------------------------------------------------------------


@router.get("/queue", response_class=HTMLResponse)
def queue_page(request: Request, who: PageUser) -> HTMLResponse:
    """The open alerts to review, highest score first."""
    svc = service_of(request)
    rows = alert_rows(svc.engine, next_unreviewed(svc.engine, None, QUEUE_SIZE))
    threshold = _threshold(svc)
    for row in rows:
        row["risk"] = None if threshold is None else risk_level(row["score"], threshold).value
    waiting = open_cases(svc.engine)
    return _page(request, "queue.html", who, rows=rows, waiting=waiting)


@router.get("/queue/next")
def queue_next(request: Request, _who: PageUser, after: str | None = None) -> RedirectResponse:
    """The next open alert in review order after `after` (the queue when none is left)."""
    found = next_unreviewed(service_of(request).engine, after, 1)
    return RedirectResponse(f"/alerts/{found[0]}" if found else "/queue", status_code=303)


# --- scripts ---------------------------------------------------------------------------


@router.get("/assets/plotly.min.js")
def plotly_js() -> FileResponse:
    """Plotly's JavaScript, from the Python package (no CDN); cached for a year."""
    return FileResponse(
        PLOTLY_JS,
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )
