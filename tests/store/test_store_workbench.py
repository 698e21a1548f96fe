"""The workbench store on SQLite and PostgreSQL: migrations, idempotent alerts and cases,
reviews, pagination, users and keys, model versions."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from kit import random_alerts, same_alerts

from tapewatch.store.alerts import AlertStore
from tapewatch.store.cases import (
    AlertFilter,
    NotFoundError,
    Review,
    count_alerts,
    get_alert,
    list_alerts,
    next_unreviewed,
    overview,
    review,
)
from tapewatch.store.models import AuditEntry, Base, Case, CaseStatus, Label, Role
from tapewatch.store.users import add_user, authenticate, revoke_keys
from tapewatch.store.versions import activate, active_version, register_model, set_threshold


def test_migrations_build_exactly_the_models(store_url: str) -> None:
    store = AlertStore(store_url)
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    assert diff == []
    assert version == "0001"
    AlertStore(store_url).close()  # opening a migrated store again changes nothing
    store.close()


def test_writing_alerts_twice_keeps_one_alert_one_case_and_the_review(store_url: str) -> None:
    store = AlertStore(store_url)
    alerts = random_alerts(40, seed=1)
    store.put(alerts)
    first = alerts.column("alert_id")[0].as_py()
    review(store.engine, first, "ann", Review(True, "SPOOFING", 0.8, "pulled"))
    store.put(alerts)  # a replay after a crash
    store.put(alerts.slice(0, 10))
    with store.engine.connect() as connection:
        cases = connection.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one()
        status = connection.execute(
            sa.select(Case.status).where(Case.alert_id == first)
        ).scalar_one()
    assert store.count() == 40
    assert cases == 40
    assert status == CaseStatus.CLOSED_CONFIRMED
    assert same_alerts(store.table(), alerts)
    assert (
        get_alert(store.engine, first)["transaction_ids"]
        == alerts.column("transaction_ids")[0].as_py()
    )
    store.close()


def test_review_records_label_status_and_audit_entry_together(store_url: str) -> None:
    store = AlertStore(store_url)
    alerts = random_alerts(5, seed=2)
    store.put(alerts)
    target = alerts.column("alert_id")[3].as_py()
    done = review(
        store.engine,
        target,
        "ann",
        Review(False, "NONE", 0.9, "market maker", CaseStatus.ESCALATED),
    )
    again = review(store.engine, target, "bob", Review(True, "LAYERING", 0.6))
    alert = get_alert(store.engine, target)
    assert done["status"] == CaseStatus.ESCALATED
    assert again["status"] == CaseStatus.CLOSED_CONFIRMED
    assert [lab["labelled_by"] for lab in alert["labels"]] == ["bob", "ann"]
    assert alert["status"] == CaseStatus.CLOSED_CONFIRMED
    with store.engine.connect() as connection:
        entries = connection.execute(
            sa.select(AuditEntry.actor, AuditEntry.action).where(AuditEntry.target == target)
        ).all()
    assert [tuple(e) for e in entries] == [("ann", "alert.review"), ("bob", "alert.review")]
    with pytest.raises(NotFoundError):
        review(store.engine, "AL-missing", "ann", Review(True, "SPOOFING", 0.5))
    with pytest.raises(ValueError, match="confidence"):
        Review(True, "SPOOFING", 1.5)
    with store.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(Label)).scalar() == 2
    store.close()


def test_cursor_pages_visit_every_match_once_newest_first(store_url: str) -> None:
    store = AlertStore(store_url)
    alerts = random_alerts(230, seed=3)
    store.put(alerts)
    where = AlertFilter(typology="SPOOFING", min_score=0.6)
    seen: list[dict[str, object]] = []
    cursor = None
    while True:
        page = list_alerts(store.engine, where, cursor, limit=17)
        seen.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    rows = alerts.to_pylist()
    expected = sorted(
        (r for r in rows if r["manipulation_type"] == "SPOOFING" and r["score"] >= 0.6),
        key=lambda r: (r["start"], r["alert_id"]),
        reverse=True,
    )
    assert [r["alert_id"] for r in seen] == [r["alert_id"] for r in expected]
    assert count_alerts(store.engine, where) == len(expected)
    assert len(expected) > 17  # more than one page
    with pytest.raises(ValueError, match="cursor"):
        list_alerts(store.engine, where, "not-a-cursor")
    store.close()


def test_queue_and_overview(store_url: str) -> None:
    store = AlertStore(store_url)
    alerts = random_alerts(30, seed=4)
    store.put(alerts)
    by_score = sorted(alerts.to_pylist(), key=lambda r: (-r["score"], r["alert_id"]))
    ids = [r["alert_id"] for r in by_score]
    assert next_unreviewed(store.engine, limit=5) == ids[:5]
    review(store.engine, ids[1], "ann", Review(False, "NONE", 1.0))
    assert next_unreviewed(store.engine, after=ids[0], limit=3) == ids[2:5]
    view = overview(store.engine)
    assert view.total == 30
    assert view.by_status == {"OPEN": 29, "CLOSED_DISMISSED": 1}
    assert sum(n for _, _, n in view.over_time) == 30
    risk = [i["risk"] for i in view.instruments]
    assert risk == sorted(risk, reverse=True)
    assert sum(i["alerts"] for i in view.instruments) == 30
    store.close()


def test_api_keys_are_salted_hashes_and_roles_rank(store_url: str) -> None:
    store = AlertStore(store_url)
    key = add_user(store.engine, "ann", Role.ANALYST)
    other = add_user(store.engine, "vic", Role.VIEWER)
    who = authenticate(store.engine, key)
    assert who is not None
    assert (who.name, who.role) == ("ann", Role.ANALYST)
    assert who.may(Role.VIEWER)
    assert not who.may(Role.ADMIN)
    with store.engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT key_hash, salt FROM api_keys").all()
    # the key is tw_<id>_<secret>, and the secret (URL-safe base64) may hold "_" itself
    secrets = {k.split("_", 2)[2] for k in (key, other)}
    assert all(secret not in h and h not in (key, other) for h, _ in stored for secret in secrets)
    assert len({s for _, s in stored}) == 2
    assert authenticate(store.engine, key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert authenticate(store.engine, "nonsense") is None
    assert revoke_keys(store.engine, "ann") == 1
    assert authenticate(store.engine, key) is None
    assert authenticate(store.engine, other) is not None
    store.close()


def test_model_versions_threshold_and_activation(store_url: str) -> None:
    store = AlertStore(store_url)
    first = register_model(store.engine, "tw-a", "/m/a", "h1")
    second = register_model(store.engine, "tw-b", "/m/b", "h2")
    assert first.active
    assert not second.active
    assert register_model(store.engine, "tw-b", "/elsewhere", "h2").path == "/m/b"
    activate(store.engine, "tw-b", "root")
    set_threshold(store.engine, "tw-b", 0.7, "root")
    now = active_version(store.engine)
    assert now is not None
    assert (now.version, now.threshold_override) == ("tw-b", 0.7)
    with pytest.raises(ValueError, match="threshold"):
        set_threshold(store.engine, "tw-b", 1.5, "root")
    with pytest.raises(NotFoundError):
        activate(store.engine, "tw-zz", "root")
    with store.engine.connect() as connection:
        actions = connection.execute(
            sa.select(AuditEntry.action).order_by(AuditEntry.seq)
        ).scalars()
        assert list(actions) == [
            "model.register",
            "model.register",
            "model.activate",
            "model.threshold",
        ]
    store.close()
