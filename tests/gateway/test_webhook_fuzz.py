"""Every webhook fed arbitrary fields: a clear 4xx or a well-formed answer, never a 5xx.

The USSD callback and the inbound SMS webhook have their own property tests in
test_refusals.py; these cover the two notification webhooks and odd field sets on all four,
and Twilio requests in the shape Twilio sends them (valid ids, the fields of their kind,
any extra fields), which are always taken.
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
HEX = "0123456789abcdef"
MESSAGE_SIDS = st.builds(
    "{}{}".format, st.sampled_from(["SM", "MM"]), st.text(HEX, min_size=32, max_size=32)
)
ACCOUNT_SID = "AC" + "0" * 32
PHONES = st.from_regex(r"\+(243|250|257)[0-9]{9}", fullmatch=True)
REQUIRED_INBOUND = frozenset({"MessageSid", "AccountSid", "From", "To", "Body", "NumMedia"})
CHECKED = frozenset(
    {"CallSid", "SmsSid", "SmsMessageSid", "MessagingServiceSid", "NumSegments", "ApiVersion"}
    | {"MessageStatus", "SmsStatus", "ErrorCode"}
)
# Fields Twilio may add without notice: any name, any value; each is signed like the rest.
EXTRA = st.dictionaries(
    st.from_regex(r"[A-Z][A-Za-z0-9]{0,19}", fullmatch=True).filter(
        lambda name: name not in REQUIRED_INBOUND and name not in CHECKED
    ),
    st.text(max_size=40),
    max_size=4,
)
INBOUND = st.builds(
    lambda sid, sender, body, extra: {
        **extra,
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "To": "+15005550006",
        "Body": body,
        "NumMedia": "0",
    },
    MESSAGE_SIDS,
    PHONES,
    st.text(max_size=160),
    EXTRA,
)
STATUSES = st.builds(
    lambda sid, word, error, extra: {
        **extra,
        "MessageSid": sid,
        "MessageStatus": word,
        "AccountSid": ACCOUNT_SID,
        **({"ErrorCode": error} if error else {}),
    },
    MESSAGE_SIDS,
    st.one_of(
        st.sampled_from(["queued", "sent", "delivered", "undelivered", "failed", "read"]),
        st.from_regex(r"[a-z_]{1,20}", fullmatch=True),
    ),
    st.one_of(st.none(), st.from_regex(r"[0-9]{5}", fullmatch=True)),
    EXTRA,
)


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
@given(form=STATUSES)
def test_any_well_formed_status_callback_is_taken(
    app_client: TestClient, form: dict[str, str]
) -> None:
    response = app_client.post(
        "/sms/twilio/status",
        data=form,
        headers={"X-Twilio-Signature": signature(form, "/sms/twilio/status")},
    )
    assert (response.status_code, response.text) == (200, "OK")


@FUZZ
@given(form=INBOUND)
def test_any_well_formed_inbound_sms_gets_twiml(
    app_client: TestClient, form: dict[str, str]
) -> None:
    response = app_client.post(
        "/sms/twilio", data=form, headers={"X-Twilio-Signature": signature(form)}
    )
    assert response.status_code == 200, response.text
    assert response.text.startswith('<?xml version="1.0" encoding="UTF-8"?><Response')


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
