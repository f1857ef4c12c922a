"""Users (create, authenticate, scope) and the audit log (append only).

Functions add and flush but never commit: the caller owns the transaction. The audit log
has no update or delete function on purpose: an entry, once written, stays as written.

A user's scope is what they may see of the cases: everything (admins, and coordinators or
analysts without scope rows), the cases of some committees, or the cases of a place and
everything under it. `storage.casequery.scope_clause` turns it into SQL.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from storage.models import AuditEntry, Committee, Location, Role, User, UserScope

MIN_PASSWORD_LENGTH = 12
# A page view that shows free text is written only when the same user has no entry of the
# same kind ("case.", "outbox.", "signal.") on the same target in this window: the landing
# back after an action, or a reload, is covered by the entry already there.
VIEW_WINDOW = timedelta(minutes=10)
# Actors that are not users: `sauti` commands, and the retention job.
OTHER_ACTORS = ("cli", "system:retention")
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


@dataclass(frozen=True, slots=True)
class Scope:
    """What a user may see: every case when both fields are empty, else the cases held by
    one of `committee_ids`, or the cases of the place at `place_path` and everything under
    it. `label` says it in words ("North Kivu and everything under it")."""

    committee_ids: frozenset[int] = frozenset()
    place_path: str | None = None
    label: str = "everything"

    @property
    def everything(self) -> bool:
        return not self.committee_ids and self.place_path is None


EVERYTHING = Scope()


def scope_of(*, session: Session, user: User) -> Scope:
    """The user's scope as stored (admins: always everything)."""
    if user.role == Role.ADMIN:
        return EVERYTHING
    rows = session.execute(
        select(Committee.id, Committee.name, Location.path, Location.name)
        .select_from(UserScope)
        .outerjoin(Committee, UserScope.committee_id == Committee.id)
        .outerjoin(Location, UserScope.location_id == Location.id)
        .where(UserScope.user_id == user.id)
        .order_by(UserScope.id)
    ).all()
    places = [(path, name) for _id, _committee, path, name in rows if path is not None]
    if places:
        path, name = places[0]
        return Scope(place_path=path, label=f"{name} and everything under it")
    committees = [(ident, name) for ident, name, _path, _place in rows if ident is not None]
    if not committees:
        return EVERYTHING
    return Scope(
        committee_ids=frozenset(ident for ident, _name in committees),
        label=", ".join(name for _ident, name in committees),
    )


def _committee_ids(session: Session, codes: Sequence[str]) -> list[int]:
    query = select(Committee.code, Committee.id).where(Committee.code.in_(codes))
    found: dict[str, int] = dict(session.execute(query).all())
    unknown = [code for code in codes if code not in found]
    if unknown:
        raise InvalidUser(f"no committee has the code {unknown[0]!r}")
    return list(dict.fromkeys(found[code] for code in codes))


def _location_id(session: Session, code: str) -> int:
    found = session.scalar(select(Location.id).where(Location.code == code))
    if found is None:
        raise InvalidUser(f"no place has the code {code!r}")
    return found


def set_scope(
    *, session: Session, user: User, committees: Sequence[str] = (), place: str | None = None
) -> Scope:
    """Replace the user's scope: some committees (by code), or one place (by code) and
    everything under it; neither clears it (the user sees everything). Admins are never
    scoped; unknown codes are refused."""
    if committees and place is not None:
        raise InvalidUser("a scope is some committees or one place, not both")
    if user.role == Role.ADMIN and (committees or place is not None):
        raise InvalidUser("an admin sees everything: only coordinators and analysts are scoped")
    rows = [UserScope(user_id=user.id, committee_id=i) for i in _committee_ids(session, committees)]
    if place is not None:
        rows = [UserScope(user_id=user.id, location_id=_location_id(session, place))]
    session.execute(delete(UserScope).where(UserScope.user_id == user.id))
    session.add_all(rows)
    session.flush()
    return scope_of(session=session, user=user)


def access(*, session: Session, username: str, role: str) -> Scope | None:
    """The scope of a signed-in user who still exists, is active and has `role`; None when
    they no longer may come in (what `still_allowed` checks, with the scope in one read)."""
    user = find_user(session=session, username=username)
    if user is None or not user.active or user.role != role:
        return None
    return scope_of(session=session, user=user)


def user_scope(*, session: Session, username: str) -> Scope:
    """The scope of the user named `username` (an unknown name: everything, since such a
    user is refused sign-in before any scope is asked for)."""
    user = find_user(session=session, username=username)
    return EVERYTHING if user is None else scope_of(session=session, user=user)


def queue_seen(*, session: Session, username: str) -> datetime | None:
    """When the user last marked their work queue seen (None: never)."""
    return session.scalar(select(User.queue_seen_at).where(User.username == username))


def mark_queue_seen(*, session: Session, username: str, now: datetime) -> None:
    """Record that the user has seen every case in their queue as of `now`."""
    user = find_user(session=session, username=username)
    if user is not None:
        user.queue_seen_at = now
        session.flush()


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


def _family(action: str) -> str:
    return action.partition(".")[0] + "."


def audit_view(
    *,
    session: Session,
    actor: str,
    action: str,
    target: str,
    now: datetime,
    ip_hash: str | None = None,
) -> AuditEntry | None:
    """Record that `actor` was shown the free text of `target`, unless an entry of theirs of
    the same kind on that target is under `VIEW_WINDOW` old; return the entry written."""
    recent = select(AuditEntry.id).where(
        AuditEntry.actor == actor[:64],
        AuditEntry.target == target[:128],
        AuditEntry.action.startswith(_family(action), autoescape=True),
        AuditEntry.at > now - VIEW_WINDOW,
    )
    if session.scalar(recent.limit(1)) is not None:
        return None
    return audit(
        session=session, actor=actor, action=action, target=target, ip_hash=ip_hash, now=now
    )


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which entries to read; every field left None matches all.

    `action` matches exactly, or as a prefix when it ends with "." or "*" ("case." and
    "case*" both find "case.view_text"). `since` is inclusive, `until` exclusive. A case's
    entries have its canonical number as `target`.
    """

    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    # Any of these actors (the console's list of users); None or empty: all.
    actors: tuple[str, ...] | None = None


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
    if where.actors:
        clauses.append(AuditEntry.actor.in_(where.actors))
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


def audit_actors(*, session: Session) -> list[str]:
    """The users' names and the other actors that write entries (the command line, the
    retention job), sorted."""
    names = set(session.scalars(select(User.username)))
    return sorted(names | set(OTHER_ACTORS))
