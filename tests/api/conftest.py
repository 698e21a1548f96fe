"""An API client on a copy of the workbench, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from workbench import Workbench, copy_store

from tapewatch.api.app import create_app
from tapewatch.api.service import ServiceSettings
from tapewatch.learn.registry import load_model
from tapewatch.store.alerts import AlertStore
from tapewatch.store.models import Role
from tapewatch.store.users import add_user
from tapewatch.store.versions import register_model


@dataclass(frozen=True)
class Api:
    """A client of the app and a key per role."""

    client: TestClient
    keys: dict[Role, str]

    def headers(self, role: Role) -> dict[str, str]:
        """The header that authenticates as `role`."""
        return {"X-API-Key": self.keys[role]}


@pytest.fixture(params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, workbench: Workbench, tmp_path: Path) -> Iterator[Api]:
    """The app on a fresh copy of the workbench's store."""
    if request.param == "sqlite":
        db, keys = copy_store(workbench.db, tmp_path), workbench.keys
        drop = None
    else:
        server = make_url(request.getfixturevalue("postgres_url"))
        name = f"api_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
        db = server.set(database=name).render_as_string(hide_password=False)
        store = AlertStore(db)
        model = load_model(workbench.model_dir)
        register_model(store.engine, model.version, str(workbench.model_dir), model.config_hash)
        store.put(workbench.alerts)
        keys = {role: add_user(store.engine, f"{role.value}-user", role) for role in Role}
        store.close()
        drop = (admin, name)
    app = create_app(ServiceSettings(db=db, lake=workbench.lake, session_secret="test-secret"))
    with TestClient(app) as client:
        yield Api(client, keys)
    if drop is not None:
        admin, name = drop
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        admin.dispose()
