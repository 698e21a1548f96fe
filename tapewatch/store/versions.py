"""Model versions known to the store: which one the service uses, and an admin's
threshold change; every change is an audit entry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tapewatch.store.audit import now_us, record
from tapewatch.store.cases import NotFoundError
from tapewatch.store.models import ModelVersion


@dataclass(frozen=True)
class VersionInfo:
    """A registered model version."""

    version: str
    path: str
    config_hash: str
    active: bool
    threshold_override: float | None
    metrics: dict[str, Any]


def _info(row: ModelVersion) -> VersionInfo:
    return VersionInfo(
        row.version,
        row.path,
        row.config_hash,
        bool(row.active),
        row.threshold_override,
        json.loads(row.metrics or "{}"),
    )


def register_model(
    engine: sa.Engine,
    version: str,
    path: str,
    config_hash: str,
    metrics: dict[str, Any] | None = None,
    actor: str = "system",
) -> VersionInfo:
    """Record a model version (once); the first one registered becomes active."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        row = session.get(ModelVersion, version)
        if row is None:
            any_active = session.execute(
                sa.select(ModelVersion.version).where(ModelVersion.active.is_(True)).limit(1)
            ).first()
            row = ModelVersion(
                version=version,
                path=path,
                config_hash=config_hash,
                registered_us=now_us(),
                active=any_active is None,
                threshold_override=None,
                metrics=json.dumps(metrics or {}, default=str),
            )
            session.add(row)
            record(session, actor, "model.register", version, {"path": path})
        return _info(row)


def list_versions(engine: sa.Engine) -> list[VersionInfo]:
    """Every registered version, newest first."""
    with Session(engine) as session:
        rows = session.execute(
            sa.select(ModelVersion).order_by(ModelVersion.registered_us.desc())
        ).scalars()
        return [_info(r) for r in rows]


def active_version(engine: sa.Engine) -> VersionInfo | None:
    """The version the service scores with, if one is registered."""
    with Session(engine) as session:
        row = session.execute(
            sa.select(ModelVersion).where(ModelVersion.active.is_(True)).limit(1)
        ).scalar_one_or_none()
        return None if row is None else _info(row)


def activate(engine: sa.Engine, version: str, actor: str) -> VersionInfo:
    """Make `version` the one the service uses."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        row = session.get(ModelVersion, version)
        if row is None:
            raise NotFoundError(version)
        before = session.execute(
            sa.select(ModelVersion.version).where(ModelVersion.active.is_(True))
        ).scalar_one_or_none()
        session.execute(sa.update(ModelVersion).values(active=False))
        row.active = True
        record(session, actor, "model.activate", version, {"previous": before})
        return _info(row)


def set_threshold(
    engine: sa.Engine, version: str, threshold: float | None, actor: str
) -> VersionInfo:
    """Override a version's alert threshold (None: back to the model's own)."""
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise ValueError(f"a threshold is in [0, 1], got {threshold}")
    with Session(engine, expire_on_commit=False) as session, session.begin():
        row = session.get(ModelVersion, version)
        if row is None:
            raise NotFoundError(version)
        before = row.threshold_override
        row.threshold_override = threshold
        record(session, actor, "model.threshold", version, {"from": before, "to": threshold})
        return _info(row)
