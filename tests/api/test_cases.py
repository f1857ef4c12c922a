"""Listing and reading cases: filters, pagination, case numbers as typed, audit of free text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from storage.casenumber import display
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
