"""The outbox in the console: statuses, failures and retry, cancel, the STOP list."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage import outbox, prefs
from storage.keys import load_crypto
from storage.models import AuditEntry, CommitteeMember, OutboxMessage
from storage.settings import Settings
from tests.admin.conftest import Browser
from tests.leaks import number_forms
from workers import queues

REPORTER = "+243990000042"
MEMBER_BODY = "Alert: case 482-177-3506, answer ACK"
REPORTER_BODY = "Your committee replied: we are on our way"


def _queue(
    db: sessionmaker[Session],
    settings: Settings,
    *,
    key: str,
    to: str,
    body: str,
    recipient_kind: str,
    member_id: int | None = None,
) -> int:
    crypto = load_crypto(settings)
    with db.begin() as session:
        message = outbox.queue_sms(
            session=session,
            crypto=crypto,
            dedupe_key=key,
            to_e164=to,
            body=body,
            language="sw",
            kind="alert" if recipient_kind == "member" else "reporter_message",
            recipient_kind=recipient_kind,
            member_id=member_id,
            now=datetime.now(UTC) - timedelta(minutes=5),
        )
        assert message is not None
        return message.id


def _fail(db: sessionmaker[Session], message_id: int, error: str) -> None:
    now = datetime.now(UTC)
    with db.begin() as session:
        assert outbox.claim_for_sending(session=session, message_id=message_id, now=now)
        assert outbox.mark_failed(
            session=session, message_id=message_id, final=True, error=error, retry_at=None, now=now
        )


def _member(db: sessionmaker[Session]) -> CommitteeMember:
    with db() as session:
        return session.scalars(select(CommitteeMember).order_by(CommitteeMember.id)).first()  # type: ignore[return-value]


def _failed_member_message(db: sessionmaker[Session], settings: Settings) -> int:
    member = _member(db)
    message_id = _queue(
        db,
        settings,
        key="t-member",
        to=member.phone,
        body=MEMBER_BODY,
        recipient_kind="member",
        member_id=member.id,
    )
    _fail(db, message_id, f"provider refused {member.phone}: 21610 unsubscribed")
    return message_id


def _actions(db: sessionmaker[Session]) -> list[tuple[str, str | None]]:
    with db() as session:
        return [(e.action, e.target) for e in session.scalars(select(AuditEntry))]


def _no_number(text: str, number: str) -> None:
    for form in number_forms(number):
        assert form not in text, form


def test_failed_message_is_listed_with_its_scrubbed_error(
    browser: Callable[[str], Browser], db: sessionmaker[Session], settings: Settings
) -> None:
    message_id = _failed_member_message(db, settings)
    member = _member(db)
    page = browser("coordinator").get("/admin/outbox?status=failed")
    assert page.status_code == 200
    assert f'href="/admin/outbox/{message_id}"' in page.text
    assert "provider refused &lt;number&gt;: 21610 unsubscribed" in page.text
    assert "+243 ••• ••• 001" in page.text
    _no_number(page.text, member.phone)
    # A coordinator reads the start of each text (tests/admin/test_outbox_words.py).
    assert MEMBER_BODY in page.text


def test_retry_queues_again_and_the_job_sends_through_the_console_provider(
    browser: Callable[[str], Browser],
    db: sessionmaker[Session],
    settings: Settings,
    redis_client: redis.Redis,
    run_jobs: Callable[[], None],
) -> None:
    message_id = _failed_member_message(db, settings)
    user = browser("admin")
    done = user.post(f"/admin/outbox/{message_id}/retry")
    assert done.status_code == 303
    assert "queued again" in user.follow(done).text
    with db() as session:
        assert session.get_one(OutboxMessage, message_id).status == "queued"
    assert queues.queue(queues.SMS, connection=redis_client).count == 1
    run_jobs()
    with db() as session:
        message = session.get_one(OutboxMessage, message_id)
        assert message.status == "delivered"
        assert message.attempts == 2
    lines = settings.sauti_console_outbox.read_text().splitlines()
    # An alert's text may quote a reporter: behind a public URL the console file withholds it.
    assert json.loads(lines[-1])["body"] == (
        f"[text withheld: {len(MEMBER_BODY)} characters, kind alert]"
    )
    assert ("outbox.retry", str(message_id)) in _actions(db)
    again = user.post(f"/admin/outbox/{message_id}/retry")
    assert "Not retried: only a failed or undelivered message" in user.follow(again).text


def test_message_page_shows_the_body_and_is_audited(
    browser: Callable[[str], Browser], db: sessionmaker[Session], settings: Settings
) -> None:
    message_id = _failed_member_message(db, settings)
    page = browser("coordinator").get(f"/admin/outbox/{message_id}")
    assert page.status_code == 200
    assert MEMBER_BODY in page.text
    assert "Retry sending" in page.text
    assert ("outbox.view_text", str(message_id)) in _actions(db)


def test_reporter_number_never_shown_and_a_dropped_number_cannot_be_retried(
    browser: Callable[[str], Browser], db: sessionmaker[Session], settings: Settings
) -> None:
    message_id = _queue(
        db, settings, key="t-rep", to=REPORTER, body=REPORTER_BODY, recipient_kind="reporter"
    )
    _fail(db, message_id, f"number {REPORTER} unreachable")
    user = browser("admin")
    for path in (
        "/admin/outbox",
        f"/admin/outbox/{message_id}",
        "/admin/outbox?recipient=reporter",
    ):
        page = user.get(path)
        assert page.status_code == 200
        _no_number(page.text, REPORTER)
    listed = user.get("/admin/outbox?recipient=reporter&status=failed")
    assert f'href="/admin/outbox/{message_id}"' in listed.text
    refused = user.post(f"/admin/outbox/{message_id}/retry")
    assert "the number was dropped" in user.follow(refused).text
    with db() as session:
        assert session.get_one(OutboxMessage, message_id).status == "failed"


def test_cancel_a_queued_message(
    browser: Callable[[str], Browser], db: sessionmaker[Session], settings: Settings
) -> None:
    message_id = _queue(
        db, settings, key="t-c", to=REPORTER, body=REPORTER_BODY, recipient_kind="reporter"
    )
    user = browser("coordinator")
    done = user.post(f"/admin/outbox/{message_id}/cancel")
    assert done.status_code == 303
    with db() as session:
        message = session.get_one(OutboxMessage, message_id)
        assert (message.status, message.to_enc) == ("cancelled", None)
    again = user.post(f"/admin/outbox/{message_id}/cancel")
    assert "Only a queued message" in user.follow(again).text
    assert ("outbox.cancel", str(message_id)) in _actions(db)


def test_filters_and_summary_counts(
    browser: Callable[[str], Browser],
    db: sessionmaker[Session],
    settings: Settings,
    file_case: Callable[..., str],
) -> None:
    file_case()
    failed = _failed_member_message(db, settings)
    user = browser("admin")
    page = user.get("/admin/outbox")
    assert 'class="value">1</span> <span class="label">Failed' in page.text
    by_committee = user.get("/admin/outbox?committee=walikale-local&kind=alert")
    assert by_committee.status_code == 200
    assert "walikale-local" in by_committee.text
    today = datetime.now(UTC).date()
    future = user.get(f"/admin/outbox?from={today + timedelta(days=2)}")
    assert "0 messages" in future.text
    assert f'href="/admin/outbox/{failed}"' not in future.text
    in_range = user.get(f"/admin/outbox?from={today - timedelta(days=1)}&to={today}")
    assert f'href="/admin/outbox/{failed}"' in in_range.text


def test_bad_filters_and_unknown_messages_are_4xx(browser: Callable[[str], Browser]) -> None:
    user = browser("admin")
    for path in (
        "/admin/outbox?status=lost",
        "/admin/outbox?kind=x",
        "/admin/outbox?from=yesterday",
        "/admin/outbox?committee=nobody",
    ):
        assert user.get(path).status_code == 400, path
    assert user.get("/admin/outbox?page=0").status_code == 422
    assert user.get("/admin/outbox/999999").status_code == 404
    assert user.get("/admin/outbox/abc").status_code == 422
    assert user.post("/admin/outbox/999999/retry").status_code == 404
    assert user.post("/admin/outbox/999999/cancel").status_code == 404


def test_opt_outs_listed_by_pseudonym_and_removed_after_confirmation(
    browser: Callable[[str], Browser], db: sessionmaker[Session], settings: Settings
) -> None:
    crypto = load_crypto(settings)
    pseudonym = crypto.pseudonym(REPORTER)
    with db.begin() as session:
        prefs.set_language(
            session=session, pseudonym=pseudonym, language="sw", now=datetime.now(UTC)
        )
        prefs.set_opted_out(
            session=session, pseudonym=pseudonym, opted_out=True, now=datetime.now(UTC)
        )
    user = browser("coordinator")
    page = user.get("/admin/outbox/optouts")
    assert page.status_code == 200
    assert pseudonym[:8] in page.text
    _no_number(page.text, REPORTER)
    confirm = user.get(f"/admin/outbox/optouts/{pseudonym}/remove")
    assert "Yes, remove the opt-out" in confirm.text
    unconfirmed = user.post(f"/admin/outbox/optouts/{pseudonym}/remove")
    assert unconfirmed.status_code == 400
    with db() as session:
        assert prefs.is_opted_out(session=session, pseudonym=pseudonym)
    done = user.post(f"/admin/outbox/optouts/{pseudonym}/remove", {"confirm": "yes"})
    assert done.status_code == 303
    with db() as session:
        assert not prefs.is_opted_out(session=session, pseudonym=pseudonym)
    assert ("optout.remove", pseudonym[:8]) in _actions(db)
    assert user.get(f"/admin/outbox/optouts/{pseudonym}/remove").status_code == 404
    assert user.get("/admin/outbox/optouts/not-a-pseudonym/remove").status_code == 422


def test_analyst_may_not_open_the_outbox(browser: Callable[[str], Browser]) -> None:
    analyst = browser("analyst")
    for path in ("/admin/outbox", "/admin/outbox/1", "/admin/outbox/optouts"):
        assert analyst.get(path).status_code == 403, path
    assert analyst.post("/admin/outbox/1/retry").status_code == 403


FALLBACK = "whatsapp window closed: sent by SMS"


def _sent(
    db: sessionmaker[Session], message_id: int, provider: str, provider_id: str, **how: Any
) -> None:
    now = datetime.now(UTC)
    with db.begin() as session:
        assert outbox.claim_for_sending(session=session, message_id=message_id, now=now)
        assert outbox.mark_sent(
            session=session,
            message_id=message_id,
            provider=provider,
            provider_id=provider_id,
            now=now,
            **how,
        )


def _channels(db: sessionmaker[Session], settings: Settings) -> dict[str, int]:
    """A message still meant for WhatsApp, one meant for WhatsApp that Twilio sent by SMS,
    and one to a reporter the console provider sent."""
    member = _member(db)
    with db.begin() as session:
        session.get_one(CommitteeMember, member.id).channel = "whatsapp"
    ids = {
        name: _queue(
            db,
            settings,
            key=f"t-{name}",
            to=REPORTER if name == "console" else member.phone,
            body=MEMBER_BODY,
            recipient_kind="reporter" if name == "console" else "member",
            member_id=None if name == "console" else member.id,
        )
        for name in ("waiting", "fell_back", "console")
    }
    _sent(db, ids["fell_back"], "twilio", "SMfallback1", channel="sms", channel_note=FALLBACK)
    _sent(db, ids["console"], "console", "console-1")
    return ids


def _listed(page_text: str) -> set[int]:
    return {int(found) for found in re.findall(r'href="/admin/outbox/(\d+)"', page_text)}


def test_list_and_page_show_each_messages_channel_and_provider(
    browser: Callable[[str], Browser], db: sessionmaker[Session], settings: Settings
) -> None:
    ids = _channels(db, settings)
    user = browser("coordinator")
    page = user.get("/admin/outbox")
    assert page.status_code == 200
    for text in (
        '<th scope="col">Channel</th>',
        '<th scope="col">Provider</th>',
        "<td>WhatsApp</td>",
        f'<td>SMS<br><span class="muted">{FALLBACK}</span></td>',
        "<td>twilio</td>",
        "<td>console</td>",
        '<option value="whatsapp">WhatsApp</option>',
        '<option value="africastalking">africastalking</option>',
    ):
        assert text in page.text, text
    shown = user.get(f"/admin/outbox/{ids['fell_back']}")
    assert shown.status_code == 200
    assert f'<td>SMS <span class="muted">({FALLBACK})</span></td>' in shown.text
    assert "<td>twilio <code>SMfallback1</code></td>" in shown.text
    waiting = user.get(f"/admin/outbox/{ids['waiting']}")
    assert "<td>WhatsApp</td>" in waiting.text
    assert "not sent yet" in waiting.text


def test_the_list_filters_by_channel_and_by_provider(
    browser: Callable[[str], Browser], db: sessionmaker[Session], settings: Settings
) -> None:
    ids = _channels(db, settings)
    user = browser("admin")
    for query, expected in (
        ("channel=whatsapp", {ids["waiting"]}),
        ("channel=sms", {ids["fell_back"], ids["console"]}),
        ("provider=twilio", {ids["fell_back"]}),
        ("provider=console&recipient=reporter", {ids["console"]}),
        ("channel=whatsapp&provider=twilio", set()),
        ("provider=africastalking", set()),
    ):
        page = user.get(f"/admin/outbox?{query}")
        assert page.status_code == 200, query
        assert _listed(page.text) == expected, query
    kept = user.get("/admin/outbox?channel=sms&provider=twilio")
    assert '<option value="sms" selected>SMS</option>' in kept.text
    assert '<option value="twilio" selected>twilio</option>' in kept.text
    for path in (
        "/admin/outbox?channel=pigeon",
        "/admin/outbox?channel=SMS",
        "/admin/outbox?provider=nokia",
        "/admin/outbox?provider=%00",
    ):
        assert user.get(path).status_code == 400, path
    assert user.get("/admin/outbox?provider=" + "x" * 65).status_code == 422
