"""A production-like run with the console provider (a public URL, the provider allowed):
reporters file by USSD and SMS in several number forms, ask for news, get the committee's
message and the closing; the console file then holds no reporter's number in any written
form and no reporter's words, while a loopback run would show them (tests/workers/
test_console_outbox.py). Without the allowing setting the web process does not start."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from storage.settings import Settings
from tests.conftest import AT_TOKEN, TWILIO_TOKEN
from tests.gateway.conftest import SmsPhone, UssdPhone, outbox_texts
from tests.gateway.test_follow_up import DESCRIPTION, MESSAGE, WALIKALE_FR, report_with_updates
from tests.gateway.test_sms import report_by_sms
from tests.gateway.test_ussd import case_number_in
from tests.leaks import NumberScan, file_lines, number_forms

# (as the gateway spells it, the number) for each reporter
USSD_REPORTERS = [("+243812345678", "+243812345678"), ("0812345679", "+243812345679")]
SMS_REPORTER = "+250788123456"
SMS_DESCRIPTION = "Soldiers take 2000 francs at the road block"


def test_the_web_process_refuses_the_console_provider_behind_a_public_url(
    settings: Settings,
) -> None:
    from gateway.app import create_app

    refused = settings.model_copy(update={"sauti_console_provider_allowed": False})
    with (
        pytest.raises(ValueError, match="SAUTI_CONSOLE_PROVIDER_ALLOWED") as raised,
        TestClient(create_app(refused)),
    ):
        pass
    assert settings.sauti_public_url not in str(raised.value)


def test_a_production_like_console_outbox_holds_no_reporters_number_in_any_form(
    app_client: TestClient, settings: Settings, run_jobs: Callable[[], None]
) -> None:
    focal = SmsPhone(app_client, WALIKALE_FR, TWILIO_TOKEN, "https://sauti.example.org")
    for spelled, _ in USSD_REPORTERS:
        number = report_with_updates(UssdPhone(client=app_client, number=spelled, token=AT_TOKEN))
        run_jobs()
        focal.send(f"VU {number}")
        focal.send(f"MSG {number} {MESSAGE}")
        focal.send(f"FERMER {number} résolu")
    sms = SmsPhone(app_client, SMS_REPORTER, TWILIO_TOKEN, "https://sauti.example.org")
    case_number_in(report_by_sms(sms))
    run_jobs()

    to_reporters = [
        m for m in outbox_texts(settings) if m["kind"] in ("reporter_message", "closing")
    ]
    assert len(to_reporters) >= 4  # the messages and closings were sent
    path = settings.console_outbox
    text = path.read_text(encoding="utf-8")
    assert "+243 ••• ••• 678" in text  # the reporters' lines are there, masked
    numbers = [e164 for _, e164 in USSD_REPORTERS] + [SMS_REPORTER]
    scan = NumberScan(numbers)
    assert [where for _, where, line in file_lines([path]) if scan(line)] == []
    forms = [form for e164 in numbers for form in number_forms(e164)]
    assert [form for form in forms if form in text] == []
    for words in (DESCRIPTION, SMS_DESCRIPTION, DESCRIPTION[:40], SMS_DESCRIPTION[:30]):
        assert words not in text
    assert WALIKALE_FR in text  # focal points' own numbers are not masked
