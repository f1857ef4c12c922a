"""Who may call which route: each role, and no token, against every /api/v1 route."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.actions import add_action
from storage.casenumber import display
from storage.keys import load_crypto
from storage.models import Case, Committee
from storage.settings import Settings
from tests.api.conftest import DESCRIPTION, NOTE, PLACE_TEXT

ROUTES = ["/api/v1/cases", "/api/v1/cases/{number}"]
ROLES = ["admin", "coordinator", "analyst", None]
FREE_TEXT = {"admin": True, "coordinator": True, "analyst": False}


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("role", ROLES)
def test_role_and_route(
    app_client: TestClient,
    headers: Callable[[str], dict[str, str]],
    file_case: Callable[..., str],
    route: str,
    role: str | None,
) -> None:
    """Every role reads cases; without a token: 401; free text only for admin and coordinator."""
    number = file_case()
    response = app_client.get(
        route.format(number=display(number)), headers=headers(role) if role else {}
    )
    if role is None:
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        return
    assert response.status_code == 200, response.text
    text = json.dumps(response.json())
    for secret in (DESCRIPTION, PLACE_TEXT, NOTE):
        assert (secret in text) is (FREE_TEXT[role] and route.endswith("{number}"))


def test_analyst_detail_has_no_free_text_fields(
    app_client: TestClient,
    headers: Callable[[str], dict[str, str]],
    file_case: Callable[..., str],
) -> None:
    number = file_case()
    body = app_client.get(f"/api/v1/cases/{number}", headers=headers("analyst")).json()
    assert "description" not in body
    assert "place_text" not in body
    assert body["events"]
    assert all(set(event) == {"at", "kind", "actor"} for event in body["events"])
    assert "contact" not in json.dumps(body)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    "authorization", ["Bearer not-a-token", "Bearer ", "Basic YWRhOnB3", "bearer x.y.z"]
)
def test_invalid_token_is_401(
    app_client: TestClient, users: dict[str, str], route: str, authorization: str
) -> None:
    response = app_client.get(
        route.format(number="4821773506"), headers={"Authorization": authorization}
    )
    assert response.status_code == 401


def test_openapi_lists_the_api(app_client: TestClient) -> None:
    schema = app_client.get("/openapi.json").json()
    assert {"/api/v1/auth/token", "/api/v1/cases", "/api/v1/cases/{number}"} <= set(schema["paths"])
    assert app_client.get("/docs").status_code == 200


ACTION_TEXT = "Meet the site chief about the barrier"


@pytest.mark.parametrize("role", ["admin", "coordinator", "analyst"])
def test_action_text_and_whole_figures_only_for_free_text_roles(
    app_client: TestClient,
    headers: Callable[[str], dict[str, str]],
    file_case: Callable[..., str],
    db: sessionmaker[Session],
    settings: Settings,
    role: str,
) -> None:
    number = file_case()
    with db.begin() as session:
        case = session.scalars(select(Case).where(Case.number == number)).one()
        committee = session.scalars(
            select(Committee).where(Committee.code == "walikale-local")
        ).one()
        add_action(
            session=session,
            crypto=load_crypto(settings),
            case=case,
            committee=committee,
            owner="user:cora",
            actor="user:cora",
            what=ACTION_TEXT,
            days=2,
            now=datetime.now(UTC),
        )
    auth = headers(role)
    body = app_client.get(f"/api/v1/cases/{display(number)}", headers=auth).json()
    [action] = body["actions"]
    assert ("what" in action) is FREE_TEXT[role]
    assert (ACTION_TEXT in json.dumps(body)) is FREE_TEXT[role]
    figures = app_client.get("/api/v1/stats", headers=auth).json()["performance"]
    assert figures["published"] is not FREE_TEXT[role]
    received = [row["received"] for row in figures["provinces"] + figures["committees"]]
    assert (1 in received) is FREE_TEXT[role]
