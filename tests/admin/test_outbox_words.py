"""The outbox in words: every message kind named, and a short preview of each text for the
roles that read free text, with the preview audited."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.admin.outbox import KIND_WORDS, PREVIEW_LENGTH, STATUS_WORDS, previews
from storage import outbox
from storage.db import utcnow
from storage.keys import load_crypto
from storage.models import AuditEntry, MessageKind, OutboxStatus, Role
from storage.settings import Settings
from tests.admin.conftest import Browser

LONG = (
    "Alert: case 482-177-3506 (Walikale). Soldiers take 2000 francs at the barrier "
    "every morning; answer ACK 4821773506"
)


def _queue(db: sessionmaker[Session], settings: Settings, kind: str, body: str, n: int) -> int:
    with db.begin() as session:
        message = outbox.queue_sms(
            session=session,
            crypto=load_crypto(settings),
            dedupe_key=f"words-{kind}-{n}",
            to_e164="+243990000077",
            body=body,
            language="en",
            kind=kind,
            recipient_kind="reporter",
            now=utcnow() - timedelta(minutes=n),
        )
        assert message is not None
        return message.id


def _previews(db: sessionmaker[Session]) -> list[AuditEntry]:
    with db() as session:
        query = select(AuditEntry).where(AuditEntry.action == "outbox.previews")
        return list(session.scalars(query.order_by(AuditEntry.id)))


def test_every_kind_and_status_has_words() -> None:
    assert set(KIND_WORDS) == set(MessageKind)
    assert set(STATUS_WORDS) == set(OutboxStatus)
    for word in KIND_WORDS.values():
        assert "_" not in word
        assert word[0].isupper()


def test_the_list_names_kinds_in_words(
    browser: Callable[[str], Browser], db: sessionmaker[Session], settings: Settings
) -> None:
    for n, kind in enumerate(MessageKind):
        _queue(db, settings, kind, f"Text of a {kind} message", n)
    page = browser("coordinator").get("/admin/outbox").text
    for kind, word in KIND_WORDS.items():
        assert f'<option value="{kind}">{word}</option>' in page
        assert f"<td>{word}</td>" in page
    # No kind code is the text of a cell or an option.
    for kind in MessageKind:
        if kind.value != KIND_WORDS[kind]:
            assert f">{kind.value}<" not in page
    filtered = browser("coordinator").get("/admin/outbox?kind=info_alert").text
    assert '<option value="info_alert" selected>Information alert</option>' in filtered
    # Committees are chosen by name.
    assert '<option value="walikale-local">Walikale local stakeholder committee</option>' in page


@pytest.mark.parametrize("role", ["admin", "coordinator"])
def test_roles_that_read_free_text_see_a_short_preview_audited(
    browser: Callable[[str], Browser],
    db: sessionmaker[Session],
    settings: Settings,
    role: str,
) -> None:
    long_id = _queue(db, settings, "alert", LONG, 1)
    short_id = _queue(db, settings, "reply", "Thank you, we are on our way.", 2)
    page = browser(role).get("/admin/outbox").text
    shown = re.findall(r'<td class="preview">([^<]*)</td>', page)
    expected = LONG[: PREVIEW_LENGTH - 1].rstrip() + "…"
    assert expected in shown
    assert "Thank you, we are on our way." in shown
    assert LONG not in page
    assert all(len(text) <= PREVIEW_LENGTH for text in shown)
    assert "showing it is recorded in the audit log" in page
    [entry] = _previews(db)
    assert entry.actor == {"admin": "ada", "coordinator": "cora"}[role]
    assert set(entry.data["messages"]) >= {long_id, short_id}
    assert "Soldiers" not in str(entry.data)


def test_no_preview_and_no_entry_for_an_empty_page(
    browser: Callable[[str], Browser], db: sessionmaker[Session]
) -> None:
    page = browser("coordinator").get("/admin/outbox?status=cancelled").text
    assert "No messages match." in page
    assert _previews(db) == []


def test_analysts_get_no_preview(
    browser: Callable[[str], Browser],
    db: sessionmaker[Session],
    settings: Settings,
    app_client: object,
) -> None:
    """Analysts may not open the outbox; the preview function gives them nothing either."""
    message_id = _queue(db, settings, "alert", LONG, 1)
    assert browser("analyst").get("/admin/outbox").status_code == 403
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]

    class Analyst:
        username = "ana"
        role = Role.ANALYST
        ip_hash = None

    assert previews(runtime, Analyst(), [message_id]) == {}  # type: ignore[arg-type]
    assert _previews(db) == []


def test_a_message_page_names_its_kind_in_words(
    browser: Callable[[str], Browser], db: sessionmaker[Session], settings: Settings
) -> None:
    message_id = _queue(db, settings, "reporter_message", "We visited the site.", 1)
    page = browser("coordinator").get(f"/admin/outbox/{message_id}").text
    assert "<td>Message to the reporter</td>" in page
    assert "reporter_message" not in page
    assert "We visited the site." in page
