"""A report by WhatsApp, end to end through a Twilio test server on this machine.

A reporter writes by WhatsApp (signed webhooks, `From=whatsapp:+243…`) and files a report
asking for news; the routing job alerts the Walikale committee, whose focal point is
reached by WhatsApp (outside their window: the approved alert template) and whose other
member by SMS; the reporter gets their case number by WhatsApp (inside their window). The
focal point acknowledges and answers by SMS; the reporter hears back on WhatsApp. The
sender talks to a threaded HTTP server on 127.0.0.1 that answers as Twilio's Messages API
(`TWILIO_API_URL`). Afterwards neither the reporter's number nor their WhatsApp name is
anywhere at rest or in the logs.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.keys import load_crypto
from storage.models import Case, CommitteeMember, OutboxMessage
from storage.settings import Settings
from storage.whatsapp_window import WhatsAppWindow
from tests.channels.twilio.phones import (
    PROFILE_NAME,
    WHATSAPP_FROM,
    WhatsAppPhone,
    report_by_whatsapp,
)
from tests.conftest import TWILIO_TOKEN
from tests.gateway.conftest import SmsPhone
from tests.gateway.test_sms import case_number
from tests.leaks import count_leaks, find_leaks, number_forms

PUBLIC = "https://sauti.example.org"
ACCOUNT = "AC" + "0" * 32
REPORTER = "+243970001122"
FOCAL_POINT = "+243810000001"  # Walikale focal point (demo data), Kiswahili: by WhatsApp
MINING_SERVICE = "+243810000002"  # Walikale mining service (demo data), French: by SMS
ALERT_SW = "HX" + "5a" * 16
DESCRIPTION = "Askari wa mgodi wanachukua faranga 2000 kwa kila mchimbaji"


@dataclass
class TwilioServer:
    """Twilio's Messages API on 127.0.0.1: each create request recorded, answered 201."""

    url: str = ""
    requests: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sent_to(self, to: str) -> list[dict[str, str]]:
        with self.lock:
            return [request for request in self.requests if request["To"] == to]


def _handler(server: TwilioServer) -> type[BaseHTTPRequestHandler]:
    expected_auth = "Basic " + base64.b64encode(f"{ACCOUNT}:{TWILIO_TOKEN}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path != f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json":
                self._answer(404, {"code": 20404, "message": "not found", "status": 404})
                return
            if self.headers.get("Authorization") != expected_auth:
                self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
                return
            length = int(self.headers.get("Content-Length", "0"))
            form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
            with server.lock:
                server.requests.append(form)
            sid = "SM" + secrets.token_hex(16)
            self._answer(
                201,
                {
                    "sid": sid,
                    "account_sid": ACCOUNT,
                    "to": form.get("To"),
                    "from": form.get("From"),
                    "body": form.get("Body", ""),
                    "status": "queued",
                    "direction": "outbound-api",
                    "api_version": "2010-04-01",
                    "num_segments": "1",
                    "uri": f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}.json",
                },
            )

        def _answer(self, status: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the request line names no one, but the suite's output stays quiet

    return Handler


@pytest.fixture
def twilio_server() -> Iterator[TwilioServer]:
    server = TwilioServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def settings(settings: Settings, twilio_server: TwilioServer, tmp_path: Path) -> Settings:
    """Twilio for every country, at the test server, with WhatsApp and an alert template."""
    templates = tmp_path / "whatsapp-templates.json"
    templates.write_text(json.dumps({"alert": {"sw": ALERT_SW}}))
    return settings.model_copy(
        update={
            "sauti_sms_provider": "twilio",
            "twilio_api_url": twilio_server.url,
            "twilio_whatsapp_from": "whatsapp:" + WHATSAPP_FROM,
            "twilio_whatsapp_templates": templates,
        }
    )


def reached_by_whatsapp(db: sessionmaker[Session], settings: Settings, phone: str) -> None:
    pseudonym = load_crypto(settings).pseudonym(phone)
    with db.begin() as session:
        member = session.scalars(
            select(CommitteeMember).where(CommitteeMember.phone_pseudonym == pseudonym)
        ).one()
        member.channel = "whatsapp"


def outbox(db: sessionmaker[Session]) -> list[tuple[str, str, str, str | None, str]]:
    """(kind, recipient kind, channel, note, status) of every outbox row, in order."""
    with db() as session:
        return [
            (m.kind, m.recipient_kind, m.channel, m.channel_note, m.status)
            for m in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        ]


def test_a_report_by_whatsapp_is_routed_alerted_answered_and_leaves_no_trace(
    app_client: TestClient,
    settings: Settings,
    db: sessionmaker[Session],
    redis_client: redis.Redis,
    run_jobs: Callable[[], None],
    twilio_server: TwilioServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    reached_by_whatsapp(db, settings, FOCAL_POINT)
    reporter = WhatsAppPhone(app_client, REPORTER, TWILIO_TOKEN, PUBLIC)

    # The report, by WhatsApp, answered inline.
    final = report_by_whatsapp(reporter, DESCRIPTION)
    assert final.startswith("Report sent."), final
    number = case_number(final)
    with db() as session:
        case = session.scalars(select(Case)).one()
    assert (case.channel, case.consent_updates) == ("whatsapp", True)
    assert case.pseudonym == load_crypto(settings).pseudonym(REPORTER)

    # Routing: the alerts and the reporter's case number go out through Twilio.
    run_jobs()
    [confirmation] = twilio_server.sent_to("whatsapp:" + REPORTER)
    assert confirmation["From"] == "whatsapp:" + WHATSAPP_FROM
    assert number in confirmation["Body"]
    assert "ContentSid" not in confirmation  # the reporter wrote just now: free-form
    [focal_alert] = twilio_server.sent_to("whatsapp:" + FOCAL_POINT)
    assert focal_alert["From"] == "whatsapp:" + WHATSAPP_FROM
    assert focal_alert["ContentSid"] == ALERT_SW  # the member's window is closed
    assert number in json.loads(focal_alert["ContentVariables"])["1"]
    assert "Body" not in focal_alert
    [service_alert] = twilio_server.sent_to(MINING_SERVICE)
    assert (service_alert["From"], number in service_alert["Body"]) == (settings.twilio_from, True)
    assert all(r["StatusCallback"] == PUBLIC + "/sms/twilio/status" for r in twilio_server.requests)
    assert sorted(outbox(db)) == [
        ("alert", "member", "sms", None, "sent"),
        (
            "alert",
            "member",
            "whatsapp",
            "whatsapp window closed: sent as an approved template",
            "sent",
        ),
        ("confirmation", "reporter", "whatsapp", None, "sent"),
    ]

    # The focal point acknowledges and writes to the reporter, by SMS.
    focal_point = SmsPhone(app_client, FOCAL_POINT, TWILIO_TOKEN, PUBLIC)
    assert number in focal_point.send(f"ACK {number}")  # answered in Kiswahili
    with db() as session:
        assert session.scalars(select(Case.status)).one() == "acknowledged"
    focal_point.send(f"MSG {number} Tutafika Ijumaa na huduma ya madini")
    run_jobs()
    *_, news = twilio_server.sent_to("whatsapp:" + REPORTER)
    assert news["From"] == "whatsapp:" + WHATSAPP_FROM
    assert "Tutafika Ijumaa" in news["Body"]
    assert number in news["Body"]
    assert ("reporter_message", "reporter", "whatsapp", None, "sent") in outbox(db)
    assert twilio_server.sent_to(FOCAL_POINT) == []  # the SMS commands are answered inline
    window = WhatsAppWindow(redis_client)
    assert not window.is_open(load_crypto(settings).pseudonym(FOCAL_POINT))  # wrote by SMS

    # The reporter checks the status by WhatsApp.
    status = reporter.send(f"STATUS {number}")
    assert number in status
    assert "Tutafika Ijumaa" in status

    # Twilio reports WhatsApp's words: read is delivered.
    with db() as session:
        sids = [
            m.provider_id
            for m in session.scalars(
                select(OutboxMessage).where(OutboxMessage.channel == "whatsapp")
            )
        ]
    for sid in sids:
        callback = {
            "MessageSid": sid or "",
            "MessageStatus": "read",
            "AccountSid": ACCOUNT,
            "ChannelPrefix": "whatsapp",
        }
        assert reporter.post_form(callback, path="/sms/twilio/status")[0] == 200
    assert sorted(row[-1] for row in outbox(db) if row[2] == "whatsapp") == ["delivered"] * 3

    # Nothing of the reporter is kept: not the number in any form, not the WhatsApp name.
    secrets_ = [PROFILE_NAME, *PROFILE_NAME.split(), *number_forms(REPORTER), DESCRIPTION]
    assert (
        find_leaks(
            secrets_, database_url=settings.db_url, redis_client=redis_client, logs=caplog.text
        )
        == []
    )
    counts, examples = count_leaks(
        [REPORTER], database_url=settings.db_url, redis_client=redis_client
    )
    assert counts == {"table": 0, "redis": 0, "job": 0, "file": 0}, examples
    assert PROFILE_NAME not in caplog.text
