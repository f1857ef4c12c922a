"""Africa's Talking SMS from end to end, with SAUTI_SMS_PROVIDER=africastalking and AT_API_URL
on a local HTTP server that answers as AT's messaging API does: a reporter files a report
by SMS and gets every answer and the case number through that server, the committee's
focal points get their alerts through it, a focal point acknowledges by SMS and writes to
the reporter, who hears it; AT's delivery reports close every message. Then nothing of the
reporter's number is in clear in the database, Redis, RQ's jobs or the logs."""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Case, OutboxMessage
from storage.settings import Settings
from tests.channels.africastalking.conftest import at_id
from tests.conftest import AT_TOKEN
from tests.gateway.conftest import settle
from tests.gateway.test_sms import case_number, report_by_sms
from tests.leaks import count_leaks, find_leaks, number_forms

REPORTER = "+250788123456"
RW_NETWORK = "63510"  # MCC 635: a network in Rwanda
RULINDO = "+250780000001"  # rulindo-local's focal point (storage/seed/committees.yaml)
USERNAME = "sauti"
API_KEY = "atsk_e2e_0123456789abcdef"
SENDER_ID = "SAUTI"
DESCRIPTION = "Soldiers take 2000 francs at the road block"


@dataclass
class Sent:
    """One message the fake API took."""

    to: str
    message: str
    message_id: str


@dataclass
class FakeAtApi:
    """Africa's Talking's messaging API on 127.0.0.1: takes every well-formed request and
    answers as AT does; anything else is recorded as a problem and refused."""

    sent: list[Sent] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def take(self, path: str, headers: dict[str, str], form: dict[str, str]) -> tuple[int, bytes]:
        expected = {"username": USERNAME, "from": SENDER_ID}
        if path != "/version1/messaging":
            return self.refuse(f"path {path}", 404)
        if headers.get("apikey") != API_KEY or headers.get("accept") != "application/json":
            return self.refuse("headers", 401)
        if any(form.get(name) != value for name, value in expected.items()) or not form.get(
            "message"
        ):
            return self.refuse("form", 400)
        sid = "ATXid_" + secrets.token_hex(16)
        with self.lock:
            self.sent.append(Sent(form["to"], form["message"], sid))
        recipient = {
            "statusCode": 101,
            "number": form["to"],
            "status": "Success",
            "cost": "RWF 15.0000",
            "messageId": sid,
        }
        data = {"Message": "Sent to 1/1 Total Cost: RWF 15.0000", "Recipients": [recipient]}
        return 201, json.dumps({"SMSMessageData": data}).encode()

    def refuse(self, problem: str, status: int) -> tuple[int, bytes]:
        with self.lock:
            self.problems.append(problem)
        return status, b"refused"

    def to(self, number: str) -> list[str]:
        with self.lock:
            return [sent.message for sent in self.sent if sent.to == number]


@pytest.fixture
def at_api() -> Iterator[FakeAtApi]:
    api = FakeAtApi()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            form = dict(parse_qsl(self.rfile.read(length).decode()))
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, body = api.take(self.path, headers, form)
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: a test server's access log is no part of the service's."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield api
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def settings(settings: Settings, at_api: FakeAtApi) -> Settings:
    return settings.model_copy(
        update={
            "sauti_sms_provider": "africastalking",
            "at_username": USERNAME,
            "at_api_key": API_KEY,
            "at_sender_id": SENDER_ID,
            "at_api_url": at_api.url,
        }
    )


@dataclass
class Phone:
    """A phone on an AT network: each SMS is posted as AT posts it, the jobs run, and the
    answer is what the fake API was asked to send to this number."""

    client: TestClient
    api: FakeAtApi
    run_jobs: Callable[[], None]
    number: str
    network_code: str = RW_NETWORK

    def send(self, text: str) -> str:
        before = len(self.api.to(self.number))
        form = {
            "from": self.number,
            "to": "40404",
            "text": text,
            "date": "2026-12-08 09:00:00",
            "id": at_id(),
            "linkId": at_id(),
            "networkCode": self.network_code,
        }
        response = self.client.post(f"/sms/africastalking?token={AT_TOKEN}", data=form)
        assert (response.status_code, response.content) == (200, b""), response.text
        settle(self.client)
        self.run_jobs()
        received = self.api.to(self.number)[before:]
        assert received, f"no answer to {text!r}"
        return received[0]  # the answer; anything after it came from the jobs


def deliver_all(client: TestClient, api: FakeAtApi) -> None:
    """AT's delivery reports for every message it took, late and repeated."""
    for sent in list(api.sent):
        for status in ("Success", "Sent", "Success"):
            form = {
                "id": sent.message_id,
                "status": status,
                "phoneNumber": sent.to,
                "networkCode": RW_NETWORK,
                "retryCount": "0",
            }
            response = client.post(f"/sms/africastalking/delivery?token={AT_TOKEN}", data=form)
            assert response.status_code == 200


def test_a_report_alerts_and_an_answer_by_africas_talking_sms_leave_no_number_behind(
    app_client: TestClient,
    at_api: FakeAtApi,
    run_jobs: Callable[[], None],
    settings: Settings,
    db: sessionmaker[Session],
    redis_client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    reporter = Phone(app_client, at_api, run_jobs, REPORTER)
    focal_point = Phone(app_client, at_api, run_jobs, RULINDO)

    final = report_by_sms(reporter)  # every answer comes through the fake API
    assert final.startswith("Report sent.")
    number = case_number(final)
    # The case number by SMS (the reporter asked for SMS news), after the answer.
    assert [text for text in at_api.to(REPORTER) if number in text][-1] != final
    # The committee's focal point is alerted through the same API.
    alerts = [text for text in at_api.to(RULINDO) if number in text]
    assert len(alerts) == 1

    acknowledged = focal_point.send(f"ACK {number}")
    assert number in acknowledged
    with db() as session:
        case = session.scalars(select(Case)).one()
        assert case.status == "acknowledged"

    heard = len(at_api.to(REPORTER))
    focal_point.send(f"MSG {number} We come on Friday")
    news = at_api.to(REPORTER)[heard:]
    assert len(news) == 1
    assert number in news[0]
    assert "We come on Friday" in news[0]
    status = reporter.send(f"STATUS {number}")
    assert number in status
    assert "We come on Friday" in status

    assert at_api.problems == []
    deliver_all(app_client, at_api)
    with db() as session:
        rows = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert len(rows) == len(at_api.sent)
    assert {(row.provider, row.status) for row in rows} == {("africastalking", "delivered")}
    assert {row.provider_id for row in rows} == {sent.message_id for sent in at_api.sent}
    assert all(row.to_enc is None for row in rows if row.recipient_kind == "reporter")
    assert {row.kind for row in rows} >= {"reply", "confirmation", "alert", "reporter_message"}

    logs = caplog.text
    assert re.search(r"sms \d+ sent by africastalking", logs)
    leaks = find_leaks(
        [*number_forms(REPORTER), DESCRIPTION],
        database_url=settings.db_url,
        redis_client=redis_client,
        logs=logs,
    )
    assert leaks == []
    counts, examples = count_leaks(
        [REPORTER], database_url=settings.db_url, redis_client=redis_client
    )
    assert counts == {"table": 0, "redis": 0, "job": 0, "file": 0}, examples
    # The scans are live: they find what is there.
    redis_client.set("probe", REPORTER)
    assert find_leaks([REPORTER], database_url=settings.db_url, redis_client=redis_client, logs="")
