"""The audit log: append-only, each entry chained to the one before by its hash.

Every label, status change, threshold or model change, user change and login is an
entry: who, when, what, on which target, and the hash of the previous entry. Editing or
deleting any entry breaks the chain at that point, and `verify` says where.

Retention: the Market Abuse Regulation asks for the reasons of decisions (the decision
not to report included) to be kept for five years, so `RETENTION_YEARS` is five and
`prune` refuses to delete anything younger.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tapewatch.store.models import AuditEntry
from tapewatch.store.policy import RETENTION_YEARS

GENESIS = "0" * 64
_PRUNE = "audit.prune"


def now_us() -> int:
    """The time now, in µs since the epoch."""
    return time.time_ns() // 1000


def entry_hash(
    seq: int, at_us: int, actor: str, action: str, target: str, detail: str, prev_hash: str
) -> str:
    """The hash that chains an entry: SHA-256 over its fields and the previous hash."""
    blob = json.dumps([seq, at_us, actor, action, target, detail, prev_hash], ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def record(
    session: Session, actor: str, action: str, target: str, detail: dict[str, Any]
) -> AuditEntry:
    """Append one entry in the caller's transaction (it lands with the change it records).

    Two writers appending at once both try the same sequence number; the loser's commit
    fails on the primary key and its transaction is retried by `append`.
    """
    last = session.execute(
        sa.select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev = (1, GENESIS) if last is None else (int(last[0]) + 1, str(last[1]))
    text = json.dumps(detail, sort_keys=True, ensure_ascii=False, default=str)
    at = now_us()
    entry = AuditEntry(
        seq=seq,
        at_us=at,
        actor=actor,
        action=action,
        target=target,
        detail=text,
        prev_hash=prev,
        entry_hash=entry_hash(seq, at, actor, action, target, text, prev),
    )
    session.add(entry)
    return entry


def append(
    engine: sa.Engine, actor: str, action: str, target: str, detail: dict[str, Any]
) -> AuditEntry:
    """Append one entry in a transaction of its own."""
    for attempt in range(20):
        try:
            with Session(engine, expire_on_commit=False) as session, session.begin():
                return record(session, actor, action, target, detail)
        except IntegrityError:
            time.sleep(0.001 * (attempt + 1))
    raise RuntimeError("could not append to the audit log: too many concurrent writers")


@dataclass(frozen=True)
class Verification:
    """What `verify` found: entries checked, and the first broken one (None: intact)."""

    checked: int
    first_seq: int | None
    last_seq: int | None
    head_hash: str
    broken_at: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        """Whether the chain is intact."""
        return self.broken_at is None


def verify(engine: sa.Engine) -> Verification:
    """Walk the chain from the oldest entry and report the first edited, inserted or
    deleted entry. (The newest entries' deletion leaves a shorter valid chain: compare
    `head_hash` with one kept elsewhere to catch that.)"""
    checked = 0
    first: int | None = None
    expected_seq: int | None = None
    prev = GENESIS
    with engine.connect() as connection:
        rows = connection.execute(sa.select(AuditEntry.__table__).order_by(AuditEntry.seq))
        for row in rows:
            seq = int(row.seq)
            if first is None:
                first = seq
                if seq != 1:
                    anchor = _prune_anchor(engine)
                    if anchor != row.prev_hash:
                        return Verification(
                            checked, first, seq, prev, seq, "entries before it were deleted"
                        )
                prev = row.prev_hash
            elif seq != expected_seq:
                return Verification(
                    checked, first, seq, prev, expected_seq, "the entry is missing (deleted)"
                )
            if row.prev_hash != prev:
                return Verification(
                    checked, first, seq, prev, seq, "its previous hash does not match the chain"
                )
            computed = entry_hash(
                seq, int(row.at_us), row.actor, row.action, row.target, row.detail, row.prev_hash
            )
            if computed != row.entry_hash:
                return Verification(checked, first, seq, prev, seq, "its content was edited")
            prev = row.entry_hash
            expected_seq = seq + 1
            checked += 1
    last = None if expected_seq is None else expected_seq - 1
    return Verification(checked, first, last, prev)


def _prune_anchor(engine: sa.Engine) -> str | None:
    """The hash a prune recorded as the new start of the chain."""
    with engine.connect() as connection:
        detail = connection.execute(
            sa.select(AuditEntry.detail)
            .where(AuditEntry.action == _PRUNE)
            .order_by(AuditEntry.seq.desc())
            .limit(1)
        ).scalar_one_or_none()
    return None if detail is None else str(json.loads(detail).get("anchor"))


def prune(engine: sa.Engine, actor: str, keep_years: int = RETENTION_YEARS) -> int:
    """Delete entries older than `keep_years` (never fewer than the five MAR asks for);
    the deletion is itself an entry that records where the chain now starts."""
    if keep_years < RETENTION_YEARS:
        raise ValueError(
            f"audit entries are kept at least {RETENTION_YEARS} years (MAR); got {keep_years}"
        )
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=round(365.25 * keep_years))
    cutoff_us = int(cutoff.timestamp() * 1e6)
    with Session(engine) as session, session.begin():
        doomed = session.execute(
            sa.select(AuditEntry.seq).where(AuditEntry.at_us < cutoff_us)
        ).scalars()
        seqs = list(doomed)
        if not seqs:
            return 0
        first_kept = session.execute(
            sa.select(AuditEntry.prev_hash).where(AuditEntry.seq == max(seqs) + 1)
        ).scalar_one_or_none()
        session.execute(sa.delete(AuditEntry).where(AuditEntry.seq <= max(seqs)))
        record(
            session,
            actor,
            _PRUNE,
            "audit_log",
            {"deleted": len(seqs), "before_us": cutoff_us, "anchor": first_kept},
        )
    return len(seqs)
