"""Work queues on the case list: sorting by every column both ways (with aria-sort), each
open case's deadline and its overdue mark, the saved views (My committees, Overdue,
Waiting for me, New), new since the queue was last marked seen, and a coordinator
landing on their queue after signing in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from storage.casequery import SortKey
from storage.models import Case, CaseAssignment
from storage.users import audit_entries
from tests.admin.conftest import Browser, sign_in
from tests.admin.test_cases import listed

NOW = datetime.now(UTC)


@pytest.fixture
def three(file_case: Callable[..., str], db: sessionmaker[Session]) -> list[str]:
    """Three open cases, oldest first: a North Kivu tax case 10 days old (overdue), a
    South Kivu critical violence case an hour old, a North Kivu hazard just in."""
    numbers = [
        file_case(at=NOW - timedelta(days=10)),
        file_case(category="violence", danger_now="yes", place="cd-sk-uvira-lemera"),
        file_case(category="ohs_hazard", place="cd-nk-walikale-bisie"),
    ]
    ages = [timedelta(days=10), timedelta(hours=1), timedelta(minutes=1)]
    with db.begin() as session:
        for number, old in zip(numbers, ages, strict=True):
            case_id = session.query(Case.id).filter_by(number=number).scalar()
            session.execute(update(Case).where(Case.id == case_id).values(created_at=NOW - old))
            session.execute(
                update(CaseAssignment)
                .where(CaseAssignment.case_id == case_id)
                .values(assigned_at=NOW - old)
            )
    return numbers


@pytest.mark.parametrize("key", list(SortKey))
def test_every_column_sorts_both_ways_with_aria_sort(
    key: SortKey, browser: Callable[[str], Browser], three: list[str]
) -> None:
    user = browser("coordinator")
    up = user.get(f"/admin/cases?sort={key}&dir=asc")
    down = user.get(f"/admin/cases?sort={key}&dir=desc")
    assert up.status_code == down.status_code == 200
    assert sorted(listed(up.text)) == sorted(three)
    assert up.text.count('aria-sort="ascending"') == 1
    assert f'href="/admin/cases?sort={key}&amp;dir=desc"' in up.text
    assert down.text.count('aria-sort="descending"') == 1
    assert f'href="/admin/cases?sort={key}&amp;dir=asc"' in down.text
    if key not in (SortKey.CHANNEL,):  # the three came by the same channel: ties by id
        assert listed(up.text) != listed(down.text)


def test_known_orders(browser: Callable[[str], Browser], three: list[str]) -> None:
    user = browser("coordinator")
    old, violence, hazard = three
    assert listed(user.get("/admin/cases?sort=created&dir=asc").text) == [old, violence, hazard]
    assert listed(user.get("/admin/cases?sort=age&dir=asc").text) == [hazard, violence, old]
    assert listed(user.get("/admin/cases?sort=severity&dir=asc").text)[0] == violence
    assert listed(user.get("/admin/cases?sort=deadline&dir=asc").text)[0] == old


def test_bad_sorts_and_views_are_refused_in_words(
    browser: Callable[[str], Browser], three: list[str]
) -> None:
    user = browser("coordinator")
    for query, said in (
        ("sort=secret", "The sort must be one of"),
        ("sort=number&dir=up", "The direction must be asc or desc."),
        ("view=everything", "The view must be one of"),
    ):
        response = user.get(f"/admin/cases?{query}")
        assert response.status_code == 400, query
        assert said in response.text


def test_deadline_and_overdue_marks_are_words(
    browser: Callable[[str], Browser], three: list[str]
) -> None:
    page = browser("coordinator").get("/admin/cases?sort=created&dir=asc").text
    rows = page.split("<tr")[2:]
    assert '<span class="mark overdue">overdue</span>' in rows[0]
    assert "(acknowledge)" in rows[0]
    assert "overdue</span>" not in rows[2]


def test_the_saved_views(
    browser: Callable[[str], Browser], scoped_nk: Browser, three: list[str]
) -> None:
    old, _violence, hazard = three
    user = browser("coordinator")
    assert listed(user.get("/admin/cases?view=overdue").text) == [old]
    waiting = listed(user.get("/admin/cases?view=waiting").text)
    assert waiting[0] == old  # soonest deadline first
    assert set(waiting) == set(three)
    assert listed(scoped_nk.get("/admin/cases?view=mine").text) == [old, hazard]
    assert 'href="/admin/cases?view=mine"' in scoped_nk.get("/admin/cases").text
    assert 'href="/admin/cases?view=mine"' not in user.get("/admin/cases").text


def test_new_since_the_queue_was_marked_seen(
    browser: Callable[[str], Browser],
    three: list[str],
    file_case: Callable[..., str],
    db: sessionmaker[Session],
) -> None:
    user = browser("coordinator")
    first = user.get("/admin/cases?view=new")
    assert set(listed(first.text)) == set(three)
    assert "You have not marked your queue seen yet" in first.text
    assert user.follow(user.post("/admin/cases/seen")).status_code == 200
    assert listed(user.get("/admin/cases?view=new").text) == []
    later = file_case()
    page = user.get("/admin/cases?view=new")
    assert listed(page.text) == [later]
    assert '<span class="mark new">new</span>' in page.text
    assert user.post("/admin/cases/seen", csrf=False).status_code == 403
    with db() as session:
        assert len(audit_entries(session=session, action="queue.seen")) == 1


def test_a_coordinator_lands_on_their_queue_others_on_the_dashboard(
    app_client: TestClient, users: dict[str, str]
) -> None:
    app_client.cookies.clear()
    response = sign_in(app_client, users["coordinator"])
    assert response.headers["location"] == "/admin/cases?view=waiting"
    app_client.cookies.clear()
    assert sign_in(app_client, users["admin"]).headers["location"] == "/admin/"
    app_client.cookies.clear()
    form = app_client.get("/admin/login?next=/admin/map")
    assert 'value="/admin/map"' in form.text


@pytest.fixture
def scoped_nk(app_client: TestClient, users: dict[str, str], db: sessionmaker[Session]) -> Browser:
    from gateway.admin.sessions import COOKIE
    from storage.users import create_user, set_scope
    from tests.admin.conftest import _CSRF, PASSWORD

    with db.begin() as session:
        user = create_user(
            session=session, username="nk", password=PASSWORD, role="coordinator", now=NOW
        )
        set_scope(session=session, user=user, place="cd-nk")
    app_client.cookies.clear()
    cookie = sign_in(app_client, "nk").cookies.get(COOKIE)
    assert cookie
    app_client.cookies.set(COOKIE, cookie)
    found = _CSRF.search(app_client.get("/admin/").text)
    assert found is not None
    app_client.cookies.clear()
    return Browser(app_client, cookie, found.group(1))
