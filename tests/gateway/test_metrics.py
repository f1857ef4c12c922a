"""/metrics: the process's counters and the service gauges operators alert on."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

import redis
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from storage.cases import create_report
from storage.keys import load_crypto
from storage.settings import Settings
from tests.conftest import AT_TOKEN
from tests.gateway.conftest import UssdPhone
from workers import queues
from workers.routing import route_report


def _gauge(text: str, name: str, labels: str = "") -> float:
    found = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.MULTILINE)
    assert found is not None, f"{name}{labels} not in /metrics"
    return float(found.group(1))


def _file(settings: Settings, db: sessionmaker[Session], at: datetime) -> int:
    crypto = load_crypto(settings)
    with db.begin() as session:
        case = create_report(
            session=session,
            crypto=crypto,
            pseudonym=crypto.pseudonym("+243990000077"),
            channel="ussd",
            language="en",
            answers={
                "category": "accident",
                "place_code": "cd-nk-walikale-mpama",
                "when": "today",
                "danger_now": "no",
                "description": "a fall",
                "sms_updates": "no",
            },
            contact_e164=None,
            flow_version="v1",
            rng=random.Random(3),
            now=at,
        )
        return case.id


def test_service_gauges_count_unrouted_reports_and_queued_jobs(
    app_client: TestClient,
    settings: Settings,
    db: sessionmaker[Session],
    redis_client: redis.Redis,
) -> None:
    before = app_client.get("/metrics").text
    assert _gauge(before, "sauti_cases_unrouted") == 0
    assert _gauge(before, "sauti_outbox_messages", '{status="failed"}') == 0
    assert _gauge(before, "sauti_queue_jobs", '{queue="routing"}') == 0
    case_id = _file(settings, db, datetime.now(UTC) - timedelta(minutes=10))
    _file(settings, db, datetime.now(UTC))  # too recent to count as stuck
    queues.enqueue(queues.ROUTING, route_report, case_id, connection=redis_client)
    UssdPhone(app_client, "+243990000078", AT_TOKEN).dial()
    after = app_client.get("/metrics").text
    assert _gauge(after, "sauti_cases_unrouted") == 1
    assert _gauge(after, "sauti_cases_overdue") == 0
    assert _gauge(after, "sauti_queue_jobs", '{queue="routing"}') == 1
    assert _gauge(after, "sauti_hops_total", '{channel="ussd",provider="africastalking"}') == 1
