"""Users (create, authenticate) and the audit log (append only).

Functions add and flush but never commit: the caller owns the transaction. The audit log
has no update or delete function on purpose: an entry, once written, stays as written.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from storage.models import AuditEntry, Role, User

MIN_PASSWORD_LENGTH = 12
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
_hasher = PasswordHasher()


class InvalidUser(ValueError):
    """A username, role or password that cannot be accepted; the message says why."""


@cache
def _dummy_hash() -> str:
    return _hasher.hash("not a password anyone has")


def check_password(password: str) -> None:
    """Refuse a password too short to resist guessing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidUser(
            f"the password is too short: use at least {MIN_PASSWORD_LENGTH} characters"
        )


def is_username(text: str) -> bool:
    """Tell whether `text` has the shape of a username (so it may be stored or looked up)."""
    return _USERNAME.fullmatch(text) is not None


def _check_username(username: str) -> None:
    if not is_username(username):
        raise InvalidUser(
            "a username is 2 to 64 characters: lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )


def _check_role(role: str) -> None:
    if role not in set(Role):
        raise InvalidUser(f"unknown role {role!r}: use one of {', '.join(Role)}")


def find_user(*, session: Session, username: str) -> User | None:
    """Return the user named `username`, active or not."""
    return session.scalar(select(User).where(User.username == username))


def still_allowed(*, session: Session, username: str, role: str) -> bool:
    """The user exists, is active and still has `role` (the one their sign-in was for)."""
    user = find_user(session=session, username=username)
    return user is not None and user.active and user.role == role


def create_user(
    *, session: Session, username: str, password: str, role: str, now: datetime
) -> User:
    """Add an active user with an Argon2 hash of `password`; refuse a taken name."""
    _check_username(username)
    _check_role(role)
    check_password(password)
    if find_user(session=session, username=username) is not None:
        raise InvalidUser(f"a user named {username!r} already exists")
    user = User(
        username=username,
        password_hash=_hasher.hash(password),
        role=role,
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(*, session: Session, username: str, password: str, now: datetime) -> User | None:
    """Return the active user whose password this is, and record the login; else None.

    An unknown or inactive name still costs one hash verification, so the response time
    does not tell which names exist.
    """
    user = find_user(session=session, username=username) if is_username(username) else None
    if user is None or not user.active:
        _verify(_dummy_hash(), password)
        return None
    if not _verify(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = now
    session.flush()
    return user


def hash_ip(*, key: bytes, ip: str | None) -> str | None:
    """A keyed hash of a client address, for the audit log and throttling."""
    if not ip:
        return None
    return hmac.new(key, ip.encode(), hashlib.sha256).hexdigest()


def audit(
    *,
    session: Session,
    actor: str,
    action: str,
    now: datetime,
    target: str | None = None,
    data: dict[str, Any] | None = None,
    ip_hash: str | None = None,
) -> AuditEntry:
    """Append one entry to the audit log; `data` must hold no personal content."""
    entry = AuditEntry(
        at=now,
        actor=actor[:64],
        action=action,
        target=None if target is None else target[:128],
        data=data or {},
        ip_hash=ip_hash,
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which entries to read; every field left None matches all.

    `action` matches exactly, or as a prefix when it ends with "." or "*" ("case." and
    "case*" both find "case.view_text"). `since` is inclusive, `until` exclusive.
    """

    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _action_clause(action: str) -> ColumnElement[bool]:
    if action.endswith("*"):
        return AuditEntry.action.startswith(action[:-1], autoescape=True)
    if action.endswith("."):
        return AuditEntry.action.startswith(action, autoescape=True)
    return AuditEntry.action == action


def _audit_clauses(where: AuditFilter) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if where.actor is not None:
        clauses.append(AuditEntry.actor == where.actor)
    if where.action is not None:
        clauses.append(_action_clause(where.action))
    if where.target is not None:
        clauses.append(AuditEntry.target == where.target)
    if where.since is not None:
        clauses.append(AuditEntry.at >= where.since)
    if where.until is not None:
        clauses.append(AuditEntry.at < where.until)
    return clauses


def find_audit_entries(
    *, session: Session, where: AuditFilter, offset: int, limit: int
) -> tuple[list[AuditEntry], int]:
    """Return one page of matching entries, newest first, and how many match in all."""
    clauses = _audit_clauses(where)
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(*clauses)) or 0
    query = (
        select(AuditEntry)
        .where(*clauses)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(session.scalars(query)), total


def audit_entries(
    *, session: Session, action: str | None = None, limit: int = 100
) -> list[AuditEntry]:
    """Return the latest entries, newest first, optionally of one action."""
    entries, _total = find_audit_entries(
        session=session, where=AuditFilter(action=action), offset=0, limit=limit
    )
    return entries
