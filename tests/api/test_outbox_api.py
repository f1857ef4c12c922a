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
