"""Forged, missing or malformed requests get a clear 4xx or a well-formed reply, never a 5xx."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from storage.settings import Settings
from tests.conftest import AT_TOKEN, TWILIO_TOKEN

USSD = f"/ussd/africastalking?token={AT_TOKEN}"
FORM = {
    "sessionId": "ATUid_1",
    "serviceCode": "*384*123#",
    "phoneNumber": "+243812345678",
    "networkCode": "63001",
    "text": "",
}


def sms_form(body: str = "hello") -> dict[str, str]:
    return {
        "MessageSid": "SM" + "a" * 32,
        "AccountSid": "AC" + "0" * 32,
        "From": "+243812345678",
        "To": "+1500",
        "Body": body,
        "NumMedia": "0",
    }


def signature(form: dict[str, str], path: str = "/sms/twilio", token: str = TWILIO_TOKEN) -> str:
    return RequestValidator(token).compute_signature("https://sauti.example.org" + path, form)


@pytest.mark.parametrize(
    "path",
    ["/ussd/africastalking", "/ussd/africastalking?token=wrong", "/ussd/africastalking/events"],
)
def test_ussd_without_the_token_is_forbidden(app_client: TestClient, path: str) -> None:
    assert app_client.post(path, data=FORM).status_code == 403


def test_sms_without_a_signature_is_forbidden(app_client: TestClient) -> None:
    assert app_client.post("/sms/twilio", data=sms_form()).status_code == 403


def test_sms_with_a_wrong_signature_is_forbidden(app_client: TestClient) -> None:
    form = sms_form()
    forged = signature(form, token="not-the-token")
    response = app_client.post("/sms/twilio", data=form, headers={"X-Twilio-Signature": forged})
    assert response.status_code == 403


def test_sms_signed_for_other_fields_is_forbidden(app_client: TestClient) -> None:
    form = sms_form()
    signed = signature(form)
    tampered = {**form, "Body": "STOP"}
    response = app_client.post("/sms/twilio", data=tampered, headers={"X-Twilio-Signature": signed})
    assert response.status_code == 403


def test_status_callback_without_a_signature_is_forbidden(app_client: TestClient) -> None:
    form = {"MessageSid": "SM" + "b" * 32, "MessageStatus": "delivered"}
    assert app_client.post("/sms/twilio/status", data=form).status_code == 403


@pytest.mark.parametrize("missing", ["sessionId", "phoneNumber"])
def test_ussd_missing_fields_get_400(app_client: TestClient, missing: str) -> None:
    form = {k: v for k, v in FORM.items() if k != missing}
    response = app_client.post(USSD, data=form)
    assert response.status_code == 400
    assert missing in response.text


def test_ussd_with_a_json_body_gets_415(app_client: TestClient) -> None:
    assert app_client.post(USSD, json=FORM).status_code == 415


def test_a_huge_body_gets_413(app_client: TestClient) -> None:
    response = app_client.post(USSD, data={**FORM, "text": "1" * 100_000})
    assert response.status_code == 413


def test_binary_junk_body_is_not_a_5xx(app_client: TestClient) -> None:
    response = app_client.post(
        USSD,
        content=b"\xff\xfe\x00sessionId=\x80&&&=%zz%",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code < 500


def test_too_many_fields_get_400(app_client: TestClient) -> None:
    body = "&".join(f"f{i}=1" for i in range(500))
    response = app_client.post(
        USSD, content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 400


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.text(max_size=400), phone=st.text(min_size=1, max_size=30))
def test_any_ussd_text_and_number_get_a_well_formed_screen(
    app_client: TestClient, text: str, phone: str
) -> None:
    response = app_client.post(USSD, data={**FORM, "phoneNumber": phone, "text": text})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        assert response.text.startswith(("CON ", "END "))
        assert len(response.text) <= 160


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.text(max_size=600))
def test_any_sms_body_gets_twiml(app_client: TestClient, body: str) -> None:
    form = {**sms_form(body), "MessageSid": "SM" + format(abs(hash(body)), "032x")[:32]}
    response = app_client.post(
        "/sms/twilio", data=form, headers={"X-Twilio-Signature": signature(form)}
    )
    assert response.status_code == 200
    assert response.text.startswith('<?xml version="1.0" encoding="UTF-8"?><Response')


def test_health_readiness_and_metrics(app_client: TestClient) -> None:
    assert app_client.get("/healthz").json() == {"status": "ok"}
    ready = app_client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": True, "redis": True}
    app_client.post(USSD, data=FORM)
    metrics = app_client.get("/metrics").text
    assert 'sauti_hops_total{channel="ussd",provider="africastalking"} 1.0' in metrics
    assert "sauti_hop_seconds_bucket" in metrics


def test_a_public_url_without_the_ussd_token_refuses_to_start(settings: Settings) -> None:
    from gateway.app import create_app

    exposed = settings.model_copy(update={"sauti_at_token": ""})
    with pytest.raises(ValueError, match="SAUTI_AT_TOKEN"), TestClient(create_app(exposed)):
        pass
    loopback = exposed.model_copy(update={"sauti_public_url": "http://127.0.0.1:8000"})
    with TestClient(create_app(loopback)) as client:
        assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("token", ["s3cr3t", "test-at-token", "a" * 23])
def test_a_short_ussd_token_behind_a_public_url_refuses_to_start(
    settings: Settings, token: str
) -> None:
    from gateway.app import create_app

    short = settings.model_copy(update={"sauti_at_token": token})
    refused = pytest.raises(ValueError, match="SAUTI_AT_TOKEN is shorter than 24 characters")
    with refused as caught, TestClient(create_app(short)):
        pass
    assert "SAUTI_PUBLIC_URL is not a loopback address" in str(caught.value)
    assert token not in str(caught.value).replace("SAUTI_AT_TOKEN", "")
    for allowed in (
        short.model_copy(update={"sauti_public_url": "http://localhost:8000"}),
        settings.model_copy(update={"sauti_at_token": "b" * 24}),
    ):
        with TestClient(create_app(allowed)) as client:
            assert client.get("/healthz").status_code == 200


def test_an_unmigrated_database_is_named_at_start(settings: Settings, tmp_path: Path) -> None:
    from gateway.app import create_app

    empty = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'empty.db'}"})
    with pytest.raises(RuntimeError, match="sauti db upgrade"), TestClient(create_app(empty)):
        pass
