"""The audit log's hash chain: any edited, deleted or inserted entry is found, on SQLite
and PostgreSQL; the retention floor is five years."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tapewatch.store.audit import GENESIS, RETENTION_YEARS, append, entry_hash, prune, verify
from tapewatch.store.database import open_engine
from tapewatch.store.models import AuditEntry


def _fill(engine: sa.Engine, n: int) -> None:
    for i in range(n):
        append(engine, f"user{i % 3}", "alert.review", f"AL-{i}", {"i": i, "notes": "ok ü"})


def test_an_untouched_chain_verifies(store_url: str) -> None:
    engine = open_engine(store_url)
    assert verify(engine).ok  # empty
    _fill(engine, 12)
    result = verify(engine)
    assert result.ok
    assert (result.checked, result.first_seq, result.last_seq) == (12, 1, 12)


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ("UPDATE audit_log SET detail = '{\"i\": 99}' WHERE seq = 5", "edited"),
        ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 5", "edited"),
        ("DELETE FROM audit_log WHERE seq = 5", "missing"),
        ("UPDATE audit_log SET seq = 50 WHERE seq = 5", "missing"),
    ],
)
def test_tampering_is_found_where_it_happened(store_url: str, tamper: str, reason: str) -> None:
    engine = open_engine(store_url)
    _fill(engine, 9)
    with engine.begin() as connection:
        connection.exec_driver_sql(tamper)
    result = verify(engine)
    assert not result.ok
    assert result.broken_at == 5
    assert reason in result.reason


def test_recomputing_a_hash_after_an_edit_breaks_the_next_link(tmp_path: Path) -> None:
    engine = open_engine(tmp_path / "a.db")
    _fill(engine, 6)
    with engine.begin() as connection:
        # a forger who also rewrites the edited entry's own hash
        connection.exec_driver_sql(
            "UPDATE audit_log SET actor = 'x', entry_hash = 'f' WHERE seq = 3"
        )
    result = verify(engine)
    assert result.broken_at == 3
    with engine.begin() as connection:
        row = connection.execute(sa.select(AuditEntry).where(AuditEntry.seq == 3)).one()
        fixed = entry_hash(3, row.at_us, "x", row.action, row.target, row.detail, row.prev_hash)
        connection.execute(
            sa.update(AuditEntry).where(AuditEntry.seq == 3).values(entry_hash=fixed)
        )
    assert verify(engine).broken_at == 4


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n=st.integers(2, 15),
    data=st.data(),
    kind=st.sampled_from(["edit_target", "edit_time", "delete", "delete_first"]),
)
def test_any_single_tampering_is_found(
    tmp_path: Path, n: int, data: st.DataObject, kind: str
) -> None:
    # a new file per example: hypothesis runs many examples in one test's tmp_path
    db = Path(tempfile.mkdtemp(dir=tmp_path)) / "h.db"
    engine = open_engine(db)
    _fill(engine, n)
    seq = 1 if kind == "delete_first" else data.draw(st.integers(1, n - 1))
    statement = {
        "edit_target": f"UPDATE audit_log SET target = 'AL-x' WHERE seq = {seq}",
        "edit_time": f"UPDATE audit_log SET at_us = at_us + 1 WHERE seq = {seq}",
        "delete": f"DELETE FROM audit_log WHERE seq = {seq}",
        "delete_first": "DELETE FROM audit_log WHERE seq = 1",
    }[kind]
    with engine.begin() as connection:
        connection.exec_driver_sql(statement)
    result = verify(engine)
    assert not result.ok
    assert result.broken_at in (seq, seq + 1)
    engine.dispose()


def test_prune_keeps_five_years_and_records_its_anchor(tmp_path: Path) -> None:
    engine = open_engine(tmp_path / "p.db")
    _fill(engine, 8)
    with pytest.raises(ValueError, match="5 years"):
        prune(engine, "admin", keep_years=RETENTION_YEARS - 1)
    assert prune(engine, "admin") == 0  # nothing is five years old
    old = int((dt.datetime.now(dt.UTC) - dt.timedelta(days=6 * 365)).timestamp() * 1e6)
    with engine.begin() as connection:
        # the first three entries were written six years ago: re-date and re-chain them
        rows = connection.execute(sa.select(AuditEntry).order_by(AuditEntry.seq)).all()
        prev = GENESIS
        for r in rows:
            at = old + r.seq if r.seq <= 3 else r.at_us
            h = entry_hash(r.seq, at, r.actor, r.action, r.target, r.detail, prev)
            connection.execute(
                sa.update(AuditEntry)
                .where(AuditEntry.seq == r.seq)
                .values(at_us=at, prev_hash=prev, entry_hash=h)
            )
            prev = h
    assert verify(engine).ok
    assert prune(engine, "admin") == 3
    result = verify(engine)
    assert result.ok
    assert (result.first_seq, result.last_seq) == (4, 9)
    with engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM audit_log WHERE seq = 4")
    assert verify(engine).broken_at == 5
