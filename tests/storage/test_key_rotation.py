"""Key rotation: old ciphertext stays readable through an encryption key change, and a new
pseudonym key re-keys members while reporters' rows become deliberately unlinkable."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from storage import cases, outbox, prefs
from storage.committees import import_committees_yaml, members_for_pseudonym
from storage.db import make_sessionmaker
from storage.key_rotation import ENCRYPTED, KeyUnchanged, rotate_encryption, rotate_pseudonyms
from storage.models import (
    AuditEntry,
    Case,
    CaseEvent,
    CommitteeMember,
    MessageKind,
    NumberPrefs,
    OutboxMessage,
    RecipientKind,
)
from storage.privacy import Crypto, DecryptionFailed
from tests.storage.conftest import ENCRYPTION_KEY, PSEUDONYM_KEY

NEW_KEY = "q1f3bM0m8oQ2n0lJ7XlE5v0QeG2tq8cRr8m3yO9pB6Y="
NEW_PSEUDONYM_KEY = b"a-brand-new-pseudonym-key-0123456789abcdef"
CONTACT = "+243990000077"
MEMBER = "+243810000055"
REPORTER = "+243990000042"
COMMITTEE = f"""\
- code: walikale-local
  name: Walikale local committee
  level: local
  location: cd-nk-walikale
  categories: all
  language: sw
  timezone: Africa/Lubumbashi
  digest_at: "18:00"
  members:
    - {{name: Focal point, phone: "{MEMBER}", language: fr}}
"""


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def stored(
    session: Session,
    crypto: Crypto,
    make_case: Callable[..., Case],
    demo_places: None,
    now: datetime,
) -> Case:
    """A case with encrypted description, place, contact, note and SMS, under the old key."""
    case = make_case(contact=CONTACT, place_text="near the river")
    cases.message_reporter(
        session=session, crypto=crypto, case=case, actor="user:a", text="we are coming", now=now
    )
    outbox.queue_sms(
        session=session,
        crypto=crypto,
        dedupe_key="one",
        to_e164=CONTACT,
        body="we are coming",
        language="sw",
        kind=MessageKind.REPORTER_MESSAGE,
        recipient_kind=RecipientKind.REPORTER,
        case_id=case.id,
        now=now,
    )
    session.commit()
    return case


def _plain(sessions: sessionmaker[Session], crypto: Crypto, case_id: int) -> dict[str, str]:
    """Every encrypted value of the case, decrypted with `crypto`."""
    with sessions() as session:
        case = session.get_one(Case, case_id)
        message = session.scalars(select(CaseEvent).where(CaseEvent.kind == "message")).one()
        sms = session.scalars(select(OutboxMessage)).one()
        status = cases.status_view(session=session, crypto=crypto, case=case)
        assert case.description_enc
        assert case.place_text_enc
        assert case.contact_enc
        assert message.body_enc
        assert sms.to_enc
        return {
            "description": crypto.decrypt(case.description_enc),
            "place": crypto.decrypt(case.place_text_enc),
            "contact": crypto.decrypt(case.contact_enc),
            "message": crypto.decrypt(message.body_enc),
            "status message": status.message or "",
            "sms to": crypto.decrypt(sms.to_enc),
            "sms body": crypto.decrypt(sms.body_enc),
        }


def _all_tokens(sessions: sessionmaker[Session]) -> list[bytes]:
    tokens: list[bytes] = []
    with sessions() as session:
        for model, columns in ENCRYPTED:
            for name in columns:
                tokens += [t for t in session.scalars(select(getattr(model, name))) if t]
    return tokens


EXPECTED = {
    "description": "Something happened at the pit",
    "place": "near the river",
    "contact": CONTACT,
    "message": "we are coming",
    "status message": "we are coming",
    "sms to": CONTACT,
    "sms body": "we are coming",
}


def test_a_new_key_in_front_reads_old_data_rewrites_it_and_the_old_key_can_go(
    sessions: sessionmaker[Session], stored: Case, now: datetime
) -> None:
    both = Crypto(PSEUDONYM_KEY, f"{NEW_KEY},{ENCRYPTION_KEY}")
    assert _plain(sessions, both, stored.id) == EXPECTED
    assert not any(both.is_current(token) for token in _all_tokens(sessions))

    tallies = rotate_encryption(sessions=sessions, crypto=both, now=now, batch=1)

    assert {t.table: (t.rewritten, t.current, t.unreadable) for t in tallies} == {
        "cases": (3, 0, 0),
        "case_events": (1, 0, 0),
        "outbox_messages": (2, 0, 0),
        "call_recordings": (0, 0, 0),
        "signals": (0, 0, 0),
    }
    new_only = Crypto(PSEUDONYM_KEY, NEW_KEY)
    assert _plain(sessions, new_only, stored.id) == EXPECTED
    assert all(new_only.is_current(token) for token in _all_tokens(sessions))
    with sessions() as session:
        entry = session.scalars(select(AuditEntry)).one()
    assert (entry.actor, entry.action) == ("cli", "keys.rotate_encryption")
    assert entry.data["cases"] == {"rewritten": 3, "current": 0, "unreadable": 0, "changed": 0}


def test_a_second_rotation_skips_what_is_already_under_the_new_key(
    sessions: sessionmaker[Session], stored: Case, now: datetime
) -> None:
    both = Crypto(PSEUDONYM_KEY, f"{NEW_KEY},{ENCRYPTION_KEY}")
    rotate_encryption(sessions=sessions, crypto=both, now=now)
    tokens = _all_tokens(sessions)

    again = rotate_encryption(sessions=sessions, crypto=both, now=now)

    assert [(t.rewritten, t.current) for t in again] == [(0, 3), (0, 1), (0, 2), (0, 0), (0, 0)]
    assert _all_tokens(sessions) == tokens


def test_removing_the_old_key_before_rotating_fails_loudly_without_breaking_the_status_check(
    sessions: sessionmaker[Session],
    stored: Case,
    now: datetime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    new_only = Crypto(PSEUDONYM_KEY, NEW_KEY)
    with sessions() as session:
        case = session.get_one(Case, stored.id)
        assert case.description_enc is not None
        with pytest.raises(DecryptionFailed):
            new_only.decrypt(case.description_enc)
        with caplog.at_level(logging.ERROR, logger="storage.cases"):
            view = cases.status_view(session=session, crypto=new_only, case=case)
    # The reporter still learns the status; the operator sees an error in the log.
    assert (view.status, view.message) == ("received", None)
    assert "matches no configured encryption key" in caplog.text

    tallies = rotate_encryption(sessions=sessions, crypto=new_only, now=now)

    assert [t.unreadable for t in tallies] == [3, 1, 2, 0, 0]
    assert [t.rewritten for t in tallies] == [0, 0, 0, 0, 0]
    old = Crypto(PSEUDONYM_KEY, ENCRYPTION_KEY)
    assert _plain(sessions, old, stored.id) == EXPECTED


def _committee(session: Session, crypto: Crypto) -> CommitteeMember:
    import_committees_yaml(session=session, crypto=crypto, source=io.StringIO(COMMITTEE))
    return session.scalars(select(CommitteeMember)).one()


@pytest.fixture
def keyed(session: Session, crypto: Crypto, demo_places: None, now: datetime) -> CommitteeMember:
    """A member with a language choice and an alert, and a reporter on the STOP list."""
    member = _committee(session, crypto)
    prefs.set_language(session=session, pseudonym=member.phone_pseudonym, language="ln", now=now)
    prefs.set_opted_out(
        session=session, pseudonym=crypto.pseudonym(REPORTER), opted_out=True, now=now
    )
    outbox.queue_sms(
        session=session,
        crypto=crypto,
        dedupe_key="alert",
        to_e164=MEMBER,
        body="an alert",
        language="fr",
        kind=MessageKind.ALERT,
        recipient_kind=RecipientKind.MEMBER,
        member_id=member.id,
        now=now,
    )
    session.commit()
    return member


def test_a_new_pseudonym_key_rekeys_members_and_drops_reporters_rows(
    session: Session, keyed: CommitteeMember, now: datetime
) -> None:
    new = Crypto(NEW_PSEUDONYM_KEY, ENCRYPTION_KEY)

    done = rotate_pseudonyms(session=session, crypto=new, now=now)
    session.commit()

    assert (done.members, done.member_prefs, done.prefs_dropped, done.messages) == (1, 1, 1, 1)
    [member] = members_for_pseudonym(session=session, pseudonym=new.pseudonym(MEMBER))
    assert member.id == keyed.id
    member_prefs = prefs.get_prefs(session=session, pseudonym=new.pseudonym(MEMBER))
    assert member_prefs is not None
    assert member_prefs.language == "ln"
    assert session.scalar(select(func.count()).select_from(NumberPrefs)) == 1
    # The reporter's STOP cannot follow: neither pseudonym finds it any more.
    assert not prefs.is_opted_out(session=session, pseudonym=new.pseudonym(REPORTER))
    alert = session.scalars(select(OutboxMessage)).one()
    assert alert.to_pseudonym == new.pseudonym(MEMBER)
    entry = session.scalars(select(AuditEntry)).one()
    assert (entry.action, entry.data["prefs_dropped"]) == ("keys.rotate_pseudonym", 1)


def test_rotating_pseudonyms_again_is_refused_and_keeps_the_stop_list(
    session: Session, keyed: CommitteeMember, now: datetime
) -> None:
    new = Crypto(NEW_PSEUDONYM_KEY, ENCRYPTION_KEY)
    rotate_pseudonyms(session=session, crypto=new, now=now)
    prefs.set_opted_out(session=session, pseudonym=new.pseudonym(REPORTER), opted_out=True, now=now)
    session.commit()

    with pytest.raises(KeyUnchanged):
        rotate_pseudonyms(session=session, crypto=new, now=now)
    session.rollback()

    assert prefs.is_opted_out(session=session, pseudonym=new.pseudonym(REPORTER))
