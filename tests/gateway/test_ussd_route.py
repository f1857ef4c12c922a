"""The USSD webhooks served as plain ASGI ahead of FastAPI: the same answers, headers,
refusals and metrics as a framework route, and the parser's refusals over HTTP."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import AT_TOKEN

USSD = f"/ussd/africastalking?token={AT_TOKEN}"
EVENTS = f"/ussd/africastalking/events?token={AT_TOKEN}"
FORM = "sessionId=ATUid_route&serviceCode=%2A384%2A123%23&phoneNumber=%2B243812345678&text="
FORM_TYPE = {"content-type": "application/x-www-form-urlencoded"}
CONSOLE_HEADERS = ("content-security-policy", "x-frame-options", "cache-control")


def post(client: TestClient, body: str, path: str = USSD) -> object:
    return client.post(path, content=body, headers=FORM_TYPE)


def test_a_hop_is_answered_in_plain_text_as_before(app_client: TestClient) -> None:
    response = app_client.post(USSD, content=FORM, headers=FORM_TYPE)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert int(response.headers["content-length"]) == len(response.content)
    assert response.text.startswith("CON ")
    # The console's headers are the console's: a phone network reads none of them.
    assert not any(name in response.headers for name in CONSOLE_HEADERS)


def test_the_session_end_notification_is_ok(app_client: TestClient) -> None:
    response = app_client.post(EVENTS, content="sessionId=ATUid_route&status=Success")
    assert (response.status_code, response.text) == (200, "OK")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_get_405(app_client: TestClient, method: str) -> None:
    response = app_client.request(method, USSD)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json() == {"detail": "Method Not Allowed"}


def test_a_field_named_twice_gets_400(app_client: TestClient) -> None:
    response = post(app_client, FORM + "&phoneNumber=%2B243899999999")
    assert response.status_code == 400
    assert "phoneNumber" in response.text


@pytest.mark.parametrize("junk", ["text=%zz", "text=%C3%28", "text=50%"])
def test_a_broken_encoding_gets_400(app_client: TestClient, junk: str) -> None:
    response = post(app_client, FORM.removesuffix("&text=") + "&" + junk)
    assert response.status_code == 400
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


def test_a_declared_huge_body_gets_413(app_client: TestClient) -> None:
    response = app_client.post(USSD, content=b"x" * 70_000, headers=FORM_TYPE)
    assert response.status_code == 413


def test_refusals_of_the_token_are_counted_and_hops_timed(app_client: TestClient) -> None:
    assert post(app_client, FORM, "/ussd/africastalking?token=wrong").status_code == 403
    assert post(app_client, FORM, "/ussd/africastalking/events").status_code == 403
    assert post(app_client, FORM).status_code == 200
    metrics = app_client.get("/metrics").text
    assert 'sauti_refused_total{reason="at_token"} 2.0' in metrics
    assert 'sauti_hops_total{channel="ussd",provider="africastalking"} 1.0' in metrics
    assert 'sauti_hop_seconds_count{channel="ussd"} 1.0' in metrics


def test_a_refused_form_is_no_hop(app_client: TestClient) -> None:
    assert post(app_client, FORM + "&text=1").status_code == 400
    metrics = app_client.get("/metrics").text
    assert 'sauti_hops_total{channel="ussd",provider="africastalking"} 1.0' not in metrics


def test_the_rest_of_the_app_is_still_fastapi(app_client: TestClient) -> None:
    assert app_client.get("/healthz").status_code == 200
    assert app_client.post("/ussd/africastalking/other").status_code == 404
