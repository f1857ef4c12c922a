"""The tested path of a deployment: the Procfile's processes on PostgreSQL and Redis take a
USSD report and an SMS report over HTTP, route both and hand the alerts to the SMS
provider, and keep no reporter's number anywhere at rest or in their logs."""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import aiohttp
import redis
from sqlalchemy import select

from benchmarks.common import case_numbers
from benchmarks.system import Outcome, Target, outcome, sms_report, ussd_report
from benchmarks.ussd_hops import Tally
from gateway.release import database
from storage.models import Case
from tests.deploy.conftest import Stack
from tests.leaks import find_leaks, number_forms

USSD_PHONE = "+243817340962"
SMS_PHONE = "+250788461537"
# The demo committees' focal points for the two sites (storage/seed/committees.yaml).
WALIKALE_FOCAL_POINT = "+243810000001"
RULINDO_FOCAL_POINT = "+250780000001"
SETTLE_SECONDS = 30


async def file_reports(target: Target) -> tuple[dict[str, Any], str | None, str | None]:
    """Readiness, then one report by USSD and one by SMS; the two case numbers."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as client:
        async with client.get(target.base + "/readyz") as response:
            readiness: dict[str, Any] = await response.json()
        ussd = await ussd_report(client, target, USSD_PHONE, Tally())
        sms = await sms_report(client, target, SMS_PHONE, Tally())
    return readiness, ussd, sms


def settled(stack: Stack, cases: set[str]) -> Outcome:
    """What the service stored, once the cases are alerted or SETTLE_SECONDS have passed."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        result = outcome(stack.settings)
        if cases <= result.handed & result.console_cases or time.monotonic() > deadline:
            return result
        time.sleep(0.25)


def console_lines(stack: Stack) -> list[dict[str, str]]:
    text = stack.settings.console_outbox.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def recipients(lines: list[dict[str, str]], case: str) -> set[str]:
    return {line["to"] for line in lines if case in case_numbers(line["body"])}


def channels(stack: Stack) -> dict[str, str]:
    with database(stack.settings) as sessions, sessions() as session:
        return {str(n): str(c) for n, c in session.execute(select(Case.number, Case.channel))}


def stop_and_check(stack: Stack) -> None:
    """Every process stopped, uvicorn's worker processes included."""
    groups = [process.pid for _, process in stack.services.started]
    stack.services.stop()
    for pgid in groups:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            continue
        raise AssertionError(f"process group {pgid} still running")


def leaks(stack: Stack, logs: str) -> list[str]:
    client = redis.Redis.from_url(stack.settings.redis_url)
    try:
        return find_leaks(
            [*number_forms(USSD_PHONE), *number_forms(SMS_PHONE)],
            database_url=stack.settings.db_url,
            redis_client=client,
            logs=logs,
        )
    finally:
        client.close()


def test_the_stack_routes_and_alerts_a_report_from_each_channel_and_keeps_no_number(
    stack: Stack,
) -> None:
    readiness, ussd, sms = asyncio.run(file_reports(stack.target))
    assert readiness == {"status": "ready", "database": True, "redis": True}
    assert ussd is not None
    assert sms is not None
    result = settled(stack, {ussd, sms})
    assert result.stored == {ussd, sms}
    assert result.routed == {ussd, sms}
    assert result.handed == {ussd, sms}
    assert channels(stack) == {ussd: "ussd", sms: "sms"}
    lines = console_lines(stack)
    assert WALIKALE_FOCAL_POINT in recipients(lines, ussd)
    assert RULINDO_FOCAL_POINT in recipients(lines, sms)
    assert not {USSD_PHONE, SMS_PHONE} & {line["to"] for line in lines}
    assert stack.services.stopped() == []
    stop_and_check(stack)
    logs = stack.services.log_text()
    assert "route_report" in logs  # the workers' INFO lines are among the logs searched
    assert leaks(stack, logs) == []
