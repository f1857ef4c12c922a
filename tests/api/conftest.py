"""Users of each role, their tokens, and cases filed and routed through the real code."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.cases import add_note, create_report, find_case
from storage.keys import load_crypto
from storage.models import Signal
from storage.settings import Settings
from storage.signals import raise_absolute
from storage.users import create_user
from tests.gateway import conftest as gateway_fixtures
from workers import queues
from workers.context import current
from workers.routing import route_report

PASSWORD = "correct horse battery"
USERS = {"admin": "ada", "coordinator": "cora", "analyst": "ana"}
DESCRIPTION = "Soldiers take 2000 francs at the barrier"
PLACE_TEXT = "behind the old washing pond"
NOTE = "Spoke to the site chief on Tuesday"

# The running app, database sessions and the job runner of the gateway tests.
app_client = gateway_fixtures.app_client
db = gateway_fixtures.db
run_jobs = gateway_fixtures.run_jobs


@pytest.fixture
def users(app_client: TestClient, db: sessionmaker[Session]) -> dict[str, str]:
    """One user per role, all with `PASSWORD`; maps role to username."""
    with db.begin() as session:
        for role, name in USERS.items():
            create_user(
                session=session, username=name, password=PASSWORD, role=role, now=datetime.now(UTC)
            )
    return USERS


def login(client: TestClient, username: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


@pytest.fixture
def headers(app_client: TestClient, users: dict[str, str]) -> Callable[[str], dict[str, str]]:
    """The Authorization header of a fresh token for a role."""

    def make(role: str) -> dict[str, str]:
        response = login(app_client, users[role])
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return make


@pytest.fixture
def file_case(
    app_client: TestClient,
    settings: Settings,
    db: sessionmaker[Session],
    run_jobs: Callable[[], None],
) -> Callable[..., str]:
    """Commit and route a report with free text, plus a note; return its canonical number."""
    crypto = load_crypto(settings)
    rng = random.Random(7)

    def file(
        *,
        category: str = "illegal_tax",
        place: str = "cd-nk-walikale-mpama",
        danger_now: str = "no",
        at: datetime | None = None,
    ) -> str:
        now = at or datetime.now(UTC)
        with db.begin() as session:
            case = create_report(
                session=session,
                crypto=crypto,
                pseudonym=crypto.pseudonym("+243990000042"),
                channel="ussd",
                language="en",
                answers={
                    "category": category,
                    "place_code": place,
                    "place_text": PLACE_TEXT,
                    "when": "today",
                    "danger_now": danger_now,
                    "description": DESCRIPTION,
                    "sms_updates": "no",
                },
                contact_e164=None,
                flow_version="v1",
                rng=rng,
                now=now,
            )
            add_note(
                session=session, crypto=crypto, case=case, actor="user:cora", text=NOTE, now=now
            )
        queues.enqueue(queues.ROUTING, route_report, case.id, connection=current().redis)
        run_jobs()
        return case.number

    return file


@pytest.fixture
def file_signal(db: sessionmaker[Session]) -> Callable[[str], int]:
    """Raise (or find) the signal a filed case is by itself; return its id."""

    def raise_for(number: str) -> int:
        with db.begin() as session:
            case = find_case(session=session, number=number)
            assert case is not None
            signal = raise_absolute(session=session, case=case, now=datetime.now(UTC))
            if signal is not None:
                return signal.id
            found = session.scalar(select(Signal.id).where(Signal.key == f"absolute:{case.id}"))
            assert found is not None
            return int(found)

    return raise_for
