"""The JSON API fuzzed from its own OpenAPI document (schemathesis, in-process over ASGI),
on a copy of the workbench store with an admin key: no request, valid or not, may get a
server error, and every response must match the schema the document gives for it.

Two more tests reach what generated requests rarely do: real events with broken fields
sent to /api/v1/check, and forged list cursors; both must be refused, never a 500."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)
from workbench import Workbench, copy_store

from tapewatch.api.app import create_app
from tapewatch.api.service import ServiceSettings
from tapewatch.schema.columns import EVENT_SCHEMA
from tapewatch.store.models import Role
from tapewatch.store.versions import list_versions

#: a few hundred requests in all: enough to find crashes, quick enough for every CI run
FUZZ = settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture
def app(workbench: Workbench, tmp_path: Path) -> Iterator[FastAPI]:
    """The service on a copy of the workbench store (fuzzed reviews and model changes stay
    there) and the workbench lake, which it only reads."""
    made = create_app(
        ServiceSettings(
            db=copy_store(workbench.db, tmp_path), lake=workbench.lake, session_secret="fuzz"
        )
    )
    yield made
    made.state.service.close()


@pytest.fixture
def api_schema(app: FastAPI, workbench: Workbench) -> schemathesis.BaseSchema:
    """The app's OpenAPI document, every request sent with an admin key."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.update(headers={"X-API-Key": workbench.keys[Role.ADMIN]})
    real = {
        "alert_id": workbench.alerts.column("alert_id").to_pylist()[:3],
        "version": [v.version for v in list_versions(app.state.service.engine)],
    }

    @schema.hook
    def flatmap_path_parameters(
        _context: schemathesis.HookContext, parameters: dict[str, Any] | None
    ) -> st.SearchStrategy[dict[str, Any] | None]:
        """The generated ids, or ids the store holds (so reviews, thresholds and
        activations do happen)."""
        known = [{**parameters, k: v} for k in parameters or {} for v in real.get(k, [])]
        return st.sampled_from([parameters, *known])

    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@FUZZ
def test_api_conforms_to_its_schema(case: schemathesis.Case) -> None:
    """Every operation, fuzzed (examples, coverage and random, valid and invalid input):
    no 5xx, and each response's body and content type match what the document gives for
    its status code. (Not checked: statuses the document leaves out, such as 404 for an
    unknown id, and the ignored-auth check, which the admin key on every call defeats.)"""
    case.call_and_validate(
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance]
    )


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
FIELDS = EVENT_SCHEMA.names


@pytest.fixture
def real_events(workbench: Workbench) -> list[dict[str, Any]]:
    """The first events of the workbench day, as JSON objects."""
    rows = pq.read_table(workbench.events, columns=FIELDS).slice(0, 40).to_pylist()
    for row in rows:
        row["timestamp"] = row["timestamp"].isoformat().replace("+00:00", "Z")
    return rows


@given(data=st.data())
@FUZZ
def test_check_rejects_broken_events_without_crashing(
    data: st.DataObject, app: FastAPI, real_events: list[dict[str, Any]], workbench: Workbench
) -> None:
    """Real events with some fields replaced by any JSON value, or dropped: each event is
    scored or rejected with its line, and the service never fails."""
    n = data.draw(st.integers(1, 4), label="events")
    start = data.draw(st.integers(0, len(real_events) - n), label="first")
    batch = []
    for event in real_events[start : start + n]:
        broken = dict(event)
        for name in data.draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
            if data.draw(st.booleans()):
                broken[name] = data.draw(JSON_VALUES, label=name)
            else:
                broken.pop(name)
        batch.append(broken)
    # no `with`: the app's lifespan would close the service after the first example
    response = TestClient(app).post(
        "/api/v1/check", json=batch, headers={"X-API-Key": workbench.keys[Role.ADMIN]}
    )
    assert response.status_code < 500, response.text
    if response.status_code == 200:
        body = response.json()
        rejected = {r["line"] for r in body["rejected"]}
        assert len(body["results"]) + len(rejected) == n, body


@pytest.mark.parametrize(
    "position",
    ['[1e400, "A-1"]', '[1e20, "A-1"]', '[100000000000000000000, "A-1"]', '{"a": 1}', "[]"],
)
def test_alert_list_refuses_forged_cursors(
    app: FastAPI, workbench: Workbench, position: str
) -> None:
    """A cursor the service did not write is refused as bad input, whatever it decodes to."""
    cursor = base64.urlsafe_b64encode(position.encode()).decode()
    response = TestClient(app, raise_server_exceptions=False).get(
        "/api/v1/alerts",
        params={"cursor": cursor},
        headers={"X-API-Key": workbench.keys[Role.VIEWER]},
    )
    assert 400 <= response.status_code < 500, response.text
