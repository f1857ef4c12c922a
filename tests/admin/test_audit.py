"""The audit log page: admins read and filter it; nobody can change it."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from storage import users
from storage.db import utcnow
from storage.users import AuditFilter, audit, audit_entries, find_audit_entries
from tests.admin.conftest import Browser


def write(db: sessionmaker[Session], count: int, action: str, **fields: object) -> None:
    with db.begin() as session:
        for n in range(count):
            audit(
                session=session,
                actor=str(fields.get("actor", "ada")),
                action=action,
                target=f"{fields.get('target', 'thing')}-{n}" if count > 1 else None,
                data={"n": n},
                now=fields.get("at", utcnow()),  # type: ignore[arg-type]
            )


def rows(page: str) -> list[str]:
    """The action of each entry shown, top to bottom."""
    return re.findall(r"<td class=\"action\"><code>([^<]+)</code></td>", page)


def test_admins_see_the_log_newest_first(
    browser: Callable[[str], Browser], db: sessionmaker[Session]
) -> None:
    admin = browser("admin")
    write(db, 1, "place.import")
    write(db, 1, "committee.import")
    page = admin.get("/admin/audit").text
    shown = rows(page)
    assert shown[:2] == ["committee.import", "place.import"]
    assert "auth.login" in shown
    assert "ada" in page


@pytest.mark.parametrize("role", ["coordinator", "analyst"])
def test_other_roles_may_not_read_it(browser: Callable[[str], Browser], role: str) -> None:
    assert browser(role).get("/admin/audit").status_code == 403


def test_filters_by_action_prefix_actor_and_target(
    browser: Callable[[str], Browser], db: sessionmaker[Session]
) -> None:
    admin = browser("admin")
    write(db, 2, "case.view_text", actor="cora", target="4821773506")
    write(db, 1, "case.close", actor="ada")
    write(db, 1, "export.cases", actor="cora")
    assert rows(admin.get("/admin/audit?action=case.").text) == [
        "case.close",
        "case.view_text",
        "case.view_text",
    ]
    assert rows(admin.get("/admin/audit?action=case*&actor=cora").text) == ["case.view_text"] * 2
    assert rows(admin.get("/admin/audit?action=case.close").text) == ["case.close"]
    assert rows(admin.get("/admin/audit?target=4821773506-1").text) == ["case.view_text"]
    assert "No entry matches" in admin.get("/admin/audit?actor=nobody").text


def test_filters_by_date(browser: Callable[[str], Browser], db: sessionmaker[Session]) -> None:
    write(db, 1, "old.thing", at=datetime(2025, 3, 4, 10, tzinfo=UTC))
    write(db, 1, "older.thing", at=datetime(2025, 3, 3, 23, tzinfo=UTC))
    page = browser("admin").get("/admin/audit?from=2025-03-04&to=2025-03-04").text
    assert rows(page) == ["old.thing"]
    page = browser("admin").get("/admin/audit?to=2025-03-04").text
    assert rows(page) == ["old.thing", "older.thing"]


def test_pages_of_fifty(browser: Callable[[str], Browser], db: sessionmaker[Session]) -> None:
    write(db, 70, "bulk.thing")
    admin = browser("admin")
    first = admin.get("/admin/audit?action=bulk.").text
    assert len(rows(first)) == 50
    assert "70 entries; page 1 of 2." in first
    assert 'href="/admin/audit?action=bulk.&amp;page=2"' in first
    second = admin.get("/admin/audit?action=bulk.&page=2").text
    assert len(rows(second)) == 20
    assert 'rel="prev"' in second
    assert 'rel="next"' not in second
    assert admin.get("/admin/audit?action=bulk.&page=9").status_code == 200


def test_reading_the_log_is_recorded_without_what_was_typed(
    browser: Callable[[str], Browser], db: sessionmaker[Session]
) -> None:
    browser("admin").get("/admin/audit?actor=someone&action=case.&page=2")
    with db() as session:
        [entry] = audit_entries(session=session, action="audit.view")
        assert entry.actor == "ada"
        assert entry.data == {"filters": ["actor", "action"], "page": 2}
        assert "someone" not in str(entry.data)
        assert entry.ip_hash


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("from=last-week", 400),
        ("from=2026-05-02&to=2026-05-01", 400),
        ("page=0", 422),
        ("page=many", 422),
        ("actor=" + "a" * 65, 422),
        ("target=" + "t" * 129, 422),
    ],
)
def test_bad_filters_get_a_clear_page(
    browser: Callable[[str], Browser], query: str, status: int
) -> None:
    response = browser("admin").get(f"/admin/audit?{query}")
    assert response.status_code == status
    assert "<h1>" in response.text


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_no_route_changes_the_log(browser: Callable[[str], Browser], method: str) -> None:
    admin = browser("admin")
    admin._use()
    for path in ("/admin/audit", "/admin/audit/1"):
        response = admin.client.request(
            method, path, headers={"X-CSRF-Token": admin.csrf}, follow_redirects=False
        )
        assert response.status_code in (404, 405), (method, path)


def test_storage_offers_no_way_to_change_an_entry() -> None:
    names = [
        name
        for name, function in inspect.getmembers(users, inspect.isfunction)
        if function.__module__ == users.__name__  # not what it imports (sqlalchemy's delete)
    ]
    for word in ("update", "delete", "remove", "edit", "purge", "erase", "change"):
        assert not [name for name in names if word in name], word


def test_find_audit_entries_counts_all_matches(db: sessionmaker[Session]) -> None:
    write(db, 7, "count.thing", at=utcnow() - timedelta(days=1))
    with db() as session:
        entries, total = find_audit_entries(
            session=session, where=AuditFilter(action="count*"), offset=5, limit=5
        )
    assert total == 7
    assert [entry.data["n"] for entry in entries] == [1, 0]
