"""Incidents in the API and exports: each case's incident, its link and the case it
duplicates; GET /incidents and /incidents/{number}; places' coordinates."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.casenumber import display
from storage.incidents import confirm_link, group_case
from storage.models import Case, CaseDuplicate

Headers = Callable[[str], dict[str, str]]
T0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
ROLES = ["admin", "coordinator", "analyst"]


def _case(session: Session, number: str) -> Case:
    return session.scalars(select(Case).where(Case.number == number)).one()


@pytest.fixture
def grouped(file_case: Callable[..., str], db: sessionmaker[Session]) -> list[str]:
    """Two collapse reports at Bisie grouped in one incident (the second confirmed by a
    person), a third closed as a duplicate of the first, and one alone at Lemera."""
    numbers = [
        file_case(category="accident", place="cd-nk-walikale-bisie", at=T0 + timedelta(minutes=m))
        for m in (0, 10)
    ]
    lone = file_case(category="illegal_tax", place="cd-sk-uvira-lemera", at=T0)
    duplicate = file_case(category="accident", place="cd-nk-walikale-omate", at=T0)
    with db.begin() as session:
        for number in numbers:
            case = _case(session, number)
            group_case(session=session, case=case, now=case.created_at)
        second = _case(session, numbers[1])
        confirm_link(session=session, case=second, actor="user:cora", now=T0 + timedelta(hours=1))
        session.add(
            CaseDuplicate(
                case_id=_case(session, duplicate).id,
                original_id=_case(session, numbers[0]).id,
                marked_by="user:cora",
                marked_at=T0 + timedelta(hours=2),
            )
        )
    return [*numbers, lone, duplicate]


def _items(client: TestClient, auth: dict[str, str]) -> dict[str, dict[str, Any]]:
    response = client.get("/api/v1/cases", headers=auth)
    assert response.status_code == 200, response.text
    return {item["number"]: item for item in response.json()["items"]}


@pytest.mark.parametrize("role", ROLES)
def test_cases_carry_their_incident_link_and_duplicate(
    app_client: TestClient, headers: Headers, grouped: list[str], role: str
) -> None:
    first, second, lone, duplicate = map(display, grouped)
    items = _items(app_client, headers(role))
    assert (items[first]["incident"], items[first]["incident_link"]) == (first, "suggested")
    assert (items[second]["incident"], items[second]["incident_link"]) == (first, "confirmed")
    assert items[lone]["incident"] is None
    assert items[lone]["incident_link"] is None
    assert items[lone]["duplicate_of"] is None
    assert items[duplicate]["duplicate_of"] == first
    detail = app_client.get(f"/api/v1/cases/{grouped[1]}", headers=headers(role)).json()
    assert (detail["incident"], detail["incident_link"]) == (first, "confirmed")
    assert detail["duplicate_of"] is None
    detail = app_client.get(f"/api/v1/cases/{duplicate}", headers=headers(role)).json()
    assert detail["duplicate_of"] == first


@pytest.mark.parametrize("role", ROLES)
def test_incidents_are_listed_with_their_cases(
    app_client: TestClient, headers: Headers, grouped: list[str], role: str
) -> None:
    response = app_client.get("/api/v1/incidents", headers=headers(role))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 1
    [incident] = body["items"]
    assert incident["number"] == display(grouped[0])
    assert incident["category"] == "accident"
    assert incident["location"]["code"] == "cd-nk-walikale-bisie"
    assert incident["reports"] == 2
    assert incident["cases"] == [display(grouped[0]), display(grouped[1])]
    assert incident["by_status"] == {"routed": 2}
    assert incident["last_report_at"] == "2026-10-01T08:10:00Z"


@pytest.mark.parametrize("typed", ["dashes", "digits"])
def test_one_incident_by_its_number_as_typed(
    app_client: TestClient, headers: Headers, grouped: list[str], typed: str
) -> None:
    number = display(grouped[0]) if typed == "dashes" else grouped[0]
    response = app_client.get(f"/api/v1/incidents/{number}", headers=headers("analyst"))
    assert response.status_code == 200, response.text
    assert response.json()["cases"] == [display(grouped[0]), display(grouped[1])]


def test_a_case_that_is_no_incident_is_not_found(
    app_client: TestClient, headers: Headers, grouped: list[str]
) -> None:
    for number in (grouped[2], "123", "not-a-number", "9" * 40):
        response = app_client.get(f"/api/v1/incidents/{number}", headers=headers("analyst"))
        assert response.status_code == 404, number
        assert response.json()["detail"] == "no incident has this number"


def test_incidents_filter_by_category_and_refuse_bad_parameters(
    app_client: TestClient, headers: Headers, grouped: list[str]
) -> None:
    auth = headers("analyst")
    none = app_client.get("/api/v1/incidents", params={"category": "violence"}, headers=auth)
    assert none.json()["total"] == 0
    for params in ({"category": "volcano"}, {"page": "0"}, {"per_page": "1000"}):
        response = app_client.get("/api/v1/incidents", params=params, headers=auth)
        assert response.status_code == 422, params


def test_incidents_need_a_token(app_client: TestClient) -> None:
    assert app_client.get("/api/v1/incidents").status_code == 401
    assert app_client.get("/api/v1/incidents/4821773506").status_code == 401


def test_the_export_has_the_incident_columns(
    app_client: TestClient, headers: Headers, grouped: list[str]
) -> None:
    response = app_client.get("/api/v1/exports/cases.csv", headers=headers("analyst"))
    assert response.status_code == 200, response.text
    rows = {row["number"]: row for row in csv.DictReader(io.StringIO(response.text))}
    first, second, lone, duplicate = map(display, grouped)
    assert (rows[first]["incident"], rows[first]["incident_link"]) == (first, "suggested")
    assert (rows[second]["incident"], rows[second]["incident_link"]) == (first, "confirmed")
    assert (rows[lone]["incident"], rows[lone]["duplicate_of"]) == ("", "")
    assert rows[duplicate]["duplicate_of"] == first


def test_places_carry_their_coordinates(app_client: TestClient, headers: Headers) -> None:
    tree = app_client.get("/api/v1/places", headers=headers("coordinator")).json()
    drc = next(node for node in tree if node["code"] == "cd")
    kivu = next(node for node in drc["children"] if node["code"] == "cd-nk")
    walikale = next(node for node in kivu["children"] if node["code"] == "cd-nk-walikale")
    bisie = next(node for node in walikale["children"] if node["code"] == "cd-nk-walikale-bisie")
    assert (bisie["lat"], bisie["lon"]) == (-1.005, 27.83)
    changed = app_client.patch(
        "/api/v1/places/cd-nk-walikale-bisie", json={"name": "Bisie"}, headers=headers("admin")
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["lat"], changed.json()["lon"]) == (-1.005, 27.83)
