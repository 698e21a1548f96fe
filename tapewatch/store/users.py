"""Users and their API keys.

A key is `tw_<key_id>_<secret>`: the key id finds the row, the secret is checked against
a salted SHA-256 hash. The secret is 32 random bytes, so a slow password hash would add
nothing against guessing and would cost every API request milliseconds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tapewatch.store.audit import now_us, record
from tapewatch.store.models import ApiKey, Role, User

_PREFIX = "tw_"


@dataclass(frozen=True)
class Principal:
    """Who a request acts as."""

    name: str
    role: Role

    def may(self, needed: Role) -> bool:
        """Whether this user's role covers `needed`."""
        return self.role.rank >= needed.rank


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def add_user(engine: sa.Engine, name: str, role: Role, actor: str = "cli") -> str:
    """Create a user (or give an existing one a new role) and a new API key; the key
    itself is returned once and never stored."""
    if not name.strip():
        raise ValueError("a user needs a name")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    at = now_us()
    with Session(engine) as session, session.begin():
        user = session.get(User, name)
        if user is None:
            session.add(User(name=name, role=role.value, created_us=at))
        else:
            user.role = role.value
        session.flush()
        session.add(
            ApiKey(
                key_id=key_id,
                user_name=name,
                salt=salt,
                key_hash=_hash(salt, secret),
                created_us=at,
                revoked=False,
            )
        )
        record(session, actor, "user.add", name, {"role": role.value, "key_id": key_id})
    return f"{_PREFIX}{key_id}_{secret}"


def authenticate(engine: sa.Engine, key: str) -> Principal | None:
    """The user an API key belongs to, or None for an unknown, wrong or revoked key."""
    if not key.startswith(_PREFIX):
        return None
    key_id, _, secret = key[len(_PREFIX) :].partition("_")
    if not key_id or not secret:
        return None
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(ApiKey.salt, ApiKey.key_hash, ApiKey.revoked, User.name, User.role)
            .join(User, User.name == ApiKey.user_name)
            .where(ApiKey.key_id == key_id)
        ).first()
    if row is None or row.revoked:
        return None
    if not hmac.compare_digest(_hash(row.salt, secret), row.key_hash):
        return None
    return Principal(row.name, Role(row.role))


def revoke_keys(engine: sa.Engine, name: str, actor: str = "cli") -> int:
    """Revoke every key of a user; how many were revoked."""
    with Session(engine) as session, session.begin():
        keys = list(
            session.execute(
                sa.select(ApiKey).where(ApiKey.user_name == name, ApiKey.revoked.is_(False))
            ).scalars()
        )
        for k in keys:
            k.revoked = True
        if keys:
            record(session, actor, "user.revoke", name, {"keys": [k.key_id for k in keys]})
    return len(keys)


def list_users(engine: sa.Engine) -> list[tuple[str, str, int]]:
    """Every user with role and number of live keys."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(User.name, User.role, sa.func.count(ApiKey.key_id))
            .outerjoin(ApiKey, (ApiKey.user_name == User.name) & ApiKey.revoked.is_(False))
            .group_by(User.name, User.role)
            .order_by(User.name)
        ).all()
    return [(str(r[0]), str(r[1]), int(r[2])) for r in rows]
