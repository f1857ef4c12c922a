"""Per-number preferences: language and the STOP list, by pseudonym only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import NumberPrefs
from storage.privacy import is_pseudonym


def get_prefs(*, session: Session, pseudonym: str) -> NumberPrefs | None:
    """Return what the number behind `pseudonym` chose, or None if it never chose anything."""
    return session.get(NumberPrefs, pseudonym)


def _insert_if_missing(session: Session, row: dict[str, object]) -> None:
    # ON CONFLICT: a concurrent first choice from the same number is not an error.
    if session.get_bind().dialect.name == "postgresql":
        pg_insert = postgresql.insert(NumberPrefs).values(row)
        session.execute(pg_insert.on_conflict_do_nothing(index_elements=["pseudonym"]))
    else:
        lite_insert = sqlite.insert(NumberPrefs).values(row)
        session.execute(lite_insert.on_conflict_do_nothing(index_elements=["pseudonym"]))


def _prefs_for_update(session: Session, pseudonym: str, now: datetime) -> NumberPrefs:
    if not is_pseudonym(pseudonym):
        raise ValueError("preferences are keyed by pseudonym only")
    prefs = session.get(NumberPrefs, pseudonym)
    if prefs is None:
        _insert_if_missing(session, {"pseudonym": pseudonym, "created_at": now, "updated_at": now})
        prefs = session.get_one(NumberPrefs, pseudonym)
    return prefs


def set_language(*, session: Session, pseudonym: str, language: str, now: datetime) -> NumberPrefs:
    """Remember the language the number picked."""
    prefs = _prefs_for_update(session, pseudonym, now)
    prefs.language = language
    prefs.updated_at = now
    session.flush()
    return prefs


def set_language_chosen(*, session: Session, pseudonym: str, language: str, at: datetime) -> bool:
    """Remember a language picked at `at`, unless a later change is stored (False then)."""
    found = get_prefs(session=session, pseudonym=pseudonym)
    if found is not None and found.updated_at > at and found.language is not None:
        return False
    set_language(session=session, pseudonym=pseudonym, language=language, now=at)
    return True


def set_opted_out(
    *, session: Session, pseudonym: str, opted_out: bool, now: datetime
) -> NumberPrefs:
    """Put the number on the STOP list, or take it off; the first opt-out time is kept."""
    prefs = _prefs_for_update(session, pseudonym, now)
    if not opted_out:
        prefs.opted_out_at = None
    elif prefs.opted_out_at is None:
        prefs.opted_out_at = now
    prefs.updated_at = now
    session.flush()
    return prefs


def is_opted_out(*, session: Session, pseudonym: str) -> bool:
    """Tell whether the number sent STOP and has not come back."""
    prefs = session.get(NumberPrefs, pseudonym)
    return prefs is not None and prefs.opted_out_at is not None


def opted_out(*, session: Session, offset: int, limit: int) -> tuple[list[NumberPrefs], int]:
    """Return one page of the STOP list, latest opt-out first, and its length."""
    on_list = NumberPrefs.opted_out_at.is_not(None)
    total = session.scalar(select(func.count()).where(on_list)) or 0
    query = (
        select(NumberPrefs)
        .where(on_list)
        .order_by(NumberPrefs.opted_out_at.desc(), NumberPrefs.pseudonym)
        .offset(offset)
        .limit(limit)
    )
    return list(session.scalars(query)), total
