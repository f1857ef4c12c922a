"""People who sign in to the console and the API, and the audit log of what they do."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, String, true
from sqlalchemy.orm import Mapped, mapped_column

from storage.db import Base, UtcDateTime, one_of


class Role(StrEnum):
    """Admin: everything. Coordinator: cases, committees, places. Analyst: statistics and
    anonymised case fields, never free text or contacts."""

    ADMIN = "admin"
    COORDINATOR = "coordinator"
    ANALYST = "analyst"


# Roles that may read what reporters and committees wrote (descriptions, notes, messages).
FREE_TEXT_ROLES = frozenset({Role.ADMIN, Role.COORDINATOR})


class User(Base):
    """A console or API user.

    Lifecycle: created by `sauti admin create-user`; `last_login_at` is set at each
    successful login; deactivated (never deleted: the audit log names them) to revoke access.
    Only an Argon2 hash of the password is stored. `queue_seen_at` is when the user last
    opened their work queue (the cases list), so the list can mark what came in since.
    """

    __tablename__ = "users"
    __table_args__ = (one_of("role", Role),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    queue_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class UserScope(Base):
    """One part of what a coordinator or analyst may see: a committee, or a place and
    everything under it (exactly one of the two per row).

    A user without rows sees everything (a national coordinator); a user's rows are all
    committees or one place, never a mix (`storage.users.set_scope` keeps it so). Admins
    are never scoped. Set by `sauti admin create-user` and `sauti admin scope`.
    """

    __tablename__ = "user_scopes"
    __table_args__ = (
        CheckConstraint(
            "(committee_id IS NULL) <> (location_id IS NULL)", name="committee_or_place"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    committee_id: Mapped[int | None] = mapped_column(ForeignKey("committees.id"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))


class AuditEntry(Base):
    """One thing someone did: who (`actor`), when (`at`), what (`action`) to what (`target`).

    Append-only: `storage.users` offers no way to change or remove an entry. `data` holds
    structured detail and never personal content (no free text, no phone numbers);
    `ip_hash` is a keyed hash of the client address, so repeated attempts from one place
    can be told apart without keeping the address.
    """

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str | None] = mapped_column(String(128))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip_hash: Mapped[str | None] = mapped_column(String(64))
