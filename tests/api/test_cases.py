"""Listing and reading cases: filters, pagination, case numbers as typed, audit of free text."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.actions import add_action, mark_done, verify
from storage.appeals import answer_closing
from storage.assignments import active_assignments
from storage.casenumber import display
from storage.cases import close_case
from storage.keys import load_crypto
from storage.models import Case
from storage.settings import Settings
from storage.users import audit_entries
from tests.api.conftest import DESCRIPTION, NOTE, PLACE_TEXT

Headers = Callable[[str], dict[str, str]]
T0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)


def _numbers(client: TestClient, auth: dict[str, str], **params: object) -> list[str]:
    response = client.get("/api/v1/cases", params=params, headers=auth)
    assert response.status_code == 200, response.text
    return [item["number"] for item in response.json()["items"]]


def test_list_items_have_the_anonymised_fields(
    app_client: TestClient, headers: Headers, file_case: Callable[..., str]
) -> None:
    number = file_case(at=T0)
    body = app_client.get("/api/v1/cases", headers=headers("analyst")).json()
    assert body["total"] == 1
    [item] = body["items"]
    assert item == {
        "number": display(number),
        "category": "illegal_tax",
        "severity": item["severity"],
        "itsci_level": 2,  # an illegal tax
        "status": "routed",
        "outcome": None,
        "location": {"code": "cd-nk-walikale-mpama", "name": item["location"]["name"]},
        "created_at": "2026-10-01T08:00:00Z",
        "incident": None,
        "incident_link": None,
        "duplicate_of": None,
        "occurred": "today",  # fixed at submission: 10:00 in Walikale that day
        "occurred_from": "2026-10-01",
        "occurred_to": "2026-10-01",
    }
    assert len(number) == 10
    assert item["number"] == f"{number[:3]}-{number[3:6]}-{number[6:]}"


def test_pagination_newest_first_with_a_total(
    app_client: TestClient, headers: Headers, file_case: Callable[..., str]
) -> None:
    numbers = [display(file_case(at=T0 + timedelta(hours=h))) for h in range(5)]
    auth = headers("coordinator")
    first = app_client.get("/api/v1/cases", params={"per_page": 2}, headers=auth).json()
    assert (first["total"], first["page"], first["per_page"]) == (5, 1, 2)
    pages = [_numbers(app_client, auth, per_page=2, page=p) for p in (1, 2, 3, 4)]
    assert pages == [numbers[4:2:-1], numbers[2:0:-1], numbers[:1], []]


@pytest.mark.parametrize(
    "params",
    [
        {"per_page": 101},
        {"per_page": 0},
        {"page": 0},
        {"page": "x"},
        {"page": 10**30},
        {"status": "lost"},
        {"category": "theft"},
        {"severity": "extreme"},
        {"province": "CD NK"},
        {"committee": "a\x00b"},
        {"created_from": "yesterday"},
        {"created_to": "0001-01-01T00:00:00+14:00"},
    ],
)
def test_bad_query_parameters_are_422(
    app_client: TestClient, headers: Headers, params: dict[str, object]
) -> None:
    response = app_client.get("/api/v1/cases", params=params, headers=headers("admin"))
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


def test_filters(app_client: TestClient, headers: Headers, file_case: Callable[..., str]) -> None:
    walikale = display(file_case(category="illegal_tax", at=T0))
    lemera = display(
        file_case(category="accident", place="cd-sk-uvira-lemera", at=T0 + timedelta(days=2))
    )
    danger = display(file_case(category="violence", danger_now="yes", at=T0 + timedelta(days=4)))
    auth = headers("analyst")
    assert _numbers(app_client, auth, category="accident") == [lemera]
    assert _numbers(app_client, auth, province="cd-nk") == [danger, walikale]
    assert _numbers(app_client, auth, province="cd-sk") == [lemera]
    assert _numbers(app_client, auth, province="cd-nk-walikale") == []
    assert _numbers(app_client, auth, province="nowhere") == []
    assert _numbers(app_client, auth, committee="uvira-local") == [lemera]
    assert _numbers(app_client, auth, committee="walikale-local") == [danger, walikale]
    assert _numbers(app_client, auth, severity="critical") == [danger]
    assert _numbers(app_client, auth, level=1) == [danger]  # violence: ITSCI level 1
    assert _numbers(app_client, auth, level=2) == [lemera, walikale]
    assert _numbers(app_client, auth, level=3) == []
    assert app_client.get("/api/v1/cases", params={"level": 4}, headers=auth).status_code == 422
    assert _numbers(app_client, auth, status="routed", category="violence") == [danger]
    assert _numbers(app_client, auth, status="closed") == []
    assert _numbers(
        app_client, auth, created_from="2026-10-02T00:00:00Z", created_to="2026-10-04T00:00:00"
    ) == [lemera]
    assert _numbers(app_client, auth, created_from="2026-10-04") == [danger]


@pytest.mark.parametrize("form", ["plain", "dashes", "spaces", "dots"])
def test_case_number_with_or_without_separators(
    app_client: TestClient, headers: Headers, file_case: Callable[..., str], form: str
) -> None:
    number = file_case()
    typed = {
        "plain": number,
        "dashes": display(number),
        "spaces": display(number).replace("-", " "),
        "dots": display(number).replace("-", "."),
    }[form]
    response = app_client.get(f"/api/v1/cases/{typed}", headers=headers("analyst"))
    assert response.status_code == 200, response.text
    assert response.json()["number"] == display(number)


@pytest.mark.parametrize("typed", ["4821773506", "123", "abc", "482-177-350x", "%00"])
def test_unknown_or_malformed_number_is_404(
    app_client: TestClient, headers: Headers, file_case: Callable[..., str], typed: str
) -> None:
    file_case()
    assert app_client.get(f"/api/v1/cases/{typed}", headers=headers("admin")).status_code == 404


def test_coordinator_reads_free_text_and_the_read_is_audited(
    app_client: TestClient,
    headers: Headers,
    file_case: Callable[..., str],
    db: sessionmaker[Session],
) -> None:
    number = file_case()
    body = app_client.get(f"/api/v1/cases/{number}", headers=headers("coordinator")).json()
    assert body["description"] == DESCRIPTION
    assert body["place_text"] == PLACE_TEXT
    kinds = [event["kind"] for event in body["events"]]
    assert kinds[0] == "received"
    assert "routed" in kinds
    note = next(event for event in body["events"] if event["kind"] == "note")
    assert (note["body"], note["actor"]) == (NOTE, "user:cora")
    with db() as session:
        [entry] = audit_entries(session=session, action="case.view_text")
    assert (entry.actor, entry.target) == ("cora", number)
    assert DESCRIPTION not in str(entry.data)


def test_analyst_read_writes_no_free_text_audit(
    app_client: TestClient,
    headers: Headers,
    file_case: Callable[..., str],
    db: sessionmaker[Session],
) -> None:
    number = file_case()
    assert app_client.get(f"/api/v1/cases/{number}", headers=headers("analyst")).status_code == 200
    with db() as session:
        assert audit_entries(session=session, action="case.view_text") == []


ACTION_TEXT = "Remove the barrier on the Mpama road"


def _with_action_and_appeal(db: sessionmaker[Session], settings: Settings, number: str) -> None:
    """Give the case an action (done and verified), close it, and have its reporter say
    "not solved", as the console, the focal points and the reporter would."""
    crypto = load_crypto(settings)
    now = datetime.now(UTC)
    with db.begin() as session:
        case = session.scalars(select(Case).where(Case.number == number)).one()
        held = active_assignments(session=session, case_id=case.id)
        assignment = next(a for a in held if a.committee.code == "walikale-local")
        action = add_action(
            session=session,
            crypto=crypto,
            case=case,
            committee=assignment.committee,
            owner="user:cora",
            actor="user:cora",
            what=ACTION_TEXT,
            days=3,
            now=now,
        )
        mark_done(session=session, action=action, actor="user:cora", now=now)
        verify(session=session, action=action, actor="user:ada", now=now)
        close_case(
            session=session,
            crypto=crypto,
            case=case,
            actor="user:cora",
            outcome="persistent",
            note=None,
            now=now,
        )
        answered = answer_closing(
            session=session,
            case=case,
            pseudonym=case.pseudonym,
            answer="not_solved",
            channel="sms",
            now=now,
        )
        assert answered is not None


def test_the_case_json_has_its_actions_answer_and_appeals(
    app_client: TestClient,
    headers: Headers,
    file_case: Callable[..., str],
    db: sessionmaker[Session],
    settings: Settings,
) -> None:
    number = file_case()
    _with_action_and_appeal(db, settings, number)
    bodies = {
        role: app_client.get(f"/api/v1/cases/{number}", headers=headers(role)).json()
        for role in ("admin", "coordinator", "analyst")
    }
    for role, body in bodies.items():
        [action] = body["actions"]
        assert action["n"] == 1
        assert action["status"] == "verified"
        assert action["committee"] == "walikale-local"
        assert None not in (action["due_on"], action["done_at"], action["verified_at"])
        assert (action.get("what") == ACTION_TEXT) is (role != "analyst"), role
        assert set(action) <= {
            "n",
            "committee",
            "status",
            "due_on",
            "done_at",
            "verified_at",
            "what",
        }
        assert body["satisfaction"] == "not_solved"
        assert body["satisfaction_at"]
        assert body["status"] == "appealed"
        [appeal] = body["appeals"]
        assert appeal["at"] == body["satisfaction_at"]
        assert (appeal["from_committee"], appeal["to_committee"]) == (
            "walikale-local",
            "north-kivu-provincial",
        )
    assert "what" not in bodies["analyst"]["actions"][0]
    assert ACTION_TEXT not in json.dumps(bodies["analyst"])


def test_a_case_without_actions_or_answers_says_so(
    app_client: TestClient, headers: Headers, file_case: Callable[..., str]
) -> None:
    body = app_client.get(f"/api/v1/cases/{file_case()}", headers=headers("analyst")).json()
    assert (body["actions"], body["appeals"], body["satisfaction"]) == ([], [], None)
