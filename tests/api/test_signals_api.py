"""GET /api/v1/signals (filters, pages), GET /api/v1/signals/{id} with the case numbers
behind it, and POST acknowledge / close: the roles that act on cases, each change audited,
the closing note for admins and coordinators only, and bad input answered with 4xx."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from storage.users import audit_entries

NOTE = "Police patrols at Mpama since Monday"
Headers = Callable[[str], dict[str, str]]


@pytest.fixture
def filed(file_case: Callable[..., str]) -> dict[str, list[str]]:
    """Three illegal-tax reports this morning (a threshold signal) and a sexual violence one
    (a signal by itself), routed through the real jobs."""
    morning = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0)
    taxes = [file_case(at=morning + timedelta(minutes=n)) for n in range(3)]
    return {"taxes": taxes, "violence": [file_case(category="sexual_violence", at=morning)]}


def _items(client: TestClient, headers: dict[str, str], query: str = "") -> list[dict[str, object]]:
    response = client.get(f"/api/v1/signals{query}", headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


def test_list_and_filters(
    app_client: TestClient, headers: Headers, filed: dict[str, list[str]]
) -> None:
    analyst = headers("analyst")
    page = app_client.get("/api/v1/signals", headers=analyst).json()
    assert page["total"] == 2
    assert {item["rule"] for item in page["items"]} == {"threshold", "absolute"}
    threshold = next(item for item in page["items"] if item["rule"] == "threshold")
    assert (threshold["territory"], threshold["committee"], threshold["count"]) == (
        "cd-nk-walikale",
        "north-kivu-provincial",
        3,
    )
    assert threshold["words"] == "3 illegal tax reports in a day, above the usual 0 (threshold 0.0)"
    assert "note" not in threshold
    assert [i["rule"] for i in _items(app_client, analyst, "?category=sexual_violence")] == [
        "absolute"
    ]
    assert len(_items(app_client, analyst, "?province=cd-nk")) == 2
    assert _items(app_client, analyst, "?province=cd-sk") == []
    assert _items(app_client, analyst, "?status=closed") == []
    one = app_client.get("/api/v1/signals?per_page=1&page=2", headers=analyst).json()
    assert (one["total"], len(one["items"])) == (2, 1)


def test_one_signal_with_its_case_numbers(
    app_client: TestClient, headers: Headers, filed: dict[str, list[str]]
) -> None:
    [item] = _items(app_client, headers("analyst"), "?category=illegal_tax")
    detail = app_client.get(f"/api/v1/signals/{item['id']}", headers=headers("analyst"))
    assert detail.status_code == 200
    body = detail.json()
    assert body["cases"] == filed["taxes"]
    assert body["note"] is None
    assert body["status"] == "open"


def test_acknowledge_and_close_audited_and_the_note_for_staff_only(
    app_client: TestClient,
    headers: Headers,
    db: sessionmaker[Session],
    filed: dict[str, list[str]],
) -> None:
    [item] = _items(app_client, headers("analyst"), "?category=sexual_violence")
    path = f"/api/v1/signals/{item['id']}"
    coordinator = headers("coordinator")
    acknowledged = app_client.post(f"{path}/acknowledge", headers=coordinator)
    assert acknowledged.status_code == 200
    assert (acknowledged.json()["status"], acknowledged.json()["acknowledged_by"]) == (
        "acknowledged",
        "user:cora",
    )
    # Acknowledging again changes nothing and says so by the unchanged signal.
    again = app_client.post(f"{path}/acknowledge", headers=coordinator)
    assert again.json()["acknowledged_at"] == acknowledged.json()["acknowledged_at"]
    closed = app_client.post(f"{path}/close", headers=coordinator, json={"note": NOTE})
    assert closed.status_code == 200
    assert (closed.json()["status"], closed.json()["note"]) == ("closed", NOTE)
    assert app_client.get(path, headers=headers("admin")).json()["note"] == NOTE
    for_analyst = app_client.get(path, headers=headers("analyst"))
    assert for_analyst.json()["note"] is None
    assert NOTE not in for_analyst.text
    twice = app_client.post(f"{path}/close", headers=coordinator, json={"note": NOTE})
    assert twice.status_code == 409
    with db() as session:
        entries = [(e.action, e.actor) for e in audit_entries(session=session)]
    assert ("signal.acknowledge", "cora") in entries
    assert ("signal.close", "cora") in entries
    assert ("signal.view_text", "ada") in entries
    assert ("signal.view_text", "ana") not in entries
    assert entries.count(("signal.acknowledge", "cora")) == 1


def test_analysts_may_not_act(
    app_client: TestClient, headers: Headers, filed: dict[str, list[str]]
) -> None:
    [item] = _items(app_client, headers("analyst"), "?category=sexual_violence")
    path = f"/api/v1/signals/{item['id']}"
    assert app_client.post(f"{path}/acknowledge", headers=headers("analyst")).status_code == 403
    refused = app_client.post(f"{path}/close", headers=headers("analyst"), json={"note": NOTE})
    assert refused.status_code == 403
    assert app_client.get("/api/v1/signals").status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("GET", "/api/v1/signals/999999", None, 404),
        ("GET", "/api/v1/signals/abc", None, 422),
        ("GET", "/api/v1/signals/0", None, 422),
        ("GET", "/api/v1/signals?status=lost", None, 422),
        ("GET", "/api/v1/signals?category=weather", None, 422),
        ("GET", "/api/v1/signals?province=Not%20a%20code", None, 422),
        ("GET", "/api/v1/signals?per_page=1000", None, 422),
        ("POST", "/api/v1/signals/999999/acknowledge", None, 404),
        ("POST", "/api/v1/signals/999999/close", {"note": NOTE}, 404),
        ("POST", "/api/v1/signals/{id}/close", {"note": ""}, 422),
        ("POST", "/api/v1/signals/{id}/close", {"note": "   "}, 422),
        ("POST", "/api/v1/signals/{id}/close", {"note": "x" * 2001}, 422),
        ("POST", "/api/v1/signals/{id}/close", {}, 422),
        ("POST", "/api/v1/signals/{id}/close", {"note": 7}, 422),
    ],
)
def test_bad_requests_get_a_clear_error(
    app_client: TestClient,
    headers: Headers,
    filed: dict[str, list[str]],
    method: str,
    path: str,
    body: dict[str, object] | None,
    expected: int,
) -> None:
    [item] = _items(app_client, headers("analyst"), "?category=sexual_violence")
    response = app_client.request(
        method, path.format(id=item["id"]), headers=headers("coordinator"), json=body
    )
    assert response.status_code == expected, response.text
    assert "detail" in response.json()
