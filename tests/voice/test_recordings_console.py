"""A case's spoken answer in the console: a player for admins and coordinators, whose
audio is decrypted per request, never cached, each request audited; analysts get no
player and a 403; the description says "Spoken answer (recording)", not the token."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage import recordings
from storage.casenumber import display
from storage.cases import create_report
from storage.keys import load_crypto
from storage.models import AuditEntry
from storage.settings import Settings
from tests.admin import conftest as admin_fixtures
from tests.admin.conftest import Browser

ACCOUNT = "AC" + "0" * 32
URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/RE" + "ab" * 16
AUDIO = b"ID3\x03\x00" + b"a caller's voice " * 50
NOW = datetime(2026, 12, 11, 10, 0, tzinfo=UTC)

app_client = admin_fixtures.app_client
browser = admin_fixtures.browser
db = admin_fixtures.db
run_jobs = admin_fixtures.run_jobs
users = admin_fixtures.users


@pytest.fixture
def spoken_case(
    settings: Settings,
    db: sessionmaker[Session],
    users: dict[str, str],
) -> tuple[str, str]:
    """A voice case whose description is a spoken answer, its audio stored; (number, ref)."""
    crypto = load_crypto(settings)
    with db.begin() as session:
        ref = recordings.accept(
            session=session,
            crypto=crypto,
            provider="twilio",
            provider_id=None,
            url=URL,
            duration_seconds=9,
            owner=crypto.pseudonym("+243990000042"),
            now=NOW,
        )
        assert recordings.claim(session=session, crypto=crypto, ref=ref, now=NOW) is not None
        recordings.store(
            session=session,
            crypto=crypto,
            ref=ref,
            content=AUDIO,
            content_type="audio/mpeg",
            now=NOW,
        )
        case = create_report(
            session=session,
            crypto=crypto,
            pseudonym=crypto.pseudonym("+243990000042"),
            channel="voice",
            language="sw",
            answers={
                "category": "illegal_tax",
                "place_code": "cd-nk-walikale-mpama",
                "when": "today",
                "danger_now": "no",
                "description": recordings.spoken_text(ref),
                "sms_updates": "no",
            },
            contact_e164=None,
            flow_version="v1",
            rng=random.Random(11),
            now=NOW,
        )
        return case.number, ref


def listens(db: sessionmaker[Session]) -> list[AuditEntry]:
    with db() as session:
        query = select(AuditEntry).where(AuditEntry.action == recordings.LISTEN)
        return list(session.scalars(query))


@pytest.mark.parametrize("role", ["admin", "coordinator"])
def test_a_free_text_role_sees_a_player_and_hears_the_audio_audited(
    role: str,
    browser: Callable[[str], Browser],
    spoken_case: tuple[str, str],
    db: sessionmaker[Session],
    users: dict[str, str],
) -> None:
    number, ref = spoken_case
    user = browser(role)
    page = user.get(f"/admin/cases/{display(number)}")
    assert page.status_code == 200
    source = f"/admin/cases/{number}/recordings/{ref}"
    assert '<audio controls preload="none">' in page.text
    assert f'<source src="{source}" type="audio/mpeg">' in page.text
    assert "Spoken answer (recording)" in page.text
    assert "[spoken answer" not in page.text
    assert listens(db) == []  # the page alone plays nothing

    heard = user.get(source)

    assert heard.status_code == 200
    assert heard.content == AUDIO
    assert heard.headers["content-type"] == "audio/mpeg"
    assert heard.headers["cache-control"] == "no-store"
    (entry,) = listens(db)
    assert (entry.actor, entry.target) == (users[role], number)
    assert entry.data == {"ref": ref, "bytes": len(AUDIO)}
    user.get(source)
    assert len(listens(db)) == 2  # every request, not every page


def test_an_analyst_gets_no_player_and_no_audio(
    browser: Callable[[str], Browser],
    spoken_case: tuple[str, str],
    db: sessionmaker[Session],
) -> None:
    number, ref = spoken_case
    user = browser("analyst")
    page = user.get(f"/admin/cases/{display(number)}")
    assert page.status_code == 200
    assert "<audio" not in page.text
    assert ref not in page.text
    heard = user.get(f"/admin/cases/{number}/recordings/{ref}")
    assert heard.status_code == 403
    assert AUDIO not in heard.content
    assert listens(db) == []


def test_a_ref_of_another_case_or_none_is_not_found(
    browser: Callable[[str], Browser],
    spoken_case: tuple[str, str],
    db: sessionmaker[Session],
    settings: Settings,
) -> None:
    number, _ = spoken_case
    crypto = load_crypto(settings)
    with db.begin() as session:
        other = recordings.accept(
            session=session,
            crypto=crypto,
            provider="africastalking",
            provider_id=None,
            url="https://voice.africastalking.com/r/1.mp3",
            duration_seconds=None,
            owner=crypto.pseudonym("+243990000042"),
            now=NOW,
        )
    user = browser("admin")
    for path in (
        f"/admin/cases/{number}/recordings/{other}",  # linked to no case
        f"/admin/cases/{number}/recordings/not-a-ref",
        f"/admin/cases/{number}/recordings/{'z' * 12}",
    ):
        assert user.get(path).status_code == 404, path
    assert listens(db) == []
