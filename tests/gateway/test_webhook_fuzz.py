"""Every webhook fed arbitrary fields: a clear 4xx or a well-formed answer, never a 5xx.

The USSD callback and the inbound SMS webhook have their own property tests in
test_refusals.py; these cover the two notification webhooks and odd field sets on all four.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import AT_TOKEN
from tests.gateway.test_refusals import signature

FIELD_NAMES = st.sampled_from(
    [
        "MessageSid",
        "MessageStatus",
        "ErrorCode",
        "AccountSid",
        "From",
        "To",
        "Body",
        "sessionId",
        "phoneNumber",
        "text",
        "status",
        "hopsCount",
        "serviceCode",
        "x",
    ]
)
FIELDS = st.dictionaries(FIELD_NAMES, st.text(max_size=80), max_size=8)
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(form=FIELDS)
def test_any_status_callback_is_answered_without_a_5xx(
    app_client: TestClient, form: dict[str, str]
) -> None:
    response = app_client.post(
        "/sms/twilio/status",
        data=form,
        headers={"X-Twilio-Signature": signature(form, "/sms/twilio/status")},
    )
    assert response.status_code in (200, 400), response.text


@FUZZ
@given(form=FIELDS)
def test_any_signed_inbound_sms_fields_are_answered_without_a_5xx(
    app_client: TestClient, form: dict[str, str]
) -> None:
    response = app_client.post(
        "/sms/twilio", data=form, headers={"X-Twilio-Signature": signature(form)}
    )
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        assert response.text.startswith('<?xml version="1.0" encoding="UTF-8"?><Response')


@FUZZ
@given(form=FIELDS)
def test_any_ussd_event_is_answered_without_a_5xx(
    app_client: TestClient, form: dict[str, str]
) -> None:
    response = app_client.post(f"/ussd/africastalking/events?token={AT_TOKEN}", data=form)
    assert response.status_code in (200, 400), response.text


@FUZZ
@given(form=FIELDS)
def test_any_ussd_callback_fields_get_a_screen_or_a_4xx(
    app_client: TestClient, form: dict[str, str]
) -> None:
    response = app_client.post(f"/ussd/africastalking?token={AT_TOKEN}", data=form)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        assert response.text.startswith(("CON ", "END "))
