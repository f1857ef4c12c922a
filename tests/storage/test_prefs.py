"""Per-number preferences and the STOP list."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from storage.prefs import get_prefs, is_opted_out, set_language, set_opted_out
from storage.privacy import Crypto


@pytest.fixture
def pseudonym(crypto: Crypto) -> str:
    return crypto.pseudonym("+250788123456")


def test_unknown_number_has_no_prefs_and_is_not_opted_out(session: Session, pseudonym: str) -> None:
    assert get_prefs(session=session, pseudonym=pseudonym) is None
    assert not is_opted_out(session=session, pseudonym=pseudonym)


def test_language_is_remembered_and_can_change(
    session: Session, pseudonym: str, now: datetime
) -> None:
    set_language(session=session, pseudonym=pseudonym, language="rw", now=now)
    later = now + timedelta(days=1)
    set_language(session=session, pseudonym=pseudonym, language="fr", now=later)
    session.commit()
    prefs = get_prefs(session=session, pseudonym=pseudonym)
    assert prefs is not None
    assert (prefs.language, prefs.created_at, prefs.updated_at) == ("fr", now, later)


def test_stop_then_start(session: Session, pseudonym: str, now: datetime) -> None:
    set_opted_out(session=session, pseudonym=pseudonym, opted_out=True, now=now)
    set_opted_out(
        session=session, pseudonym=pseudonym, opted_out=True, now=now + timedelta(hours=1)
    )
    session.commit()
    prefs = get_prefs(session=session, pseudonym=pseudonym)
    assert prefs is not None
    assert prefs.opted_out_at == now
    assert prefs.language is None
    assert is_opted_out(session=session, pseudonym=pseudonym)
    set_opted_out(session=session, pseudonym=pseudonym, opted_out=False, now=now)
    assert not is_opted_out(session=session, pseudonym=pseudonym)


def test_preferences_are_keyed_by_pseudonym_only(session: Session, now: datetime) -> None:
    with pytest.raises(ValueError, match="pseudonym"):
        set_language(session=session, pseudonym="+250788123456", language="rw", now=now)


def test_a_row_another_session_created_is_reused(
    engine_sessions: tuple[Session, Session], pseudonym: str, now: datetime
) -> None:
    first, second = engine_sessions
    set_language(session=first, pseudonym=pseudonym, language="rn", now=now)
    first.commit()
    set_opted_out(session=second, pseudonym=pseudonym, opted_out=True, now=now)
    second.commit()
    prefs = get_prefs(session=first, pseudonym=pseudonym)
    assert prefs is not None
    first.refresh(prefs)
    assert (prefs.language, prefs.opted_out_at) == ("rn", now)
