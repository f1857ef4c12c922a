"""/api/v1/committees: list, create, change, members, and the YAML import."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import AuditEntry, Committee

Headers = Callable[[str], dict[str, str]]
NEW = {
    "code": "masisi-local",
    "name": "Masisi local committee",
    "level": "local",
    "location": "cd-nk-masisi",
    "categories": ["violence"],
    "language": "fr",
    "ack_deadlines": {"critical": "90m"},
    "action_deadlines": {"high": "3d"},
    "close_deadlines": {"low": "45d"},
}
YAML_BAD = b"""\
- code: walikale-local
  name: Walikale renamed
  level: regional
  location: cd-nk-walikale
  language: sw
  timezone: Africa/Lubumbashi
  digest_at: "18:00"
  members:
    - {name: A, phone: "+243 81 000 0001"}
"""
YAML_GOOD = YAML_BAD.replace(b"regional", b"local")


def _audit(db: sessionmaker[Session]) -> list[tuple[str, str | None]]:
    with db() as session:
        return [(e.action, e.target) for e in session.scalars(select(AuditEntry))]


def test_list_and_show_with_masked_numbers(app_client: TestClient, headers: Headers) -> None:
    auth = headers("coordinator")
    listed = app_client.get("/api/v1/committees", headers=auth)
    assert listed.status_code == 200
    codes = [item["code"] for item in listed.json()]
    assert "walikale-local" in codes
    shown = app_client.get("/api/v1/committees/walikale-local", headers=auth).json()
    assert shown["ack_deadlines"] == {"critical": "2h", "high": "1d", "medium": "3d", "low": "7d"}
    assert shown["action_deadlines"] == {
        "critical": "2d",
        "high": "7d",
        "medium": "14d",
        "low": "30d",
    }
    assert shown["close_deadlines"] == {
        "critical": "7d",
        "high": "30d",
        "medium": "60d",
        "low": "90d",
    }
    assert set(listed.json()[0]) >= {"ack_deadlines", "action_deadlines", "close_deadlines"}
    phones = [member["phone"] for member in shown["member_list"]]
    assert "+243 ••• ••• 001" in phones
    assert "+243810000001" not in listed.text + str(shown)


def test_create_patch_and_deactivate(
    app_client: TestClient, headers: Headers, db: sessionmaker[Session]
) -> None:
    auth = headers("admin")
    created = app_client.post("/api/v1/committees", json=NEW, headers=auth)
    assert created.status_code == 201, created.text
    assert created.json()["ack_deadlines"]["critical"] == "90m"
    assert created.json()["action_deadlines"] == {
        "critical": "2d",
        "high": "3d",
        "medium": "14d",
        "low": "30d",
    }
    assert created.json()["close_deadlines"]["low"] == "45d"
    assert created.json()["timezone"] == "Africa/Lubumbashi"
    patched = app_client.patch(
        "/api/v1/committees/masisi-local",
        json={"digest_at": "6:30", "categories": "all", "active": False},
        headers=auth,
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["digest_at"], body["categories"], body["active"]) == ("06:30", None, False)
    assert body["ack_deadlines"]["critical"] == "90m"
    assert (body["action_deadlines"]["high"], body["close_deadlines"]["low"]) == ("3d", "45d")
    deadlines = app_client.patch(
        "/api/v1/committees/masisi-local",
        json={"close_deadlines": {"critical": "5d", "low": "45d"}, "action_deadlines": None},
        headers=auth,
    )
    assert deadlines.status_code == 200, deadlines.text
    changed = deadlines.json()
    assert (changed["close_deadlines"]["critical"], changed["close_deadlines"]["low"]) == (
        "5d",
        "45d",
    )
    assert changed["action_deadlines"]["high"] == "3d"  # null: left as it was
    assert changed["ack_deadlines"]["critical"] == "90m"
    with db() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "committee.update")
        ).all()
    assert entries[-1].data == {"fields": ["close_deadlines"]}
    actions = _audit(db)
    for action in ("committee.create", "committee.update", "committee.deactivate"):
        assert (action, "masisi-local") in actions
    listed = app_client.get("/api/v1/committees", headers=auth).json()
    assert "masisi-local" not in [c["code"] for c in listed]
    everything = app_client.get("/api/v1/committees?include_inactive=true", headers=auth).json()
    assert "masisi-local" in [c["code"] for c in everything]


def test_bad_values_are_422_with_each_field(app_client: TestClient, headers: Headers) -> None:
    auth = headers("admin")
    bad = dict(NEW, level="regional", timezone="Nowhere/City", language="de")
    response = app_client.post("/api/v1/committees", json=bad, headers=auth)
    assert response.status_code == 422
    fields = {p["field"] for p in response.json()["detail"]["problems"]}
    assert fields == {"level", "timezone", "language"}
    assert app_client.post("/api/v1/committees", json={"code": 1}, headers=auth).status_code == 422
    for stage in ("action_deadlines", "close_deadlines"):
        for wrong in ({"critical": "soon"}, {"urgent": "2d"}, {"low": "0d"}):
            refused = app_client.patch(
                "/api/v1/committees/walikale-local", json={stage: wrong}, headers=auth
            )
            assert refused.status_code == 422, (stage, wrong)
            [problem] = refused.json()["detail"]["problems"]
            assert problem["field"] == stage
            assert problem["message"].startswith(("a duration such as", "severity one of"))
        not_a_map = app_client.post(
            "/api/v1/committees", json=dict(NEW, **{stage: "3d"}), headers=auth
        )
        assert not_a_map.status_code == 422
    unknown = app_client.patch("/api/v1/committees/nope", json={}, headers=auth)
    assert unknown.status_code == 404
    taken = app_client.post(
        "/api/v1/committees", json=dict(NEW, code="walikale-local"), headers=auth
    )
    assert taken.status_code == 422


def test_members_add_patch_and_bad_phone(
    app_client: TestClient, headers: Headers, db: sessionmaker[Session]
) -> None:
    auth = headers("coordinator")
    path = "/api/v1/committees/walikale-local/members"
    added = app_client.post(
        path, json={"name": "New", "phone": "0812223344", "language": "fr"}, headers=auth
    )
    assert added.status_code == 201, added.text
    member = added.json()
    assert member["phone"] == "+243 ••• ••• 344"
    bad = app_client.post(path, json={"name": "X", "phone": "123", "language": "fr"}, headers=auth)
    assert bad.status_code == 422
    [problem] = bad.json()["detail"]["problems"]
    assert problem["field"] == "members.phone"
    patched = app_client.patch(
        f"{path}/{member['id']}", json={"language": "sw", "active": False}, headers=auth
    )
    assert patched.status_code == 200
    assert (patched.json()["language"], patched.json()["active"]) == ("sw", False)
    assert app_client.patch(f"{path}/999999", json={}, headers=auth).status_code == 404
    listed = app_client.get(path, headers=auth).json()
    assert any(m["id"] == member["id"] and not m["active"] for m in listed)
    target = f"walikale-local/member/{member['id']}"
    for action in ("member.add", "member.update", "member.deactivate"):
        assert (action, target) in _audit(db)


def test_a_members_channel_is_read_and_written(app_client: TestClient, headers: Headers) -> None:
    auth = headers("coordinator")
    path = "/api/v1/committees/walikale-local/members"
    listed = app_client.get(path, headers=auth).json()
    assert {m["channel"] for m in listed} == {"sms"}
    new = {"name": "By WhatsApp", "phone": "+243 81 222 0001", "language": "sw"}
    added = app_client.post(path, json=new | {"channel": "whatsapp"}, headers=auth)
    assert added.status_code == 201, added.text
    member = added.json()
    assert member["channel"] == "whatsapp"
    default = app_client.post(path, json=new | {"phone": "+243 81 222 0002"}, headers=auth)
    assert default.json()["channel"] == "sms"
    # A patch without the channel keeps it; one with it changes it.
    kept = app_client.patch(f"{path}/{member['id']}", json={"language": "fr"}, headers=auth)
    assert (kept.json()["language"], kept.json()["channel"]) == ("fr", "whatsapp")
    moved = app_client.patch(f"{path}/{member['id']}", json={"channel": "sms"}, headers=auth)
    assert moved.status_code == 200
    assert moved.json()["channel"] == "sms"
    shown = app_client.get("/api/v1/committees/walikale-local", headers=auth).json()
    channels = {m["id"]: m["channel"] for m in shown["member_list"]}
    assert channels[member["id"]] == "sms"
    for bad in (
        app_client.post(
            path, json=new | {"phone": "+243 81 222 0003", "channel": "fax"}, headers=auth
        ),
        app_client.patch(f"{path}/{member['id']}", json={"channel": "WhatsApp"}, headers=auth),
    ):
        assert bad.status_code == 422
        [problem] = bad.json()["detail"]["problems"]
        assert (problem["field"], problem["message"]) == (
            "members.channel",
            "one of sms, whatsapp",
        )


def test_yaml_import_with_a_bad_channel_is_refused_by_line(
    app_client: TestClient, headers: Headers
) -> None:
    auth = headers("admin")
    content = YAML_GOOD.replace(b'0001"}', b'0001", channel: sms}') + (
        b'    - {name: B, phone: "+243 81 000 0009", channel: signal}\n'
    )
    refused = app_client.post(
        "/api/v1/committees/import",
        content=content,
        headers={**auth, "Content-Type": "application/yaml"},
    )
    assert refused.status_code == 422
    [problem] = refused.json()["detail"]["problems"]
    assert (problem["line"], problem["field"]) == (10, "members.channel")
    fixed = content.replace(b"signal", b"whatsapp")
    done = app_client.post(
        "/api/v1/committees/import",
        content=fixed,
        headers={**auth, "Content-Type": "application/yaml"},
    )
    assert done.status_code == 200, done.text
    shown = app_client.get("/api/v1/committees/walikale-local", headers=auth).json()
    channels = {m["phone"]: m["channel"] for m in shown["member_list"] if m["active"]}
    assert channels == {"+243 ••• ••• 001": "sms", "+243 ••• ••• 009": "whatsapp"}


def test_yaml_import_as_body_and_as_file(
    app_client: TestClient, headers: Headers, db: sessionmaker[Session]
) -> None:
    auth = headers("admin")
    refused = app_client.post(
        "/api/v1/committees/import",
        content=YAML_BAD,
        headers={**auth, "Content-Type": "application/yaml"},
    )
    assert refused.status_code == 422
    [problem] = refused.json()["detail"]["problems"]
    assert (problem["line"], problem["field"]) == (3, "level")
    with db() as session:
        walikale = session.scalars(
            select(Committee).where(Committee.code == "walikale-local")
        ).one()
        assert walikale.name == "Walikale local stakeholder committee"
    done = app_client.post(
        "/api/v1/committees/import",
        files={"file": ("c.yaml", YAML_GOOD, "application/yaml")},
        headers=auth,
    )
    assert done.status_code == 200, done.text
    assert done.json() == {"created": 0, "updated": 1, "unchanged": 0}
    wrong_type = app_client.post("/api/v1/committees/import", json=[], headers=auth)
    assert wrong_type.status_code == 415
    binary = app_client.post(
        "/api/v1/committees/import",
        content=b"\xff\xfe",
        headers={**auth, "Content-Type": "text/yaml"},
    )
    assert binary.status_code == 400


@pytest.mark.parametrize(
    ("content", "line", "said"),
    [
        (b"- code: " + b"[" * 5000 + b"]" * 5000, 1, "nested deeper than 64 levels"),
        (
            b"".join(b"  " * i + b"- \n" for i in range(200)),
            65,
            "nested deeper than 64 levels",
        ),
        (b"- &c {code: a}\n- *c\n", 2, "aliases (*c) are not accepted"),
    ],
)
def test_yaml_import_nested_too_deep_or_with_aliases_is_refused_by_line(
    app_client: TestClient, headers: Headers, content: bytes, line: int, said: str
) -> None:
    auth = headers("admin")
    for sent in (
        {"content": content, "headers": {**auth, "Content-Type": "application/yaml"}},
        {"files": {"file": ("c.yaml", content, "application/yaml")}, "headers": auth},
    ):
        response = app_client.post("/api/v1/committees/import", **sent)  # type: ignore[arg-type]
        assert response.status_code == 422, response.text
        [problem] = response.json()["detail"]["problems"]
        assert (problem["line"], problem["field"]) == (line, "yaml")
        assert said in problem["message"]


def test_analyst_is_refused(app_client: TestClient, headers: Headers) -> None:
    auth = headers("analyst")
    assert app_client.get("/api/v1/committees", headers=auth).status_code == 403
    assert app_client.post("/api/v1/committees", json=NEW, headers=auth).status_code == 403
