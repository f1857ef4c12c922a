"""Who may call which route: each role, and no token, against every /api/v1 route."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from storage.casenumber import display
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
