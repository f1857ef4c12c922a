"""The voice line fed anything: a well-formed answer or a plain 400, never a 5xx.

A caller presses any keys a provider could post (digits, `*`, `#`, nothing, and what no
keypad sends: letters, other scripts, control characters, very long strings), or says
nothing, for up to ten turns, each request following the address the last answer named
(the `<Gather>` action or `<GetDigits>` callbackUrl after keys, the `<Redirect>` after
silence), signed as Twilio signs or with Africa's Talking's token. Every answer is either
200 with an XML `<Response>` or a 400 with a short plain reason; after the call has hung
up, its last request posted again still gets one. A call that ended by itself (a report
sent, a status read, goodbye) answers its last request the same after the hang-up, and
files nothing more. And nonsense in every other field or in
the turn's query (`t`, `q`, `l`, `r`) is refused or answered the same way.
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from urllib.parse import urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

from storage.models import Case
from tests.conftest import AT_TOKEN, TWILIO_TOKEN
from tests.gateway.conftest import settle
from tests.voice.calls import ACCOUNT, LINE, PUBLIC, Call, publish_prompts

# Sized for a 2-core CI: the whole file in about 20 s.
CALLS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
ENDED = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
FIELDS = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
PHONES = st.from_regex(r"\+(243|250|257)[0-9]{9}", fullmatch=True)
JUNK = st.one_of(
    st.text(max_size=30),
    st.text(st.characters(codec="utf-8"), max_size=12),
    st.text(st.characters(min_codepoint=0, max_codepoint=31), max_size=8),
    st.sampled_from(["", " ", "\x00", "%", "&", "=", "?", "+", "\u200b", "١٢٣", "１２"]),
    st.builds(lambda char, n: char * n, st.sampled_from("1#*a"), st.integers(65, 5000)),
)
# Keys as a keypad sends them (a choice, a case number, `#` alone, `*`), then anything.
KEYS = st.one_of(
    st.sampled_from(["", "#", "*", "**", "##", "*#", "0", "1", "2", "3", "9", "1#", "99"]),
    st.text("0123456789*#", max_size=70),
    JUNK,
)
# One turn: keys pressed (following the gather), None for silence (the redirect), or an
# index: the keys of one of the options the answer offers (`#` where it offers none), so
# that calls go deep into the report as well as wander.
OPTION = st.integers(0, 9)
FORWARD = st.one_of(st.just(0), st.just(0), OPTION)  # the first option leans onwards
STEPS = st.lists(st.one_of(OPTION, OPTION, OPTION, KEYS, st.none()), min_size=3, max_size=10)
QUERY = st.dictionaries(st.sampled_from(["t", "q", "l", "r", "x"]), JUNK, max_size=4)
PROVIDERS = ("twilio", "africastalking")


@pytest.fixture
def line(app_client: TestClient) -> TestClient:
    publish_prompts(app_client)
    return app_client


def checked(status: int, body: str) -> ET.Element | None:
    """The answer's document (200) or None (a 400 with a plain reason); anything else
    fails."""
    assert status in (200, 400), (status, body[:500])
    assert "Traceback" not in body
    if status == 400:
        assert body.strip(), "a refusal without a reason"
        assert "<" not in body, body[:200]
        assert len(body) < 200, body[:200]
        return None
    root = ET.fromstring(body)  # noqa: S314 (the service's own answer)
    assert root.tag == "Response", body[:200]
    return root


def local(url: str) -> str:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == PUBLIC, url
    return parts.path + (f"?{parts.query}" if parts.query else "")


def key_field(provider: str) -> str:
    return "Digits" if provider == "twilio" else "dtmfDigits"


def first_address(provider: str) -> str:
    return "/voice/twilio" if provider == "twilio" else f"/voice/africastalking?token={AT_TOKEN}"


def pressed(call: Call, step: str | int | None) -> str | None:
    """The keys a step presses: an index names one of the options offered."""
    if not isinstance(step, int):
        return step
    offered = sorted(call.options().values(), key=lambda keys: (not keys.isdigit(), keys))
    return offered[step % len(offered)] if offered else "#"


@pytest.mark.parametrize("provider", PROVIDERS)
@CALLS
@given(number=PHONES, steps=STEPS)
def test_any_keys_get_an_answer_or_a_plain_refusal(
    line: TestClient, provider: str, number: str, steps: list[str | int | None]
) -> None:
    call = Call(line, number, provider=provider)
    prefix = "CA" if provider == "twilio" else "ATVId_"
    call.call_id = prefix + secrets.token_hex(16)
    address = first_address(provider)
    extra: dict[str, str] = {}
    status, body = call.post(address)
    assert checked(status, body) is not None, "the call itself was refused"
    heard = call._heard(status, body)
    for step in steps:
        keys = pressed(call, step)
        following = heard.redirect if keys is None and heard.redirect else heard.gather
        if following is None:
            break  # the call ended
        address = local(following)
        extra = {} if keys is None else {key_field(provider): keys}
        status, body = call.post(address, extra)
        if checked(status, body) is not None:
            heard = call._heard(status, body)
        # else refused: the call stays where it was
    assert call.hang_up() == 200
    # A provider's retry of the last request after the hang-up: answered, never a 5xx;
    # and a key on the next turn of a call that is over.
    checked(*call.post(address, extra))
    if heard.gather is not None:
        checked(*call.post(local(heard.gather), {key_field(provider): "1"}))


@pytest.mark.parametrize("provider", PROVIDERS)
@ENDED
@given(number=PHONES, choices=st.lists(FORWARD, min_size=12, max_size=30))
def test_a_call_that_ended_is_answered_the_same_after_its_hang_up(
    line: TestClient,
    db: sessionmaker[Session],
    provider: str,
    number: str,
    choices: list[int],
) -> None:
    """Options chosen at random until the call ends (a report sent, a status read,
    goodbye), then the hang-up; the provider's retry of the last request gets the same
    answer, and files nothing more."""
    call = Call(line, number, provider=provider)
    heard = call.dial()
    last: tuple[str, dict[str, str]] | None = None
    for choice in choices:
        if heard.gather is None:
            break
        keys = pressed(call, choice) or ""
        last = (local(heard.gather), {key_field(provider): keys})
        status, body = call.post(*last)
        assert checked(status, body) is not None, body
        heard = call._heard(status, body)
    assert call.hang_up() == 200
    if last is None or heard.gather is not None:
        return  # the call did not end by itself
    before = stored(db)
    status, body = call.post(*last)
    assert checked(status, body) is not None, body
    assert call._heard(status, body).prompts == heard.prompts
    assert stored(db) == before


def stored(db: sessionmaker[Session]) -> int:
    with db() as session:
        return int(session.scalar(select(func.count()).select_from(Case)) or 0)


def sign(path: str, form: dict[str, str]) -> str:
    return str(RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + path, form))


TWILIO_FIELDS = st.dictionaries(
    st.sampled_from(
        [
            "CallSid",
            "AccountSid",
            "From",
            "To",
            "CallStatus",
            "Direction",
            "ApiVersion",
            "Digits",
            "FromCountry",
            "CallDuration",
            "RecordingUrl",
            "RecordingSid",
            "RecordingDuration",
            "MessageSid",
        ]
    ),
    JUNK,
    max_size=6,
)
TWILIO_DROPPED = st.sets(st.sampled_from(["CallSid", "AccountSid", "From", "To", "CallStatus"]))
AT_FIELDS = st.dictionaries(
    st.sampled_from(
        [
            "sessionId",
            "isActive",
            "direction",
            "callerNumber",
            "destinationNumber",
            "dtmfDigits",
            "durationInSeconds",
            "recordingUrl",
            "callSessionState",
            "hangupCause",
        ]
    ),
    JUNK,
    max_size=6,
)
AT_DROPPED = st.sets(st.sampled_from(["sessionId", "isActive", "callerNumber"]))


def twilio_form(number: str) -> dict[str, str]:
    return {
        "CallSid": "CA" + secrets.token_hex(16),
        "AccountSid": ACCOUNT,
        "From": number,
        "To": LINE,
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
    }


@FIELDS
@given(
    number=PHONES,
    junk=TWILIO_FIELDS,
    dropped=TWILIO_DROPPED,
    query=QUERY,
    status_path=st.booleans(),
)
def test_any_signed_twilio_call_fields_or_turn_get_an_answer_or_a_refusal(
    line: TestClient,
    number: str,
    junk: dict[str, str],
    dropped: set[str],
    query: dict[str, str],
    status_path: bool,
) -> None:
    form = {**twilio_form(number), **junk}
    for name in dropped:
        form.pop(name, None)
    path = "/voice/twilio/status" if status_path else "/voice/twilio"
    if query:
        path += "?" + urlencode(query)
    response = line.post(path, data=form, headers={"X-Twilio-Signature": sign(path, form)})
    settle(line)
    assert response.status_code != 403, "signed as Twilio signs, refused as unsigned"
    if status_path and response.status_code == 200:
        assert response.text == "OK"
    else:
        checked(response.status_code, response.text)


@FIELDS
@given(number=PHONES, junk=AT_FIELDS, dropped=AT_DROPPED, query=QUERY)
def test_any_africas_talking_call_fields_or_turn_get_an_answer_or_a_refusal(
    line: TestClient,
    number: str,
    junk: dict[str, str],
    dropped: set[str],
    query: dict[str, str],
) -> None:
    form = {
        "sessionId": "ATVId_" + secrets.token_hex(16),
        "isActive": "1",
        "direction": "Inbound",
        "callerNumber": number,
        "destinationNumber": LINE,
        **junk,
    }
    for name in dropped:
        form.pop(name, None)
    path = "/voice/africastalking?" + urlencode({"token": AT_TOKEN, **query})
    response = line.post(path, data=form)
    settle(line)
    assert response.status_code != 403, "the token was given"
    checked(response.status_code, response.text)
