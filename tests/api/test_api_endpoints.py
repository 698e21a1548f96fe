"""The JSON API on SQLite and PostgreSQL: keys and roles, checking and ingesting events,
alerts with filters and pages, reviews into the audit log, models, metrics, health."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from workbench import Workbench

from tapewatch.store.models import Role


def _events(day: pa.Table, start: int, n: int) -> list[dict[str, Any]]:
    rows = (
        day.slice(start, n)
        .drop_columns(
            [
                c
                for c in ("is_manipulation", "manipulation_type", "scenario_id")
                if c in day.column_names
            ]
        )
        .to_pylist()
    )
    for row in rows:
        row["timestamp"] = row["timestamp"].isoformat()
    return rows


@pytest.fixture(scope="module")
def day(workbench: Workbench) -> pa.Table:
    return pq.read_table(workbench.events)


def test_every_endpoint_but_health_needs_a_key(api: Any) -> None:
    c = api.client
    assert c.get("/health").status_code == 200
    for method, path in [
        ("get", "/api/v1/alerts"),
        ("get", "/api/v1/alerts/AL-x"),
        ("post", "/api/v1/check"),
        ("post", "/api/v1/events"),
        ("post", "/api/v1/alerts/AL-x/review"),
        ("get", "/api/v1/models"),
        ("get", "/api/v1/audit"),
        ("get", "/metrics"),
    ]:
        assert getattr(c, method)(path).status_code == 401, path
        bad = getattr(c, method)(path, headers={"X-API-Key": "tw_000000000000_nope"})
        assert bad.status_code == 401, path
    me = c.get("/api/v1/me", headers={"Authorization": f"Bearer {api.keys[Role.VIEWER]}"})
    assert me.json() == {"name": "viewer-user", "role": "viewer"}


def test_check_scores_with_live_state_and_explains(api: Any, day: pa.Table) -> None:
    events = _events(day, 1000, 60)
    one = api.client.post("/api/v1/check", json=events[0], headers=api.headers(Role.VIEWER))
    assert one.status_code == 200
    body = one.json()
    assert [r["transaction_id"] for r in body["results"]] == [events[0]["transaction_id"]]
    result = body["results"][0]
    assert 0.0 <= result["score"] <= 1.0
    assert result["risk_level"] in {"LOW", "MEDIUM", "HIGH", "CRITICAL"}
    assert body["processing_ms"] > 0
    assert body["model_version"].startswith("tw-")
    batch = api.client.post("/api/v1/check", json=events[1:], headers=api.headers(Role.VIEWER))
    results = batch.json()["results"]
    assert [r["transaction_id"] for r in results] == [e["transaction_id"] for e in events[1:]]
    assert any(r["top_factors"] for r in results)
    assert all(isinstance(f, str) for r in results for f in r["top_factors"])
    flagged = [r for r in results if r["flagged"]]
    assert all(r["risk_level"] in {"HIGH", "CRITICAL"} for r in flagged)


def test_events_rejects_bad_rows_with_line_and_reason_and_scores_the_rest(
    api: Any, day: pa.Table
) -> None:
    events = _events(day, 2000, 30)
    events[4]["price"] = -1.0
    del events[9]["trader_id"]
    events[12]["side"] = "SIDEWAYS"
    analyst = api.headers(Role.ANALYST)
    r = api.client.post("/api/v1/events", json={"events": events}, headers=analyst)
    assert r.status_code == 200
    body = r.json()
    assert body["accepted"] == 27
    got = {(x["line"], x["field"]) for x in body["rejected"]}
    assert got == {(5, "price"), (10, "trader_id"), (13, "side")}
    assert all(x["reason"] for x in body["rejected"])
    viewer = api.client.post(
        "/api/v1/events", json={"events": events}, headers=api.headers(Role.VIEWER)
    )
    assert viewer.status_code == 403


def test_alert_list_filters_and_pages(api: Any, workbench: Workbench) -> None:
    viewer = api.headers(Role.VIEWER)
    alerts = workbench.alerts.to_pylist()
    kind = max(
        {a["manipulation_type"] for a in alerts}, key=[a["manipulation_type"] for a in alerts].count
    )
    expected = sorted(
        (a for a in alerts if a["manipulation_type"] == kind),
        key=lambda a: (a["start"], a["alert_id"]),
        reverse=True,
    )
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"typology": kind, "limit": 7}
        if cursor:
            params["cursor"] = cursor
        page = api.client.get("/api/v1/alerts", params=params, headers=viewer).json()
        seen += [i["alert_id"] for i in page["items"]]
        assert all(i["status"] == "OPEN" for i in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [a["alert_id"] for a in expected]
    first = alerts[0]
    narrow = api.client.get(
        "/api/v1/alerts",
        params={
            "trader_id": first["trader_id"],
            "instrument_id": first["instrument_id"],
            "min_score": first["score"],
            "since": first["start"].isoformat(),
            "until": (first["start"]).isoformat(),
        },
        headers=viewer,
    ).json()
    assert narrow["items"] == []  # until is exclusive
    bad = api.client.get("/api/v1/alerts", params={"since": "yesterday"}, headers=viewer)
    assert bad.status_code == 400


def test_alert_detail_review_and_audit(api: Any, workbench: Workbench) -> None:
    alert = workbench.alerts.to_pylist()[0]
    aid = alert["alert_id"]
    detail = api.client.get(f"/api/v1/alerts/{aid}", headers=api.headers(Role.VIEWER)).json()
    assert detail["explanation"] == alert["explanation"]
    assert [e["transaction_id"] for e in detail["events"]] == alert["transaction_ids"]
    # every event's details come from the lake
    assert all(e["timestamp"] and e["order_status"] and e["side"] for e in detail["events"])
    assert detail["top_features"]
    verdict = {
        "is_manipulation": True,
        "manipulation_type": alert["manipulation_type"],
        "confidence": 0.8,
        "notes": "seen it",
    }
    assert (
        api.client.post(
            f"/api/v1/alerts/{aid}/review", json=verdict, headers=api.headers(Role.VIEWER)
        ).status_code
        == 403
    )
    done = api.client.post(
        f"/api/v1/alerts/{aid}/review", json=verdict, headers=api.headers(Role.ANALYST)
    )
    assert done.status_code == 200
    assert done.json()["status"] == "CLOSED_CONFIRMED"
    after = api.client.get(f"/api/v1/alerts/{aid}", headers=api.headers(Role.VIEWER)).json()
    assert after["status"] == "CLOSED_CONFIRMED"
    assert after["labels"][0]["labelled_by"] == "analyst-user"
    assert after["labels"][0]["notes"] == "seen it"
    trail = api.client.get(
        "/api/v1/audit", params={"target": aid}, headers=api.headers(Role.ANALYST)
    ).json()
    assert trail[0]["action"] == "alert.review"
    assert trail[0]["actor"] == "analyst-user"
    assert trail[0]["detail"]["status_to"] == "CLOSED_CONFIRMED"
    assert (
        api.client.get("/api/v1/alerts/AL-none", headers=api.headers(Role.VIEWER)).status_code
        == 404
    )
    wrong = dict(verdict, confidence=2)
    assert (
        api.client.post(
            f"/api/v1/alerts/{aid}/review", json=wrong, headers=api.headers(Role.ANALYST)
        ).status_code
        == 422
    )


def test_only_admins_change_models_and_thresholds(api: Any, day: pa.Table) -> None:
    models = api.client.get("/api/v1/models", headers=api.headers(Role.VIEWER)).json()
    version = models[0]["version"]
    assert models[0]["active"]
    path = f"/api/v1/models/{version}/threshold"
    assert (
        api.client.put(path, json={"threshold": 0.0}, headers=api.headers(Role.ANALYST)).status_code
        == 403
    )
    changed = api.client.put(path, json={"threshold": 0.0}, headers=api.headers(Role.ADMIN))
    assert changed.json()["threshold_override"] == 0.0
    # with a threshold of 0 every event is flagged: the live scorer took the change
    results = api.client.post(
        "/api/v1/check", json=_events(day, 5000, 5), headers=api.headers(Role.VIEWER)
    ).json()["results"]
    assert all(r["flagged"] for r in results)
    assert (
        api.client.post(
            f"/api/v1/models/{version}/activate", headers=api.headers(Role.ADMIN)
        ).status_code
        == 200
    )
    assert (
        api.client.post(
            "/api/v1/models/tw-nope/activate", headers=api.headers(Role.ADMIN)
        ).status_code
        == 404
    )
    trail = api.client.get(
        "/api/v1/audit", params={"target": version}, headers=api.headers(Role.ADMIN)
    ).json()
    assert [t["action"] for t in trail][:2] == ["model.activate", "model.threshold"]


def test_metrics_count_what_the_api_scored(api: Any, day: pa.Table) -> None:
    api.client.post("/api/v1/check", json=_events(day, 7000, 25), headers=api.headers(Role.VIEWER))
    text = api.client.get("/metrics", headers=api.headers(Role.VIEWER)).text
    assert "tapewatch_events_total 25.0" in text
    assert "tapewatch_flag_rate" in text
    assert 'tapewatch_latency_seconds_bucket{le="+Inf"} 25.0' in text
