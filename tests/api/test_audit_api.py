"""`GET /api/v1/audit`: admins read and filter the log; no method changes it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from storage.db import utcnow
from storage.users import audit, audit_entries


@pytest.fixture
def entries(db: sessionmaker[Session]) -> None:
    with db.begin() as session:
        for n in range(5):
            audit(
                session=session, actor="cora", action="case.view_text", target=f"c{n}", now=utcnow()
            )
        audit(session=session, actor="ada", action="export.cases", data={"rows": 3}, now=utcnow())


def test_admins_list_and_filter(
    app_client: TestClient, headers: Callable[[str], dict[str, str]], entries: None
) -> None:
    auth = headers("admin")
    body = app_client.get("/api/v1/audit?action=case.&per_page=2", headers=auth).json()
    assert body["total"] == 5
    assert [item["target"] for item in body["items"]] == ["c4", "c3"]
    body = app_client.get("/api/v1/audit?actor=ada&action=export*", headers=auth).json()
    assert [(i["action"], i["data"]) for i in body["items"]] == [("export.cases", {"rows": 3})]
    body = app_client.get("/api/v1/audit?target=c2&page=1", headers=auth).json()
    assert [item["target"] for item in body["items"]] == ["c2"]


def test_reading_is_recorded(
    app_client: TestClient,
    headers: Callable[[str], dict[str, str]],
    db: sessionmaker[Session],
    entries: None,
) -> None:
    app_client.get("/api/v1/audit?target=c1", headers=headers("admin"))
    with db() as session:
        [entry] = audit_entries(session=session, action="audit.view")
    assert (entry.actor, entry.data) == ("ada", {"filters": ["target"], "page": 1})


@pytest.mark.parametrize("role", ["coordinator", "analyst"])
def test_other_roles_are_refused(
    app_client: TestClient, headers: Callable[[str], dict[str, str]], role: str
) -> None:
    assert app_client.get("/api/v1/audit", headers=headers(role)).status_code == 403


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_no_method_changes_the_log(
    app_client: TestClient, headers: Callable[[str], dict[str, str]], method: str
) -> None:
    auth = headers("admin")
    for path in ("/api/v1/audit", "/api/v1/audit/1"):
        response = app_client.request(method, path, headers=auth, json={})
        assert response.status_code in (404, 405), (method, path)


@pytest.mark.parametrize(
    ("query", "status"),
    [("from=then", 400), ("per_page=1000", 422), ("page=-1", 422), ("action=" + "a" * 65, 422)],
)
def test_bad_parameters_get_a_json_error(
    app_client: TestClient, headers: Callable[[str], dict[str, str]], query: str, status: int
) -> None:
    response = app_client.get(f"/api/v1/audit?{query}", headers=headers("admin"))
    assert response.status_code == status
    assert "detail" in response.json()
