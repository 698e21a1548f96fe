"""What the service keeps in memory between requests: verified keys and the active model
version, each for a bounded time, so a change made elsewhere (the CLI, another process)
takes effect within it and this process's own changes at once."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient
from workbench import Workbench, copy_store

from tapewatch.api.app import create_app
from tapewatch.api.service import ServiceSettings
from tapewatch.store.alerts import AlertStore
from tapewatch.store.models import Role
from tapewatch.store.users import revoke_keys
from tapewatch.store.versions import activate, register_model

CACHE_S = 0.5


def _app(workbench: Workbench, tmp_path: Path) -> tuple[TestClient, str]:
    db = copy_store(workbench.db, tmp_path)
    settings = ServiceSettings(
        db=db,
        lake=workbench.lake,
        session_secret="s",
        key_cache_s=CACHE_S,
        model_cache_s=CACHE_S,
    )
    return TestClient(create_app(settings)), db


def _wait_out_the_cache() -> None:
    time.sleep(CACHE_S * 1.5)


def test_a_key_revoked_elsewhere_stops_working_once_its_cache_entry_expires(
    workbench: Workbench, tmp_path: Path
) -> None:
    client, db = _app(workbench, tmp_path)
    headers = {"X-API-Key": workbench.keys[Role.VIEWER]}
    with client:
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        store = AlertStore(db)
        assert revoke_keys(store.engine, "viewer-user") == 1
        store.close()
        _wait_out_the_cache()
        assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_version_activated_elsewhere_scores_once_its_cache_entry_expires(
    workbench: Workbench, tmp_path: Path
) -> None:
    client, db = _app(workbench, tmp_path)
    with client:
        before = client.get("/health").json()["model_version"]
        store = AlertStore(db)
        register_model(store.engine, "tw-elsewhere", str(workbench.model_dir), "c")
        activate(store.engine, "tw-elsewhere", "cli")
        store.close()
        _wait_out_the_cache()
        assert client.get("/health").json()["model_version"] == "tw-elsewhere" != before
