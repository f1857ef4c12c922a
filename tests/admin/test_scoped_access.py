"""A coordinator scoped to a province (or an analyst scoped to a committee) sees only their
cases: in the console's lists, counts, charts, exports, map and signals, and in the API;
a case or signal outside the scope is a 404, on its page and on every action."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from gateway.admin.sessions import COOKIE
from storage.casenumber import display
from storage.models import User
from storage.users import audit_entries, create_user, set_scope
from tests.admin.conftest import _CSRF, PASSWORD, Browser, sign_in
from tests.admin.test_cases import listed
from tests.api.conftest import DESCRIPTION, NOTE, login

NORTH_KIVU_SITE = "cd-nk-walikale-mpama"
SOUTH_KIVU_SITE = "cd-sk-uvira-lemera"


@dataclass(frozen=True)
class Cases:
    north: str  # a case in North Kivu (held by walikale-local and north-kivu-provincial)
    south: str  # a case in South Kivu (held by uvira-local and south-kivu-provincial)


def _user(db: sessionmaker[Session], name: str, role: str, **scope: object) -> None:
    with db.begin() as session:
        user = create_user(
            session=session, username=name, password=PASSWORD, role=role, now=datetime.now(UTC)
        )
        set_scope(session=session, user=user, **scope)  # type: ignore[arg-type]


@pytest.fixture
def cases(file_case: Callable[..., str], users: dict[str, str], db: sessionmaker[Session]) -> Cases:
    """A case in each Kivu; `nk` coordinates North Kivu, `wk` analyses for Walikale's
    committee, `sk` coordinates South Kivu."""
    found = Cases(north=file_case(place=NORTH_KIVU_SITE), south=file_case(place=SOUTH_KIVU_SITE))
    _user(db, "nk", "coordinator", place="cd-nk")
    _user(db, "sk", "coordinator", place="cd-sk")
    _user(db, "wk", "analyst", committees=["walikale-local"])
    return found


@pytest.fixture
def scoped(app_client: TestClient, cases: Cases) -> Callable[[str], Browser]:
    """A signed-in browser for one of the scoped users."""

    def make(name: str) -> Browser:
        app_client.cookies.clear()
        response = sign_in(app_client, name)
        assert response.status_code == 303, response.text
        cookie = response.cookies.get(COOKIE)
        assert cookie
        app_client.cookies.clear()
        app_client.cookies.set(COOKIE, cookie)
        found = _CSRF.search(app_client.get("/admin/").text)
        assert found is not None
        app_client.cookies.clear()
        return Browser(app_client, cookie, found.group(1))

    return make


def _token(app_client: TestClient, name: str) -> dict[str, str]:
    response = login(app_client, name)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _csv_numbers(text: str) -> set[str]:
    rows = list(csv.DictReader(io.StringIO(text)))
    return {row["number"].replace("-", "") for row in rows}


def test_the_case_list_shows_only_the_cases_in_scope(
    scoped: Callable[[str], Browser], browser: Callable[[str], Browser], cases: Cases
) -> None:
    page = scoped("nk").get("/admin/cases")
    assert page.status_code == 200
    assert listed(page.text) == [cases.north]
    assert "1 case," in page.text
    assert "Your scope: North Kivu and everything under it" in page.text
    assert listed(scoped("sk").get("/admin/cases").text) == [cases.south]
    assert listed(scoped("wk").get("/admin/cases").text) == [cases.north]
    assert set(listed(browser("coordinator").get("/admin/cases").text)) == {
        cases.north,
        cases.south,
    }
    # A filter that names the other province finds nothing, rather than the other's cases.
    assert listed(scoped("nk").get("/admin/cases?province=cd-sk").text) == []


def test_a_case_outside_the_scope_is_404_on_its_page_and_every_action(
    scoped: Callable[[str], Browser], cases: Cases, db: sessionmaker[Session]
) -> None:
    nk = scoped("nk")
    assert nk.get(f"/admin/cases/{cases.north}").status_code == 200
    page = nk.get(f"/admin/cases/{cases.south}")
    assert page.status_code == 404
    assert "No case has this number." in page.text
    assert DESCRIPTION not in page.text
    for action, data in (
        ("note", {"text": "hello"}),
        ("acknowledge", {}),
        ("message", {"text": "hello"}),
        ("reassign", {"committee": "walikale-local"}),
        ("escalate", {}),
        ("close", {"outcome": "resolved"}),
        ("actions", {"text": "Visit", "days": "7"}),
        ("actions/1/done", {}),
        ("actions/1/verify", {}),
        ("level", {"level": "1", "reason": "Children"}),
        ("link", {"other": cases.north}),
        ("link/confirm", {}),
        ("unlink", {}),
    ):
        response = nk.post(f"/admin/cases/{cases.south}/{action}", data)
        assert response.status_code == 404, (action, response.text[:200])
    assert nk.get(f"/admin/cases/{cases.south}/recordings/aaaaaaaaaaaa").status_code == 404
    # Linking an in-scope case with one outside the scope is refused the same way.
    response = nk.post(f"/admin/cases/{cases.north}/link", {"other": display(cases.south)})
    assert response.status_code == 404
    with db() as session:
        assert audit_entries(session=session, action="case.view_text", limit=10)
        actors = {e.target for e in audit_entries(session=session, limit=100) if e.actor == "nk"}
    assert cases.south not in actors


def test_the_export_holds_only_the_cases_in_scope_and_says_the_scope(
    scoped: Callable[[str], Browser], cases: Cases, db: sessionmaker[Session]
) -> None:
    response = scoped("nk").get("/admin/cases/export.csv")
    assert response.status_code == 200
    assert _csv_numbers(response.text) == {cases.north}
    with db() as session:
        [entry] = audit_entries(session=session, action="export.cases")
    assert entry.data["rows"] == 1
    assert entry.data["filters"] == {"scope": "North Kivu and everything under it"}


def test_the_dashboard_counts_only_the_cases_in_scope(
    scoped: Callable[[str], Browser], browser: Callable[[str], Browser], cases: Cases
) -> None:
    page = scoped("nk").get("/admin/")
    assert page.status_code == 200
    assert "Every figure counts your cases only" in page.text
    assert 'data-committee="walikale-local"' in page.text
    assert 'data-committee="uvira-local"' not in page.text
    assert '<a href="/admin/cases?committee=walikale-local">' in page.text
    everyone = browser("admin").get("/admin/")
    assert 'data-committee="uvira-local"' in everyone.text
    weekly = scoped("nk").get("/admin/dashboard.csv")
    assert weekly.status_code == 200
    counts = sum(int(row["cases"]) for row in csv.DictReader(io.StringIO(weekly.text)))
    assert counts == 1


def test_the_performance_page_offers_only_the_scope_s_committees(
    scoped: Callable[[str], Browser], cases: Cases
) -> None:
    nk = scoped("nk")
    page = nk.get("/admin/performance")
    assert page.status_code == 200
    assert "walikale-local" in page.text
    assert "uvira-local" not in page.text
    assert nk.get("/admin/performance?committee=walikale-local").status_code == 200
    refused = nk.get("/admin/performance?committee=uvira-local")
    assert refused.status_code == 400
    assert "No committee has this code." in refused.text


def test_the_map_json_marks_only_the_cases_in_scope(
    scoped: Callable[[str], Browser], cases: Cases
) -> None:
    response = scoped("nk").get("/admin/map.json")
    assert response.status_code == 200
    numbers = {n for marker in response.json()["markers"] for n in marker.get("numbers", [])}
    shown = {n.replace("-", "") for n in numbers}
    assert cases.north in shown
    assert cases.south not in shown


def test_signals_keep_to_the_scope(
    scoped: Callable[[str], Browser],
    app_client: TestClient,
    cases: Cases,
    file_signal: Callable[[str], int],
) -> None:
    north, south = file_signal(cases.north), file_signal(cases.south)
    nk = scoped("nk")
    listing = nk.get("/admin/signals")
    assert f'href="/admin/signals/{north}"' in listing.text
    assert f'href="/admin/signals/{south}"' not in listing.text
    assert nk.get(f"/admin/signals/{north}").status_code == 200
    assert nk.get(f"/admin/signals/{south}").status_code == 404
    assert nk.post(f"/admin/signals/{south}/acknowledge").status_code == 404
    assert nk.post(f"/admin/signals/{south}/close", {"note": "done"}).status_code == 404
    auth = _token(app_client, "nk")
    items = app_client.get("/api/v1/signals", headers=auth).json()["items"]
    assert [item["id"] for item in items] == [north]
    assert app_client.get(f"/api/v1/signals/{south}", headers=auth).status_code == 404
    answer = app_client.post(f"/api/v1/signals/{south}/acknowledge", headers=auth)
    assert answer.status_code == 404


def test_the_api_answers_only_with_the_cases_in_scope(app_client: TestClient, cases: Cases) -> None:
    auth = _token(app_client, "nk")
    page = app_client.get("/api/v1/cases", headers=auth).json()
    assert [item["number"] for item in page["items"]] == [display(cases.north)]
    assert page["total"] == 1
    assert app_client.get(f"/api/v1/cases/{cases.north}", headers=auth).status_code == 200
    outside = app_client.get(f"/api/v1/cases/{cases.south}", headers=auth)
    assert outside.status_code == 404
    assert outside.json() == {"detail": "no case has this number"}
    note = app_client.post(
        f"/api/v1/cases/{cases.south}/notes", headers=auth, json={"text": "hello"}
    )
    assert note.status_code == 404
    exported = app_client.get("/api/v1/exports/cases.csv", headers=auth)
    assert _csv_numbers(exported.text) == {cases.north}
    stats = app_client.get("/api/v1/stats", headers=auth).json()
    assert stats["received"] == 1
    assert {row["code"] for row in stats["committees"]} <= {
        "walikale-local",
        "north-kivu-provincial",
    }
    assert {row["code"] for row in stats["performance"]["provinces"]} <= {"cd-nk"}
    incidents = app_client.get("/api/v1/incidents", headers=auth)
    assert incidents.status_code == 200


def test_a_committee_scoped_analyst_still_sees_no_words(
    scoped: Callable[[str], Browser], app_client: TestClient, cases: Cases
) -> None:
    wk = scoped("wk")
    page = wk.get(f"/admin/cases/{cases.north}")
    assert page.status_code == 200
    assert DESCRIPTION not in page.text
    assert NOTE not in page.text
    assert wk.get(f"/admin/cases/{cases.south}").status_code == 404
    detail = app_client.get(f"/api/v1/cases/{cases.north}", headers=_token(app_client, "wk"))
    assert DESCRIPTION not in detail.text
    assert NOTE not in detail.text


def test_admins_are_never_scoped(db: sessionmaker[Session], cases: Cases) -> None:
    from storage.users import InvalidUser

    with db.begin() as session:
        admin = session.query(User).filter_by(username="ada").one()
        with pytest.raises(InvalidUser, match="an admin sees everything"):
            set_scope(session=session, user=admin, place="cd-nk")


def test_the_incident_box_lists_only_the_reports_in_scope(
    scoped: Callable[[str], Browser],
    browser: Callable[[str], Browser],
    cases: Cases,
) -> None:
    """Two cases linked across provinces: each province's coordinator sees the incident's
    size, but only their own report's number; an admin sees both."""
    admin = browser("admin")
    linked = admin.post(f"/admin/cases/{cases.north}/link", {"other": display(cases.south)})
    assert linked.status_code == 303, linked.text
    page = scoped("nk").get(f"/admin/cases/{cases.north}").text
    assert "2 reports (1 outside your scope, not listed)" in page
    assert display(cases.south) not in page
    assert display(cases.south) in admin.get(f"/admin/cases/{cases.north}").text
