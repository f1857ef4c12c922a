"""The database itself refuses to change or remove an audit entry (migration 0006)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from storage.db import utcnow
from storage.models import AuditEntry
from storage.users import audit


@pytest.fixture
def entry_id(db: sessionmaker[Session]) -> int:
    with db.begin() as session:
        return audit(session=session, actor="ada", action="case.close", now=utcnow()).id


def _unchanged(db: sessionmaker[Session], entry_id: int) -> None:
    with db() as session:
        entry = session.get(AuditEntry, entry_id)
        assert entry is not None
        assert (entry.actor, entry.action) == ("ada", "case.close")


def test_an_update_is_refused(db: sessionmaker[Session], entry_id: int) -> None:
    with pytest.raises(DBAPIError, match="append-only"), db.begin() as session:
        session.execute(update(AuditEntry).where(AuditEntry.id == entry_id).values(actor="eve"))
    _unchanged(db, entry_id)


def test_a_delete_is_refused(db: sessionmaker[Session], entry_id: int) -> None:
    with pytest.raises(DBAPIError, match="append-only"), db.begin() as session:
        session.execute(delete(AuditEntry))
    _unchanged(db, entry_id)


def test_an_orm_change_is_refused(db: sessionmaker[Session], entry_id: int) -> None:
    with db() as session:
        entry = session.scalars(select(AuditEntry)).one()
        entry.action = "nothing.happened"
        with pytest.raises(DBAPIError, match="append-only"):
            session.commit()
    _unchanged(db, entry_id)


def test_raw_sql_is_refused_too(db: sessionmaker[Session], entry_id: int) -> None:
    with pytest.raises(DBAPIError, match="append-only"), db.begin() as session:
        session.execute(text("UPDATE audit_entries SET target = 'x'"))
    _unchanged(db, entry_id)


def test_new_entries_are_still_appended(db: sessionmaker[Session], entry_id: int) -> None:
    with db.begin() as session:
        audit(session=session, actor="cora", action="case.view_text", now=utcnow())
    with db() as session:
        assert len(session.scalars(select(AuditEntry)).all()) == 2
