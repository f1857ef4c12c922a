"""`/api/v1/flows`: the console's flows operations as JSON, admins only."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from flows.loader import shipped_texts
from gateway.simulator import TEST_CASE
from storage.models import AuditEntry, Case
from tests.conftest import AT_TOKEN
from tests.gateway.conftest import UssdPhone, option
from workers import queues

OLD_TITLE = "Sauti - anonymous reports"
NEW_TITLE = "Sauti - safe and anonymous reports"
REPORT = [
    "Report a problem",
    "Accident",
    "DR Congo",
    "North Kivu",
    "Walikale",
    "Bisie",
    "Today",
    "Yes",
]


def main_with(old: str, new: str) -> str:
    return shipped_texts()[0]["main"].replace(old, new, 1)


@pytest.fixture
def admin(headers: Callable[[str], dict[str, str]]) -> dict[str, str]:
    return headers("admin")


def draft(client: TestClient, admin: dict[str, str], text: str) -> str:
    response = client.post(
        "/api/v1/flows/drafts", json={"documents": {"main": text}, "note": "api"}, headers=admin
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "draft"
    assert body["created_by"] == "ada"
    return str(body["version"])


def test_versions_are_listed_with_the_published_one(
    app_client: TestClient, admin: dict[str, str]
) -> None:
    body = app_client.get("/api/v1/flows", headers=admin).json()
    [only] = body["items"]
    assert only["status"] == "published"
    assert body["published"] == only["version"]
    detail = app_client.get(f"/api/v1/flows/{only['version']}", headers=admin).json()
    assert detail["texts"]["main"] == shipped_texts()[0]["main"]


def test_draft_lint_diff_publish_and_rollback(
    app_client: TestClient, admin: dict[str, str], db: sessionmaker[Session]
) -> None:
    old = app_client.get("/api/v1/flows", headers=admin).json()["published"]
    broken = draft(app_client, admin, main_with("goto: status}", "goto: nowhere}"))
    lint = app_client.post(f"/api/v1/flows/{broken}/lint", headers=admin).json()
    assert lint["ok"] is False
    assert any("nowhere" in problem for problem in lint["errors"]["structure"])
    refused = app_client.post(f"/api/v1/flows/{broken}/publish", headers=admin)
    assert refused.status_code == 409

    version = draft(app_client, admin, main_with(OLD_TITLE, NEW_TITLE))
    lint = app_client.post(f"/api/v1/flows/{version}/lint", headers=admin).json()
    assert lint["ok"] is True
    assert lint["screens"] > 100
    assert set(lint["coverage"]) >= {"sw", "fr", "en"}
    diff = app_client.get(f"/api/v1/flows/{version}/diff", headers=admin).json()
    assert diff["against"] == old
    [doc] = diff["documents"]
    assert (doc["name"], doc["change"]) == ("main", "changed")
    assert f'-    text: "{OLD_TITLE}"' in doc["diff"]
    assert f'+    text: "{NEW_TITLE}"' in doc["diff"]

    published = app_client.post(f"/api/v1/flows/{version}/publish", headers=admin)
    assert published.json() == {"version": version, "previous": old}
    phone = UssdPhone(client=app_client, number="+243812340011", token=AT_TOKEN)
    phone.dial()
    assert NEW_TITLE in phone.choose("English")

    rolled = app_client.post(f"/api/v1/flows/{old}/rollback", headers=admin)
    assert rolled.json() == {"version": old, "previous": version}
    phone.dial()
    assert OLD_TITLE in phone.last
    with db() as session:
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert [a for a in actions if a.startswith("flows.")] == [
        "flows.draft",
        "flows.draft",
        "flows.publish",
        "flows.rollback",
    ]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"documents": {}}, 422),
        ({"documents": {"main": "- a list"}}, 400),
        ({"documents": {"main": "nodes: [unclosed"}}, 400),
        ({"documents": {"Bad Name": "nodes: {}"}}, 400),
        ({"documents": {"main": ""}}, 400),
        ({"documents": {"main": "x: " + "a" * (257 * 1024)}}, 413),
        ({"documents": {"main": "nodes: {}"}, "base": "0" * 64}, 404),
        ({"documents": {"main": "nodes: {}"}, "base": "nope"}, 422),
        ({"documents": "main"}, 422),
    ],
)
def test_bad_drafts_are_refused(
    app_client: TestClient, admin: dict[str, str], body: object, status: int
) -> None:
    response = app_client.post("/api/v1/flows/drafts", json=body, headers=admin)
    assert response.status_code == status, response.text
    assert "detail" in response.json()


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("nodes: " + "[" * 5000 + "]" * 5000, "nested deeper than 64 levels (line 1)"),
        ("nodes:\n" + "".join("  " * i + "- \n" for i in range(1, 200)), "(line 65)"),
        ("a: &lol [1, 1, 1]\nnodes: {x: *lol}\n", "aliases (*lol) are not accepted"),
        ("nodes: {}\nx: " + "1" * 5000, "a number longer than 100 characters"),
    ],
)
def test_a_draft_nested_too_deep_or_with_aliases_gets_a_400_saying_why(
    app_client: TestClient, admin: dict[str, str], text: str, said: str
) -> None:
    body = {"documents": {"main": text}}
    response = app_client.post("/api/v1/flows/drafts", json=body, headers=admin)
    assert response.status_code == 400, response.text
    assert said in response.json()["detail"]
    assert "not valid YAML" in response.json()["detail"]


def test_unknown_versions_are_refused(app_client: TestClient, admin: dict[str, str]) -> None:
    unknown = "0" * 64
    assert app_client.get(f"/api/v1/flows/{unknown}", headers=admin).status_code == 404
    assert app_client.get("/api/v1/flows/short", headers=admin).status_code == 422
    for action in ("lint", "publish", "rollback"):
        response = app_client.post(f"/api/v1/flows/{unknown}/{action}", headers=admin)
        assert response.status_code == 404
    assert app_client.get(f"/api/v1/flows/{unknown}/diff", headers=admin).status_code == 404


def test_the_published_version_cannot_be_published_or_rolled_back_to(
    app_client: TestClient, admin: dict[str, str]
) -> None:
    live = app_client.get("/api/v1/flows", headers=admin).json()["published"]
    for action in ("publish", "rollback"):
        response = app_client.post(f"/api/v1/flows/{live}/{action}", headers=admin)
        assert response.status_code == 409


def test_the_simulator_walks_a_report_and_files_nothing(
    app_client: TestClient,
    admin: dict[str, str],
    db: sessionmaker[Session],
    redis_client: redis.Redis,
) -> None:
    first = app_client.post("/api/v1/flows/simulate", json={"language": "en"}, headers=admin)
    assert first.status_code == 200
    body = first.json()
    assert body["test"] is True
    session = body["session"]

    def press(key: str) -> dict[str, object]:
        reply = app_client.post(
            "/api/v1/flows/simulate",
            json={"language": "en", "session": session, "input": key},
            headers=admin,
        )
        assert reply.status_code == 200, reply.text
        return dict(reply.json())

    screen = str(body["screen"])
    for label in REPORT:
        screen = str(press(option(screen, label))["screen"])
    press("A wall fell in the pit")
    press("2")
    final = press("1")
    assert final["ended"] is True
    assert TEST_CASE in str(final["screen"])
    with db() as session_:
        assert session_.scalar(select(func.count()).select_from(Case)) == 0
    for name in queues.ALL:
        assert queues.queue(name, connection=redis_client).count == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"version": "0" * 64}, 404),
        ({"version": "zz"}, 422),
        ({"language": "xx"}, 400),
        ({"session": "short"}, 422),
        ({"session": "abcdefgh1234", "input": "1" * 1001}, 422),
    ],
)
def test_bad_simulator_requests_are_refused(
    app_client: TestClient, admin: dict[str, str], body: object, status: int
) -> None:
    response = app_client.post("/api/v1/flows/simulate", json=body, headers=admin)
    assert response.status_code == status, response.text


def test_only_admins_may_use_the_flows_api(
    app_client: TestClient, headers: Callable[[str], dict[str, str]]
) -> None:
    for role in ("coordinator", "analyst"):
        assert app_client.get("/api/v1/flows", headers=headers(role)).status_code == 403
    assert app_client.get("/api/v1/flows").status_code == 401
