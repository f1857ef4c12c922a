"""Acting on cases through the API: the same actions as the console, the updated case in the
answer, 403 for analysts, and 404/409/422 for what cannot be done. Also the `q` search."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.casework import MAX_TEXT
from storage.casenumber import display
from storage.models import Case, CaseEvent
from storage.users import audit_entries
from tests.api.conftest import DESCRIPTION

Headers = Callable[[str], dict[str, str]]
AUDITED = {
    "notes": "case.note",
    "acknowledge": "case.acknowledge",
    "messages": "case.message",
    "reassign": "case.reassign",
    "escalate": "case.escalate",
    "close": "case.close",
}


def kinds(db: sessionmaker[Session], number: str) -> list[str]:
    with db() as session:
        case = session.scalar(select(Case).where(Case.number == number))
        assert case is not None
        query = select(CaseEvent.kind).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        found = list(session.scalars(query))
    return [k for k in found if k not in ("received", "routing_requested", "routed", "note")]


def post(
    client: TestClient, auth: dict[str, str], number: str, action: str, body: Any = None
) -> Any:
    return client.post(f"/api/v1/cases/{number}/{action}", headers=auth, json=body)


@pytest.mark.parametrize(
    ("action", "body", "kind"),
    [
        ("notes", {"text": "Visited the site"}, None),
        ("acknowledge", None, "acknowledged"),
        ("messages", {"text": "Help is coming"}, "message"),
        ("reassign", {"committee": "kalehe-local"}, "reassigned"),
        ("escalate", None, "escalated"),
        ("close", {"outcome": "duplicate"}, "closed"),
        ("close", {"outcome": "resolved", "note": "Barrier gone"}, "closed"),
    ],
)
def test_each_action_returns_the_updated_case(
    app_client: TestClient,
    headers: Headers,
    file_case: Callable[..., str],
    db: sessionmaker[Session],
    action: str,
    body: dict[str, str] | None,
    kind: str | None,
) -> None:
    number = file_case()
    response = post(app_client, headers("coordinator"), display(number), action, body)
    assert response.status_code == 200, response.text
    detail = response.json()
    assert detail["number"] == display(number)
    assert detail["description"] == DESCRIPTION
    last = detail["events"][-1]
    assert last["actor"] == "user:cora"
    assert last["kind"] == (kind or "note")
    written = (body or {}).get("text") or (body or {}).get("note")
    if written:
        assert last["body"] == written
    assert kinds(db, number) == ([kind] if kind else [])
    with db() as session:
        [entry] = audit_entries(session=session, action=AUDITED[action])
    assert (entry.actor, entry.target) == ("cora", number)


def test_close_sets_status_and_outcome(
    app_client: TestClient, headers: Headers, file_case: Callable[..., str]
) -> None:
    number = file_case()
    body = post(app_client, headers("admin"), number, "close", {"outcome": "unfounded"}).json()
    assert (body["status"], body["outcome"]) == ("closed", "unfounded")
    again = post(app_client, headers("admin"), number, "notes", {"text": "late"})
    assert again.status_code == 409
    assert again.json()["detail"] == "the case is closed"


@pytest.mark.parametrize(
    "action", ["notes", "acknowledge", "messages", "reassign", "escalate", "close"]
)
def test_analysts_may_not_act(
    app_client: TestClient,
    headers: Headers,
    file_case: Callable[..., str],
    db: sessionmaker[Session],
    action: str,
) -> None:
    number = file_case()
    body = {"text": "x", "committee": "kalehe-local", "outcome": "resolved"}
    response = post(app_client, headers("analyst"), number, action, body)
    assert response.status_code == 403
    assert DESCRIPTION not in response.text
    assert kinds(db, number) == []


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("notes", {"text": ""}),
        ("notes", {"text": "   "}),
        ("notes", {}),
        ("notes", {"text": "x" * (MAX_TEXT + 1)}),
        ("notes", {"text": 5}),
        ("notes", None),
        ("messages", {"text": ""}),
        ("messages", {"text": "x" * (MAX_TEXT + 1)}),
        ("reassign", {"committee": "nowhere-local"}),
        ("reassign", {"committee": "NOT A CODE"}),
        ("reassign", {}),
        ("close", {"outcome": "solved"}),
        ("close", {}),
        ("close", {"outcome": "resolved", "note": "x" * (MAX_TEXT + 1)}),
        ("close", [1, 2]),
    ],
)
def test_bad_bodies_are_422_and_change_nothing(
    app_client: TestClient,
    headers: Headers,
    file_case: Callable[..., str],
    db: sessionmaker[Session],
    action: str,
    body: Any,
) -> None:
    number = file_case()
    response = post(app_client, headers("admin"), number, action, body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]
    assert kinds(db, number) == []


@pytest.mark.parametrize("typed", ["4821773506", "123", "abc"])
def test_unknown_case_is_404(
    app_client: TestClient, headers: Headers, file_case: Callable[..., str], typed: str
) -> None:
    file_case()
    response = post(app_client, headers("admin"), typed, "notes", {"text": "hello"})
    assert response.status_code == 404


def test_without_a_token_is_401(app_client: TestClient, file_case: Callable[..., str]) -> None:
    number = file_case()
    response = app_client.post(f"/api/v1/cases/{number}/acknowledge")
    assert response.status_code == 401


def test_search_by_number_in_the_list(
    app_client: TestClient, headers: Headers, file_case: Callable[..., str]
) -> None:
    number, other = file_case(), file_case()
    auth = headers("analyst")
    for typed in (number, display(number), display(number).replace("-", " ")):
        body = app_client.get("/api/v1/cases", params={"q": typed}, headers=auth).json()
        assert [item["number"] for item in body["items"]] == [display(number)]
        assert body["total"] == 1
    assert other != number
    missing = app_client.get("/api/v1/cases", params={"q": "4821773506"}, headers=auth)
    assert missing.json()["total"] == 0
    for bad in ("abc", "1" * 11, "x" * 41):
        response = app_client.get("/api/v1/cases", params={"q": bad}, headers=auth)
        assert response.status_code == 422


def test_a_duplicate_closing_names_the_case_it_repeats(
    app_client: TestClient, headers: Headers, file_case: Callable[..., str]
) -> None:
    original, duplicate = file_case(), file_case(place="cd-nk-walikale-bisie")
    auth = headers("coordinator")
    body = {"outcome": "duplicate", "duplicate_of": display(original)}
    closed = post(app_client, auth, duplicate, "close", body).json()
    assert (closed["status"], closed["outcome"]) == ("closed", "duplicate")
    assert closed["duplicate_of"] == display(original)


@pytest.mark.parametrize("named", ["self", "9999999999", "not a number"])
def test_a_duplicate_closing_naming_no_other_case_is_refused(
    app_client: TestClient, headers: Headers, file_case: Callable[..., str], named: str
) -> None:
    number = file_case()
    other = number if named == "self" else named
    body = {"outcome": "duplicate", "duplicate_of": other}
    refused = post(app_client, headers("coordinator"), number, "close", body)
    assert refused.status_code == 422, refused.text
    assert post(app_client, headers("coordinator"), number, "acknowledge").status_code == 200
