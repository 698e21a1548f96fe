"""The web pages as the server renders them (FastAPI's TestClient, no browser): login and its
redirects, the dashboard, the alert list's filters and pages, the alert page's charts, the
review form and who may use it, the queue; and the chart builders on small tables."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from workbench import Workbench, copy_store

from tapewatch.api import charts
from tapewatch.api.app import create_app
from tapewatch.api.service import Service, ServiceSettings
from tapewatch.api.web import severity_bands, verdict
from tapewatch.detect.decision import risk_level
from tapewatch.store.cases import get_alert
from tapewatch.store.lake import ScoredLake
from tapewatch.store.models import AlertRecord, Case, CaseStatus, ModelVersion, Role

FIGURE = re.compile(r'<script type="application/json" id="([\w-]+)-figure">(.*?)</script>', re.S)
ROW_ID = re.compile(r'<td><a href="/alerts/(AL-[\w-]+)">')


def figures(html: str) -> dict[str, dict]:
    """The Plotly figures a page embeds, by chart id."""
    return {name: json.loads(body) for name, body in FIGURE.findall(html)}


def open_app(db: str, lake: Path) -> FastAPI:
    return create_app(ServiceSettings(db=db, lake=lake, model_dir=None))


def close_app(app: FastAPI) -> None:
    svc: Service = app.state.service
    svc.close()


def logged_in(app: FastAPI, key: str) -> TestClient:
    client = TestClient(app)
    response = client.post("/login", data={"api_key": key}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


@pytest.fixture(scope="module")
def app(workbench: Workbench, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    made = open_app(copy_store(workbench.db, tmp_path_factory.mktemp("web")), workbench.lake)
    yield made
    close_app(made)


@pytest.fixture(scope="module")
def analyst(app: FastAPI, workbench: Workbench) -> TestClient:
    return logged_in(app, workbench.keys[Role.ANALYST])


@pytest.fixture(scope="module")
def viewer(app: FastAPI, workbench: Workbench) -> TestClient:
    return logged_in(app, workbench.keys[Role.VIEWER])


def alert_ids(workbench: Workbench) -> list[str]:
    return workbench.alerts.column("alert_id").to_pylist()


# --- login ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/alerts?typology=SPOOFING", "/queue", "/alerts/AL-x"])
def test_pages_send_a_browser_without_a_session_to_login(app: FastAPI, path: str) -> None:
    anonymous = TestClient(app)
    response = anonymous.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
    assert anonymous.get(response.headers["location"]).status_code == 200
    # htmx follows redirects inside the page; it is told to load the login page instead
    fragment = anonymous.get(path, headers={"HX-Request": "true"}, follow_redirects=False)
    assert fragment.status_code == 401
    assert fragment.headers["HX-Redirect"].startswith("/login?next=")


def test_the_api_keeps_answering_401_without_a_key(app: FastAPI) -> None:
    response = TestClient(app).get("/api/v1/alerts", follow_redirects=False)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")


def test_login_with_a_wrong_key_fails_and_says_so(app: FastAPI) -> None:
    client = TestClient(app)
    page = client.get("/login")
    assert page.status_code == 200
    assert 'name="api_key"' in page.text
    assert 'type="password"' in page.text
    response = client.post("/login", data={"api_key": "tw_nope_nope", "next": "/queue"})
    assert response.url.path == "/login"
    assert "not valid" in response.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_returns_to_the_page_asked_for_and_only_on_this_site(
    app: FastAPI, workbench: Workbench
) -> None:
    key = workbench.keys[Role.ANALYST]
    client = TestClient(app)
    back = client.post("/login", data={"api_key": key, "next": "/queue"}, follow_redirects=False)
    assert back.headers["location"] == "/queue"
    for elsewhere in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        data = {"api_key": key, "next": elsewhere}
        response = client.post("/login", data=data, follow_redirects=False)
        assert response.headers["location"] == "/"


def test_logout_ends_the_session(app: FastAPI, workbench: Workbench) -> None:
    client = logged_in(app, workbench.keys[Role.VIEWER])
    assert client.get("/").status_code == 200
    assert 'action="/logout"' in client.get("/").text
    client.post("/logout")
    assert client.get("/", follow_redirects=False).status_code == 303


# --- dashboard -----------------------------------------------------------------------------


def test_dashboard_shows_the_model_the_live_figures_and_the_charts(
    analyst: TestClient, app: FastAPI, workbench: Workbench
) -> None:
    svc: Service = app.state.service
    model = svc.model()
    assert model is not None
    page = analyst.get("/")
    assert page.status_code == 200
    assert model.version in page.text
    assert "events / s" in page.text
    assert "flag rate" in page.text
    assert "latency p99" in page.text
    figs = figures(page.text)
    assert set(figs) == {"by-typology", "by-severity", "instruments"}
    total = workbench.alerts.num_rows
    for name in ("by-typology", "by-severity"):
        assert sum(sum(trace["y"]) for trace in figs[name]["data"]) == total
    typologies = set(workbench.alerts.column("manipulation_type").to_pylist())
    assert {t["name"] for t in figs["by-typology"]["data"]} == {charts.label(t) for t in typologies}
    threshold = svc.threshold()
    levels = [risk_level(s, threshold).value for s in workbench.alerts.column("score").to_pylist()]
    shown = {t["name"]: sum(t["y"]) for t in figs["by-severity"]["data"]}
    assert shown == {charts.label(level): levels.count(level) for level in set(levels)}
    ranked = figs["instruments"]["data"][0]
    assert ranked["x"] == sorted(ranked["x"], reverse=True)
    assert set(ranked["y"]) <= set(workbench.alerts.column("instrument_id").to_pylist())
    # the scripts are the service's own: no CDN
    sources = re.findall(r'<script[^>]* src="([^"]+)"', page.text)
    assert sources
    assert all(s.startswith("/") for s in sources)


def test_live_figures_refresh_as_a_fragment(analyst: TestClient) -> None:
    fragment = analyst.get("/dashboard/live", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert 'hx-trigger="every 5s"' in fragment.text


def test_plotly_comes_from_the_python_package_with_a_long_cache(analyst: TestClient) -> None:
    response = analyst.get("/assets/plotly.min.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "max-age=31536000" in response.headers["cache-control"]
    assert "plotly.js" in response.text[:200]
    assert analyst.get("/static/tapewatch.js").status_code == 200
    assert analyst.get("/static/tapewatch.css").status_code == 200


# --- alert list ----------------------------------------------------------------------------


def test_alert_list_pages_through_every_alert_newest_first(
    analyst: TestClient, workbench: Workbench
) -> None:
    seen: list[str] = []
    url: str | None = "/alerts"
    while url is not None:
        page = analyst.get(url, headers={"HX-Request": "true"} if seen else {})
        assert page.status_code == 200
        assert ("<html" in page.text) is (not seen)  # htmx gets just the table
        seen += ROW_ID.findall(page.text)
        found = re.search(r'rel="next" href="([^"]+)"', page.text)
        url = found.group(1).replace("&amp;", "&") if found else None
        if url is not None:
            assert page.headers.get("HX-Push-Url", "/alerts").startswith("/alerts")
    assert len(seen) == len(set(seen)) == workbench.alerts.num_rows
    assert set(seen) == set(alert_ids(workbench))
    starts = dict(
        zip(alert_ids(workbench), workbench.alerts.column("start").to_pylist(), strict=True)
    )
    order = [starts[a] for a in seen]
    assert order == sorted(order, reverse=True)


def test_alert_list_filters(analyst: TestClient, workbench: Workbench) -> None:
    alerts = workbench.alerts.to_pylist()
    some = alerts[len(alerts) // 2]
    cases = {
        "typology": lambda a, v: a["manipulation_type"] == v,
        "trader_id": lambda a, v: a["trader_id"] == v,
        "instrument_id": lambda a, v: a["instrument_id"] == v,
    }
    for field, keep in cases.items():
        value = some["manipulation_type" if field == "typology" else field]
        page = analyst.get("/alerts", params={field: value}, headers={"HX-Request": "true"})
        expected = {a["alert_id"] for a in alerts if keep(a, value)}
        shown = set(ROW_ID.findall(page.text))
        assert shown
        assert shown <= expected
        assert len(shown) == min(len(expected), 50)
    high = analyst.get("/alerts", params={"min_score": "0.995"})
    assert set(ROW_ID.findall(high.text)) <= {a["alert_id"] for a in alerts if a["score"] >= 0.995}
    start = some["start"]
    window = {
        "since": (start - dt.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S"),
        "until": start.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    timed = set(ROW_ID.findall(analyst.get("/alerts", params=window).text))
    since, until = start - dt.timedelta(minutes=10), start.replace(microsecond=0)
    assert timed == {a["alert_id"] for a in alerts if since <= a["start"] < until}
    # the form's blank fields are no constraint
    blank = dict.fromkeys(("typology", "trader_id", "min_score", "status", "since", "until"), "")
    assert len(ROW_ID.findall(analyst.get("/alerts", params=blank).text)) == 50
    closed = analyst.get("/alerts", params={"status": "CLOSED_DISMISSED", "trader_id": "none"})
    assert ROW_ID.findall(closed.text) == []
    assert "No alerts match" in closed.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"min_score": "high"}, "must be a number"),
        ({"min_score": "2"}, "between 0 and 1"),
        ({"status": "DONE"}, "no case status"),
        ({"since": "yesterday"}, "not an ISO 8601 time"),
        ({"cursor": "garbage"}, "not a cursor"),
    ],
)
def test_alert_list_says_what_is_wrong_with_a_filter(
    analyst: TestClient, params: dict[str, str], message: str
) -> None:
    response = analyst.get("/alerts", params=params, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert message in response.text


# --- one alert -----------------------------------------------------------------------------


def busy_alert(workbench: Workbench) -> tuple[dict, pa.Table]:
    """An alert whose trader placed, cancelled and filled orders around it, and the trader's
    events in its timeline."""
    lake = ScoredLake(workbench.lake)
    for alert in workbench.alerts.to_pylist():
        start = int(alert["start"].timestamp() * 1e6)
        end = int(alert["end"].timestamp() * 1e6)
        window = lake.window(alert["instrument_id"], start - 120_000_000, end + 120_000_000)
        mine = window.filter(pc.equal(window.column("trader_id"), alert["trader_id"]))
        if {"NEW", "CANCELLED", "EXECUTED"} <= set(mine.column("order_status").to_pylist()):
            return alert, mine
    raise AssertionError("no alert in the workbench with placed, cancelled and filled orders")


def test_alert_page_charts_the_traders_orders_around_the_alert(
    analyst: TestClient, workbench: Workbench
) -> None:
    alert, mine = busy_alert(workbench)
    page = analyst.get(f"/alerts/{alert['alert_id']}")
    assert page.status_code == 200
    figs = figures(page.text)
    timeline = figs["timeline"]
    names = [t["name"] for t in timeline["data"]]
    assert names[:3] == ["best bid", "best ask", "trade price"]
    markers = {t["name"]: t for t in timeline["data"][3:]}
    statuses = mine.column("order_status").to_pylist()
    sides = mine.column("side").to_pylist()
    for status, verb in (("NEW", "placed"), ("CANCELLED", "cancelled"), ("EXECUTED", "filled")):
        for side in ("BUY", "SELL"):
            n = sum(1 for s, d in zip(statuses, sides, strict=True) if (s, d) == (status, side))
            trace = markers.get(f"{verb} {side.lower()}")
            assert (0 if trace is None else len(trace["x"])) == n
            if trace is not None:
                assert trace["marker"]["color"] == charts.SIDE_COLOURS[side]
    orders = set(mine.column("order_id").to_pylist())
    assert {c[0] for t in markers.values() for c in t["customdata"]} <= orders
    assert timeline["layout"]["shapes"][0]["type"] == "rect"
    # why: the explanation and a bar per top feature
    detail = get_alert_detail(analyst, alert["alert_id"])
    assert detail["explanation"].split(":")[0] in page.text
    bars = sum(len(t["y"]) for t in figs["features"]["data"])
    assert bars == len(detail["top_features"]) > 0
    # the trader's other alerts, and the review form with the predicted typology chosen
    others = set(ROW_ID.findall(page.text)) | set(
        re.findall(r'href="/alerts/(AL-[\w-]+)"', page.text)
    )
    theirs = {
        a["alert_id"] for a in workbench.alerts.to_pylist() if a["trader_id"] == alert["trader_id"]
    }
    assert (others & theirs) - {alert["alert_id"]} or len(theirs) == 1
    assert f'value="{alert["manipulation_type"]}" selected' in page.text
    assert 'data-key="c"' in page.text


def get_alert_detail(client: TestClient, alert_id: str) -> dict:
    response = client.get(f"/api/v1/alerts/{alert_id}")
    assert response.status_code == 200
    return response.json()


def test_an_unknown_alert_is_a_404_page(analyst: TestClient) -> None:
    response = analyst.get("/alerts/AL-0000000000000000")
    assert response.status_code == 404
    assert "No alert AL-0000000000000000" in response.text


# --- reviewing -----------------------------------------------------------------------------


def test_analyst_reviews_through_the_form(
    analyst: TestClient, app: FastAPI, workbench: Workbench
) -> None:
    ids = alert_ids(workbench)
    svc: Service = app.state.service
    htmx = {"HX-Request": "true"}
    confirm, dismiss, escalate, save = ids[3], ids[4], ids[5], ids[6]
    predicted = get_alert(svc.engine, confirm)["manipulation_type"]
    done = analyst.post(
        f"/alerts/{confirm}/review",
        data={"verdict": "confirm", "manipulation_type": "", "confidence": "0.9", "notes": "clear"},
        headers=htmx,
    )
    assert done.status_code == 200
    assert "<html" not in done.text
    assert "Saved: closed confirmed" in done.text
    assert 'hx-swap-oob="true"' in done.text  # the header's status badge follows
    assert "analyst-user" in done.text
    stored = get_alert(svc.engine, confirm)
    assert stored["status"] == CaseStatus.CLOSED_CONFIRMED
    label = stored["labels"][0]
    assert (label["is_manipulation"], label["manipulation_type"]) == (True, predicted)
    assert (label["confidence"], label["notes"], label["labelled_by"]) == (
        0.9,
        "clear",
        "analyst-user",
    )

    analyst.post(f"/alerts/{dismiss}/review", data={"verdict": "dismiss"}, headers=htmx)
    stored = get_alert(svc.engine, dismiss)
    assert stored["status"] == CaseStatus.CLOSED_DISMISSED
    assert (stored["labels"][0]["is_manipulation"], stored["labels"][0]["manipulation_type"]) == (
        False,
        "NONE",
    )
    analyst.post(f"/alerts/{escalate}/review", data={"verdict": "escalate"}, headers=htmx)
    assert get_alert(svc.engine, escalate)["status"] == CaseStatus.ESCALATED

    # without htmx the form posts and the browser comes back to the alert
    form = {
        "verdict": "save",
        "is_manipulation": "yes",
        "manipulation_type": "LAYERING",
        "confidence": "0.55",
        "notes": "looking",
        "status": "UNDER_REVIEW",
    }
    plain = analyst.post(f"/alerts/{save}/review", data=form, follow_redirects=False)
    assert plain.status_code == 303
    assert plain.headers["location"] == f"/alerts/{save}"
    stored = get_alert(svc.engine, save)
    assert stored["status"] == CaseStatus.UNDER_REVIEW
    assert stored["labels"][0]["manipulation_type"] == "LAYERING"
    audit = analyst.get("/api/v1/audit", params={"target": save}).json()
    assert audit[0]["actor"] == "analyst-user"
    assert audit[0]["detail"]["status_to"] == "UNDER_REVIEW"
    # the page shows the history
    assert "looking" in analyst.get(f"/alerts/{save}").text


def test_a_bad_review_is_refused_with_a_reason(analyst: TestClient, workbench: Workbench) -> None:
    target = alert_ids(workbench)[7]
    for form, message in (
        ({"verdict": "save", "manipulation_type": "FRAUD"}, "no typology"),
        ({"verdict": "save", "confidence": "sure"}, "confidence must be a number"),
        ({"verdict": "save", "confidence": "1.5"}, "between 0 and 1"),
        ({"verdict": "maybe"}, "no verdict"),
    ):
        response = analyst.post(f"/alerts/{target}/review", data=form, headers={"HX-Request": "1"})
        assert response.status_code == 422
        assert message in response.text
    assert get_alert_detail(analyst, target)["labels"] == []
    missing = analyst.post("/alerts/AL-0000000000000000/review", data={"verdict": "dismiss"})
    assert missing.status_code == 404


def test_a_viewer_sees_the_form_disabled_and_cannot_review(
    viewer: TestClient, app: FastAPI, workbench: Workbench
) -> None:
    target = alert_ids(workbench)[8]
    page = viewer.get(f"/alerts/{target}")
    assert page.status_code == 200
    assert "<fieldset disabled>" in page.text
    refused = viewer.post(
        f"/alerts/{target}/review", data={"verdict": "confirm"}, headers={"HX-Request": "true"}
    )
    assert refused.status_code == 403
    assert "viewer" in refused.text
    svc: Service = app.state.service
    stored = get_alert(svc.engine, target)
    assert stored["labels"] == []
    assert stored["status"] == CaseStatus.OPEN


# --- queue ---------------------------------------------------------------------------------


def test_queue_lists_open_alerts_by_score_and_n_goes_to_the_next(
    analyst: TestClient, app: FastAPI
) -> None:
    page = analyst.get("/queue")
    assert page.status_code == 200
    queued = ROW_ID.findall(page.text)
    assert 0 < len(queued) <= 50
    assert "data-queue" in page.text
    svc: Service = app.state.service
    rows = [get_alert(svc.engine, a) for a in queued]
    assert all(r["status"] == CaseStatus.OPEN for r in rows)
    scores = [r["score"] for r in rows]
    assert scores == sorted(scores, reverse=True)
    step = analyst.get("/queue/next", params={"after": queued[0]}, follow_redirects=False)
    assert step.status_code == 303
    assert step.headers["location"] == f"/alerts/{queued[1]}"
    first = analyst.get("/queue/next", follow_redirects=False)
    assert first.headers["location"] == f"/alerts/{queued[0]}"


def test_alert_list_and_queue_page_through_100k_alerts(
    workbench: Workbench, tmp_path: Path
) -> None:
    db = copy_store(workbench.db, tmp_path)
    engine = sa.create_engine(f"sqlite:///{db}")
    rng = random.Random(7)
    start = int(workbench.alerts.column("start")[0].as_py().timestamp() * 1e6)
    alerts, cases = [], []
    for i in range(100_000):
        at, score = start + rng.randrange(8 * 3600 * 10**6), rng.uniform(0.9, 1.0)
        alerts.append(
            {
                "alert_id": f"AL-bulk{i:012d}",
                "trader_id": f"T{rng.randrange(500)}",
                "instrument_id": f"I{rng.randrange(40)}",
                "score": score,
                "manipulation_type": rng.choice(["SPOOFING", "LAYERING", "WASH_TRADING"]),
                "start_us": at,
                "end_us": at + 1000,
                "transaction_ids": "[]",
                "explanation": "",
                "top_features": "[]",
            }
        )
        cases.append(
            {
                "alert_id": f"AL-bulk{i:012d}",
                "status": "OPEN",
                "score": score,
                "opened_us": at,
                "updated_us": at,
            }
        )
    with engine.begin() as connection:
        connection.execute(sa.insert(AlertRecord), alerts)
        connection.execute(sa.insert(Case), cases)
    engine.dispose()
    big = open_app(db, workbench.lake)
    try:
        client = logged_in(big, workbench.keys[Role.VIEWER])
        first = client.get("/alerts")
        cursor = re.search(r'cursor=([^"&]+)"', first.text)
        assert cursor is not None
        for url in (
            "/alerts",
            "/alerts?typology=SPOOFING&min_score=0.99",
            "/alerts?trader_id=T7&status=OPEN",
            "/alerts?instrument_id=I3",
            f"/alerts?cursor={cursor.group(1)}",
            "/queue",
        ):
            # how fast: benchmarks/api.py (timing belongs in `make bench`)
            response = client.get(url)
            assert response.status_code == 200
            assert "AL-" in response.text
        waiting = f"{100_000 + workbench.alerts.num_rows:,} open"
        assert waiting in client.get("/queue").text
    finally:
        close_app(big)


def test_pages_on_sqlite_and_postgresql(api: Any, workbench: Workbench) -> None:
    """The pages' own queries (severity per hour, the queue) on both stores."""
    client: TestClient = api.client
    client.post("/login", data={"api_key": api.keys[Role.ANALYST]})
    figs = figures(client.get("/").text)
    total = workbench.alerts.num_rows
    assert sum(sum(t["y"]) for t in figs["by-severity"]["data"]) == total
    assert sum(sum(t["y"]) for t in figs["by-typology"]["data"]) == total
    spoofing = client.get("/alerts", params={"typology": "SPOOFING", "status": "OPEN"})
    shown = ROW_ID.findall(spoofing.text)
    assert shown
    assert all(
        a["manipulation_type"] == "SPOOFING"
        for a in workbench.alerts.to_pylist()
        if a["alert_id"] in shown
    )
    queue = client.get("/queue")
    queued = ROW_ID.findall(queue.text)
    assert f"{total:,} open" in queue.text
    done = client.post(f"/alerts/{queued[0]}/review", data={"verdict": "dismiss"})
    assert done.status_code == 200
    assert ROW_ID.findall(client.get("/queue").text)[0] == queued[1]
    step = client.get("/queue/next", params={"after": queued[1]}, follow_redirects=False)
    assert step.headers["location"] == f"/alerts/{queued[2]}"


def test_pages_work_without_a_model_or_a_lake(workbench: Workbench, tmp_path: Path) -> None:
    db = copy_store(workbench.db, tmp_path)
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as connection:
        connection.execute(sa.update(ModelVersion).values(active=False))
    engine.dispose()
    bare = create_app(ServiceSettings(db=db, lake=None, model_dir=None))
    try:
        client = logged_in(bare, workbench.keys[Role.VIEWER])
        page = client.get("/")
        assert page.status_code == 200
        assert "Score bands: no model is active" in page.text
        bands = {t["name"] for t in figures(page.text)["by-severity"]["data"]}
        assert bands <= {charts.label(name) for name, _ in severity_bands(None)}
        some = alert_ids(workbench)[0]
        alert = client.get(f"/alerts/{some}")
        assert alert.status_code == 200
        assert "no scored events" in alert.text
        assert "timeline" not in figures(alert.text)
        assert client.get("/alerts").status_code == 200
        assert client.get("/queue").status_code == 200
    finally:
        close_app(bare)


# --- pure parts ----------------------------------------------------------------------------


def test_severity_bands_agree_with_risk_levels() -> None:
    for threshold in (0.3, 0.5, 0.9775, 0.99):
        bands = severity_bands(threshold)
        for score in [i / 1000 for i in range(1001)] + [threshold, (1 + threshold) / 2]:
            band = next(name for name, low in bands if score >= low)
            assert band == risk_level(score, threshold).value
    fallback = severity_bands(None)
    assert [low for _, low in fallback] == sorted((low for _, low in fallback), reverse=True)
    assert fallback[-1][1] == 0.0


def test_verdicts_of_the_review_form() -> None:
    confirm = verdict("confirm", "SPOOFING", "no", "", "0.9", " n ", "OPEN")
    assert (confirm.is_manipulation, confirm.manipulation_type, confirm.notes) == (
        True,
        "SPOOFING",
        "n",
    )
    assert confirm.new_status == CaseStatus.CLOSED_CONFIRMED
    assert verdict("confirm", "SPOOFING", "yes", "NONE", "", "", "").manipulation_type == "SPOOFING"
    assert (
        verdict("confirm", "SPOOFING", "yes", "LAYERING", "", "", "").manipulation_type
        == "LAYERING"
    )
    dismiss = verdict("dismiss", "SPOOFING", "yes", "SPOOFING", "", "", "")
    assert (dismiss.is_manipulation, dismiss.manipulation_type) == (False, "NONE")
    assert dismiss.new_status == CaseStatus.CLOSED_DISMISSED
    assert verdict("escalate", "SPOOFING", "yes", "", "", "", "").new_status == CaseStatus.ESCALATED
    save = verdict("save", "SPOOFING", "no", "NONE", "0.7", "", "")
    assert (save.is_manipulation, save.confidence, save.new_status) == (
        False,
        0.7,
        CaseStatus.CLOSED_DISMISSED,
    )
    assert (
        verdict("save", "SPOOFING", "yes", "", "", "", "UNDER_REVIEW").status
        == CaseStatus.UNDER_REVIEW
    )
    for bad in (
        ("save", "X", "yes", "FRAUD", "", "", ""),
        ("save", "X", "yes", "", "2", "", ""),
        ("save", "X", "yes", "", "", "", "DONE"),
        ("later", "X", "yes", "", "", "", ""),
    ):
        with pytest.raises(ValueError):  # noqa: PT011 - the messages are checked through the route
            verdict(*bad)


def timeline_table() -> pa.Table:
    t0 = dt.datetime(2026, 3, 4, 14, 0, tzinfo=dt.UTC)
    rows = [
        # seconds, trader, status, side, price, quantity
        (0, "A", "NEW", "BUY", 10.0, 100),
        (1, "B", "NEW", "SELL", 10.2, 300),
        (2, "A", "CANCELLED", "BUY", 10.0, 100),
        (3, "A", "NEW", "SELL", 10.1, 400),
        (4, "A", "EXECUTED", "SELL", 10.1, 400),
        (4, "B", "EXECUTED", "BUY", 10.1, 400),
        (5, "A", "MODIFIED", "BUY", 10.0, 50),
    ]
    return pa.table(
        {
            "timestamp": pa.array(
                [t0 + dt.timedelta(seconds=r[0]) for r in rows], pa.timestamp("us", tz="UTC")
            ),
            "order_id": [f"O{i}" for i in range(len(rows))],
            "trader_id": [r[1] for r in rows],
            "order_status": [r[2] for r in rows],
            "side": [r[3] for r in rows],
            "price": [r[4] for r in rows],
            "quantity": [float(r[5]) for r in rows],
            "bid_price": [9.9, 9.9, 9.9, 10.0, 10.0, 10.0, 10.0],
            "ask_price": [10.3, 10.2, 10.2, 10.1, 10.2, 10.2, 10.2],
            "score": [0.1, 0.2, 0.3, 0.9, 0.95, 0.2, 0.4],
        }
    )


def test_order_book_chart() -> None:
    t0 = int(dt.datetime(2026, 3, 4, 14, 0, tzinfo=dt.UTC).timestamp() * 1e6)
    fig = charts.order_book(timeline_table(), "A", t0 + 3_000_000, t0 + 4_000_000)
    assert fig is not None
    traces = {t["name"]: t for t in fig["data"]}
    assert traces["best bid"]["y"] == [9.9, 9.9, 9.9, 10.0, 10.0, 10.0, 10.0]
    assert traces["best ask"]["line"]["shape"] == "hv"
    assert traces["trade price"]["y"] == [10.1, 10.1]
    assert traces["trade price"]["x"][0] == "2026-03-04 14:00:04.000000"
    # only trader A's orders are marked: by kind (symbol), side (colour) and size
    assert set(traces) - {"best bid", "best ask", "trade price"} == {
        "placed buy",
        "placed sell",
        "cancelled buy",
        "filled sell",
        "modified buy",
    }
    placed_sell, placed_buy = traces["placed sell"], traces["placed buy"]
    assert placed_sell["marker"]["color"] == charts.SIDE_COLOURS["SELL"]
    assert placed_buy["marker"]["color"] == charts.SIDE_COLOURS["BUY"]
    assert traces["cancelled buy"]["marker"]["symbol"] == "x"
    assert placed_sell["marker"]["size"][0] > placed_buy["marker"]["size"][0]  # 400 > 100
    assert placed_sell["customdata"] == [["O3", 400.0, 0.9]]
    span = fig["layout"]["shapes"][0]
    assert (span["x0"], span["x1"]) == ("2026-03-04 14:00:03.000000", "2026-03-04 14:00:04.000000")
    assert charts.order_book(timeline_table(), "nobody", t0, t0) is not None
    assert charts.order_book(pa.table({}), "A", t0, t0) is None
    json.dumps(fig)  # plain JSON


def test_short_alerts_get_a_visible_span() -> None:
    t0 = int(dt.datetime(2026, 3, 4, 14, 0, 2, tzinfo=dt.UTC).timestamp() * 1e6)
    span = charts.order_book(timeline_table(), "A", t0, t0 + 50_000)["layout"]["shapes"][0]  # type: ignore[index]
    assert span["x0"] < "2026-03-04 14:00:02" < span["x1"]
    assert span["x1"] > "2026-03-04 14:00:02.500000"


def test_contribution_chart_has_a_panel_per_detector() -> None:
    features = [
        {
            "feature": "spread_bps",
            "value": 300.0,
            "usual": 500.0,
            "contribution": 1.7,
            "detector": "xgboost",
        },
        {
            "feature": "secs_to_close",
            "value": 1.0,
            "usual": 400.0,
            "contribution": 1.3,
            "detector": "xgboost",
        },
        {
            "feature": "spread_bps",
            "value": 300.0,
            "usual": 500.0,
            "contribution": 0.4,
            "detector": "autoencoder",
        },
    ]
    fig = charts.contributions(features)
    assert fig is not None
    known, unusual = fig["data"]
    assert (known["y"], known["x"]) == (["spread_bps", "secs_to_close"], [1.7, 1.3])
    assert (unusual["y"], unusual["x"], unusual["yaxis"]) == (["spread_bps"], [0.4], "y2")
    assert known["orientation"] == "h"
    assert "usually" in known["text"][0]
    top, bottom = fig["layout"]["yaxis"]["domain"], fig["layout"]["yaxis2"]["domain"]
    assert top[0] > bottom[1]
    one = charts.contributions(features[:2])
    assert one is not None
    assert one["layout"]["yaxis"]["domain"] == [0.0, 1.0]
    assert charts.contributions([]) is None


def test_hourly_stacked_bars_and_instrument_ranking() -> None:
    hour = 1_772_632_800_000_000
    fig = charts.hourly_stacked(
        [(hour, "SPOOFING", 3), (hour, "LAYERING", 1), (hour + charts.HOUR_US, "SPOOFING", 2)],
        charts.TYPOLOGY_COLOURS,
    )
    assert fig["layout"]["barmode"] == "stack"
    spoofing, layering = fig["data"]  # in the colours' order
    assert (spoofing["name"], spoofing["y"]) == ("spoofing", [3, 2])
    assert (layering["name"], layering["y"]) == ("layering", [1, 0])
    assert spoofing["x"] == ["2026-03-04 14:00:00.000000", "2026-03-04 15:00:00.000000"]
    ranked = charts.instrument_risk(ranked_input())
    bars = ranked["data"][0]
    assert bars["y"] == ["X1", "X2"]
    assert len(set(bars["marker"]["color"])) == 1  # no threshold: no risk levels
    levels = charts.instrument_risk(ranked_input(), 0.95)["data"][0]["marker"]["color"]
    assert levels == [charts.SEVERITY_COLOURS["CRITICAL"], charts.SEVERITY_COLOURS["MEDIUM"]]
    assert bars["customdata"] == ["/alerts?instrument_id=X1", "/alerts?instrument_id=X2"]
    assert ranked["layout"]["yaxis"]["autorange"] == "reversed"


def ranked_input() -> list[dict[str, object]]:
    return [
        {"instrument_id": "X1", "alerts": 3, "risk": 2.9, "max_score": 0.995},
        {"instrument_id": "X2", "alerts": 1, "risk": 0.92, "max_score": 0.92},
    ]
