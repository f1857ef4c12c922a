"""Africa's Talking delivery reports move outbox rows forward only: reports late, repeated
or out of order never take a row back from a final status; the failure reason is kept as a
short code, never the number; an unknown id is answered 200 and its status held for the
worker; without the token, 403."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

import pytest
import redis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from gateway.channels.africastalking import status as at_status
from storage.models import OutboxMessage
from tests.channels.africastalking.conftest import message_id
from tests.conftest import AT_TOKEN
from tests.leaks import number_forms

MEMBER = "+243810000001"
REPORTER = "+243990000042"


def report(
    client: TestClient,
    sid: str,
    status: str,
    *,
    reason: str | None = None,
    token: str = AT_TOKEN,
    number: str = MEMBER,
) -> int:
    form = {
        "id": sid,
        "status": status,
        "phoneNumber": number,
        "networkCode": "63001",
        "retryCount": "0",
    }
    if reason is not None:
        form["failureReason"] = reason
    path = "/sms/africastalking/delivery" + (f"?token={token}" if token else "")
    response = client.post(path, data=form)
    assert response.status_code != 500
    if response.status_code == 200:
        assert response.content == b""
    return response.status_code


def row(db: sessionmaker[Session], sid: str) -> OutboxMessage:
    with db() as session:
        found: OutboxMessage = session.query(OutboxMessage).filter_by(provider_id=sid).one()
        return found


def test_on_its_way_then_delivered_then_late_reports_change_nothing(
    app_client: TestClient, sent_message: Callable[..., str], db: sessionmaker[Session]
) -> None:
    sid = sent_message(message_id(), to=MEMBER)
    for on_its_way in ("Sent", "Submitted", "Buffered"):
        assert report(app_client, sid, on_its_way) == 200
        assert row(db, sid).status == "sent"
    assert report(app_client, sid, "Success") == 200
    delivered = row(db, sid)
    assert delivered.status == "delivered"
    for late in ("Success", "Sent", "Buffered", "Failed", "Rejected"):
        assert report(app_client, sid, late, reason="DeliveryFailure") == 200
        again = row(db, sid)
        assert (again.status, again.delivered_at, again.last_error) == (
            "delivered",
            delivered.delivered_at,
            None,
        )


def test_a_failure_arriving_before_sent_is_kept_with_its_reason(
    app_client: TestClient, sent_message: Callable[..., str], db: sessionmaker[Session]
) -> None:
    sid = sent_message(message_id(), to=MEMBER)
    assert report(app_client, sid, "Failed", reason="UserInBlackList") == 200
    for late in ("Submitted", "Sent", "Success"):
        assert report(app_client, sid, late) == 200
    found = row(db, sid)
    assert (found.status, found.last_error) == ("undelivered", "provider error UserInBlackList")


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("Sent", "sent"),
        ("Submitted", "sent"),
        ("Buffered", "sent"),
        ("Success", "delivered"),
        ("success", "delivered"),
        ("Rejected", "failed"),
        ("Failed", "undelivered"),
        ("Expired", "sent"),  # a status AT may add one day: nothing changes
    ],
)
def test_at_words_map_to_outbox_statuses(
    app_client: TestClient,
    sent_message: Callable[..., str],
    db: sessionmaker[Session],
    word: str,
    status: str,
) -> None:
    sid = sent_message(message_id(), to=MEMBER)
    assert report(app_client, sid, word) == 200
    assert row(db, sid).status == status


def test_a_final_report_drops_a_reporters_number(
    app_client: TestClient, sent_message: Callable[..., str], db: sessionmaker[Session]
) -> None:
    # mark_sent dropped it already; a report never brings it back, nor writes it.
    sid = sent_message(message_id(), to=REPORTER, reporter=True)
    assert report(app_client, sid, "Success", number=REPORTER) == 200
    found = row(db, sid)
    assert (found.status, found.to_enc) == ("delivered", None)


@pytest.mark.parametrize(
    ("reason", "kept"),
    [
        ("InsufficientCredit", "provider error InsufficientCredit"),
        ("UserIsInactive", "provider error UserIsInactive"),
        (f"Could not deliver to {REPORTER}", "provider error other"),
        ("243990000042", "provider error other"),
        ("x" * 41, "provider error other"),
        ("", None),
    ],
)
def test_the_failure_reason_is_a_short_code_never_the_number(
    app_client: TestClient,
    sent_message: Callable[..., str],
    db: sessionmaker[Session],
    reason: str,
    kept: str | None,
) -> None:
    sid = sent_message(message_id(), to=REPORTER, reporter=True)
    assert report(app_client, sid, "Failed", reason=reason, number=REPORTER) == 200
    found = row(db, sid)
    assert (found.status, found.last_error) == ("undelivered", kept)
    assert not any(form in (found.last_error or "") for form in number_forms(REPORTER))


def test_an_unknown_id_is_answered_200_and_its_status_held_an_hour(
    app_client: TestClient, redis_client: redis.Redis
) -> None:
    sid = message_id()
    assert report(app_client, sid, "Success") == 200
    assert report(app_client, sid, "Failed", reason="DeliveryFailure") == 200
    assert report(app_client, sid, "Expired") == 200  # says nothing: not held
    key = f"sauti:early-status:{sid}"
    assert redis_client.hgetall(key) == {b"delivered": b"", b"undelivered": b"DeliveryFailure"}
    assert 0 < redis_client.ttl(key) <= 3600
    assert redis_client.keys("sauti:early-status:*") == [key.encode()]


def test_a_report_for_a_known_message_is_not_held(
    app_client: TestClient, sent_message: Callable[..., str], redis_client: redis.Redis
) -> None:
    sid = sent_message(message_id(), to=MEMBER)
    assert report(app_client, sid, "Success") == 200
    assert report(app_client, sid, "Sent") == 200  # late: changes nothing, and is not held
    assert redis_client.keys("sauti:early-status:*") == []


@pytest.mark.parametrize("token", ["", "wrong-token"])
def test_without_the_token_a_report_is_refused(
    app_client: TestClient, sent_message: Callable[..., str], db: sessionmaker[Session], token: str
) -> None:
    sid = sent_message(message_id(), to=MEMBER)
    assert report(app_client, sid, "Success", token=token) == 403
    assert row(db, sid).status == "sent"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("status=Success", "missing id"),
        ("id=ATXid_1", "missing status"),
        ("id=ATXid_1&id=ATXid_2&status=Success", "id appears more than once"),
        ("id=ATXid_1&status=Success&status=Failed", "status appears more than once"),
        (f"id={'x' * 65}&status=Success", "id is not a message id (1 to 64 visible characters)"),
        ("id=&status=Success", "id is not a message id (1 to 64 visible characters)"),
        ("id=ATXid_1&status=Not+a+word", "status is not a status word"),
        ("id=ATXid_1&status=", "status is not a status word"),
    ],
)
def test_a_report_of_another_shape_gets_400_and_a_short_reason(
    app_client: TestClient, redis_client: redis.Redis, body: str, reason: str
) -> None:
    response = app_client.post(
        f"/sms/africastalking/delivery?token={AT_TOKEN}",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert (response.status_code, response.text) == (400, reason)
    assert redis_client.keys("sauti:early-status:*") == []


def test_a_database_failure_is_a_503_so_at_reports_again(
    app_client: TestClient,
    sent_message: Callable[..., str],
    db: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sid = sent_message(message_id(), to=MEMBER)
    real = at_status.apply_delivery

    def locked(*args: object) -> bool:
        raise OperationalError("UPDATE", {}, Exception("database is locked"))

    monkeypatch.setattr(at_status, "apply_delivery", locked)
    assert report(app_client, sid, "Success") == 503
    assert row(db, sid).status == "sent"
    monkeypatch.setattr(at_status, "apply_delivery", real)
    assert report(app_client, sid, "Success") == 200
    assert row(db, sid).status == "delivered"


FIELDS = st.sampled_from(
    ["id", "status", "phoneNumber", "networkCode", "failureReason", "retryCount", "x"]
)


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    pairs=st.lists(st.tuples(FIELDS, st.text(max_size=80)), max_size=8),
    word=st.sampled_from(["Sent", "Submitted", "Buffered", "Rejected", "Success", "Failed"]),
)
def test_any_fields_get_200_or_a_400_never_a_5xx(
    app_client: TestClient, pairs: list[tuple[str, str]], word: str
) -> None:
    for form in (pairs, [("id", message_id()), ("status", word), *pairs]):
        response = app_client.post(
            f"/sms/africastalking/delivery?token={AT_TOKEN}",
            content=urllib.parse.urlencode(form),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code in (200, 400), response.text
