"""Nothing of the reporter is in clear at rest: every table, Redis key and value, RQ job
argument and log line is searched for the number (in every form) and the description."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
import redis
from fastapi.testclient import TestClient

from storage.settings import Settings
from tests.conftest import AT_TOKEN, TWILIO_TOKEN
from tests.gateway.conftest import SmsPhone, UssdPhone, option
from tests.gateway.test_sms import report_by_sms
from tests.gateway.test_ussd import case_number_in, file_report
from tests.leaks import find_leaks, number_forms
from workers.sweep import sweep

USSD_NUMBER = "+243812345678"
SMS_NUMBER = "+250788123456"
DESCRIPTION = "Commander Kabila of the mine police beat my brother Amani"
ADDED = "He also took the cassiterite of Mama Furaha"


def test_nothing_of_the_reporter_is_in_clear_anywhere(
    app_client: TestClient,
    settings: Settings,
    redis_client: redis.Redis,
    run_jobs: Callable[[], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    ussd = UssdPhone(client=app_client, number=USSD_NUMBER, token=AT_TOKEN)
    number = case_number_in(file_report(ussd, description=DESCRIPTION))
    ussd.dial()
    ussd.choose("Add information")
    ussd.press(number)
    ussd.press(ADDED)
    ussd.dial()
    ussd.choose("Report a problem")
    ussd.choose("Violence")
    ussd.press(DESCRIPTION[:20])  # an invalid choice: re-prompted, kept nowhere

    sms = SmsPhone(
        client=app_client,
        number=SMS_NUMBER,
        token=TWILIO_TOKEN,
        public_url="https://sauti.example.org",
    )
    report_by_sms(sms)
    sms.send(f"STATUS {number}")
    screen = sms.send("REPORT")
    sms.send(option(screen, "Sexual violence"))  # a draft left in Redis
    sms.send("STOP")
    run_jobs()
    sweep()  # the committees hear of the added information
    run_jobs()

    secrets = [*number_forms(USSD_NUMBER), *number_forms(SMS_NUMBER), DESCRIPTION, ADDED]
    leaks = find_leaks(
        secrets, database_url=settings.db_url, redis_client=redis_client, logs=caplog.text
    )
    assert leaks == []
    # The scan itself is live: it does find what is there.
    redis_client.set("probe", SMS_NUMBER)
    assert find_leaks(
        [SMS_NUMBER], database_url=settings.db_url, redis_client=redis_client, logs=""
    )
