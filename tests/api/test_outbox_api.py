"""/api/v1/outbox: listing without numbers or bodies, retry, cancel, the STOP list."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import redis
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage import outbox, prefs
from storage.keys import load_crypto
from storage.models import CommitteeMember
from storage.settings import Settings
from tests.leaks import number_forms
from workers import queues

Headers = Callable[[str], dict[str, str]]
REPORTER = "+243990000042"
BODY = "Thank you, the committee has your report"


def _failed(db: sessionmaker[Session], settings: Settings, *, reporter: bool) -> int:
    crypto = load_crypto(settings)
    now = datetime.now(UTC)
    with db.begin() as session:
        member = session.scalars(select(CommitteeMember).order_by(CommitteeMember.id)).first()
        assert member is not None
        message = outbox.queue_sms(
            session=session,
            crypto=crypto,
            dedupe_key=f"api-{reporter}",
            to_e164=REPORTER if reporter else member.phone,
            body=BODY,
            language="sw",
            kind="reporter_message" if reporter else "alert",
            recipient_kind="reporter" if reporter else "member",
            member_id=None if reporter else member.id,
            now=now,
        )
        assert message is not None
        assert outbox.claim_for_sending(session=session, message_id=message.id, now=now)
        outbox.mark_failed(
            session=session, message_id=message.id, final=True, error="boom", retry_at=None, now=now
        )
        return message.id


def test_list_has_no_numbers_and_no_bodies(
    app_client: TestClient, headers: Headers, db: sessionmaker[Session], settings: Settings
) -> None:
    reporter_id = _failed(db, settings, reporter=True)
    response = app_client.get("/api/v1/outbox?status=failed", headers=headers("admin"))
    assert response.status_code == 200
    body = response.json()
    assert body["counts"]["failed"] == 1
    [item] = body["items"]
    assert (item["id"], item["recipient"], item["last_error"]) == (reporter_id, "reporter", "boom")
    for form in number_forms(REPORTER):
        assert form not in response.text
    assert BODY not in response.text
    detail = app_client.get(f"/api/v1/outbox/{reporter_id}", headers=headers("admin"))
    assert detail.json()["body"] == BODY
    for form in number_forms(REPORTER):
        assert form not in detail.text


def test_retry_enqueues_the_send_and_refusals_are_4xx(
    app_client: TestClient,
    headers: Headers,
    db: sessionmaker[Session],
    settings: Settings,
    redis_client: redis.Redis,
    run_jobs: Callable[[], None],
) -> None:
    auth = headers("coordinator")
    member_id = _failed(db, settings, reporter=False)
    retried = app_client.post(f"/api/v1/outbox/{member_id}/retry", headers=auth)
    assert retried.status_code == 202, retried.text
    assert retried.json()["status"] == "queued"
    assert queues.queue(queues.SMS, connection=redis_client).count == 1
    run_jobs()
    shown = app_client.get(f"/api/v1/outbox/{member_id}", headers=auth).json()
    assert shown["status"] == "delivered"
    again = app_client.post(f"/api/v1/outbox/{member_id}/retry", headers=auth)
    assert again.status_code == 409
    reporter_id = _failed(db, settings, reporter=True)
    dropped = app_client.post(f"/api/v1/outbox/{reporter_id}/retry", headers=auth)
    assert dropped.status_code == 409
    assert "number was dropped" in dropped.json()["detail"]
    assert app_client.post("/api/v1/outbox/99999/retry", headers=auth).status_code == 404
    assert app_client.post(f"/api/v1/outbox/{reporter_id}/cancel", headers=auth).status_code == 409
    assert app_client.get("/api/v1/outbox?status=lost", headers=auth).status_code == 422


def test_opt_outs_by_pseudonym(
    app_client: TestClient, headers: Headers, db: sessionmaker[Session], settings: Settings
) -> None:
    pseudonym = load_crypto(settings).pseudonym(REPORTER)
    with db.begin() as session:
        prefs.set_opted_out(
            session=session, pseudonym=pseudonym, opted_out=True, now=datetime.now(UTC)
        )
    auth = headers("admin")
    listed = app_client.get("/api/v1/outbox/optouts", headers=auth).json()
    assert [item["pseudonym"] for item in listed["items"]] == [pseudonym]
    assert app_client.delete(f"/api/v1/outbox/optouts/{pseudonym}", headers=auth).status_code == 204
    assert app_client.delete(f"/api/v1/outbox/optouts/{pseudonym}", headers=auth).status_code == 404
    assert app_client.get("/api/v1/outbox/optouts", headers=auth).json()["total"] == 0


def test_analyst_is_refused(app_client: TestClient, headers: Headers) -> None:
    auth = headers("analyst")
    assert app_client.get("/api/v1/outbox", headers=auth).status_code == 403
    assert app_client.get("/api/v1/outbox/optouts", headers=auth).status_code == 403


FALLBACK = "whatsapp window closed: sent by SMS"


def _meant_for_whatsapp(db: sessionmaker[Session], settings: Settings) -> tuple[int, int]:
    """Two alerts to a member reached by WhatsApp: one still queued, one that Twilio sent by
    SMS instead."""
    crypto = load_crypto(settings)
    now = datetime.now(UTC)
    ids: list[int] = []
    with db.begin() as session:
        member = session.scalars(select(CommitteeMember).order_by(CommitteeMember.id)).first()
        assert member is not None
        member.channel = "whatsapp"
        for key in ("api-waiting", "api-fell-back"):
            message = outbox.queue_sms(
                session=session,
                crypto=crypto,
                dedupe_key=key,
                to_e164=member.phone,
                body=BODY,
                language="sw",
                kind="alert",
                recipient_kind="member",
                member_id=member.id,
                now=now,
            )
            assert message is not None
            ids.append(message.id)
        assert outbox.claim_for_sending(session=session, message_id=ids[1], now=now)
        assert outbox.mark_sent(
            session=session,
            message_id=ids[1],
            provider="twilio",
            provider_id="SMapi1",
            now=now,
            channel="sms",
            channel_note=FALLBACK,
        )
    return ids[0], ids[1]


def test_messages_carry_channel_note_and_provider_and_filter_by_them(
    app_client: TestClient, headers: Headers, db: sessionmaker[Session], settings: Settings
) -> None:
    waiting, fell_back = _meant_for_whatsapp(db, settings)
    failed = _failed(db, settings, reporter=True)
    auth = headers("coordinator")
    items = {
        item["id"]: item for item in app_client.get("/api/v1/outbox", headers=auth).json()["items"]
    }
    shown = {
        key: [items[message_id][key] for message_id in (waiting, fell_back, failed)]
        for key in ("channel", "channel_note", "provider", "provider_id")
    }
    assert shown == {
        "channel": ["whatsapp", "sms", "sms"],
        "channel_note": [None, FALLBACK, None],
        "provider": [None, "twilio", None],
        "provider_id": [None, "SMapi1", None],
    }
    detail = app_client.get(f"/api/v1/outbox/{fell_back}", headers=auth).json()
    assert (detail["channel"], detail["channel_note"], detail["provider"]) == (
        "sms",
        FALLBACK,
        "twilio",
    )

    def ids(query: str) -> set[int]:
        response = app_client.get(f"/api/v1/outbox?{query}", headers=auth)
        assert response.status_code == 200, response.text
        assert response.json()["total"] == len(response.json()["items"])
        return {item["id"] for item in response.json()["items"]}

    assert ids("channel=whatsapp") == {waiting}
    assert ids("channel=sms") == {fell_back, failed}
    assert ids("provider=twilio") == {fell_back}
    assert ids("provider=twilio&channel=whatsapp") == set()
    assert ids("provider=console") == set()
    for query in ("channel=pigeon", "channel=", "provider=nokia", "provider=TWILIO"):
        response = app_client.get(f"/api/v1/outbox?{query}", headers=auth)
        assert response.status_code == 422, query
