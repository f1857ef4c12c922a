"""The map page and its JSON: incidents, lone open cases and open signals at their places,
filters by category and date, the same for every role, and no free text in either."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage import casenumber
from storage.db import utcnow
from storage.incidents import group_case
from storage.models import Case, Location, Signal, SignalRule, SignalStatus
from tests.admin.conftest import Browser
from tests.api.conftest import DESCRIPTION, NOTE, PLACE_TEXT

FREE_TEXT = (DESCRIPTION, PLACE_TEXT, NOTE)


def _case(session: Session, number: str) -> Case:
    return session.scalars(select(Case).where(Case.number == number)).one()


def _group(db: sessionmaker[Session], numbers: list[str]) -> None:
    with db.begin() as session:
        for number in numbers:
            case = _case(session, number)
            group_case(session=session, case=case, now=case.created_at)


def _signal(db: sessionmaker[Session], *, territory: str, category: str, days_ago: int) -> int:
    now = utcnow()
    with db.begin() as session:
        place = session.scalars(select(Location).where(Location.code == territory)).one()
        signal = Signal(
            key=f"threshold:{territory}:{category}:{days_ago}",
            rule=SignalRule.THRESHOLD,
            category=category,
            territory_id=place.id,
            day=(now - timedelta(days=days_ago)).date(),
            count=6,
            baseline_mean=1.0,
            baseline_sd=0.5,
            threshold=2.5,
            status=SignalStatus.OPEN,
            raised_at=now - timedelta(days=days_ago),
        )
        session.add(signal)
        session.flush()
        return signal.id


@pytest.fixture
def seeded(file_case: Callable[..., str], db: sessionmaker[Session]) -> dict[str, object]:
    """Two collapse reports at Bisie (one incident: fewer than a spike's minimum count), one
    lone tax report at Lemera, an old report long before the default range, and an open
    violence signal on Walikale."""
    now = utcnow()
    collapse = [
        file_case(category="accident", place="cd-nk-walikale-bisie", at=now - timedelta(hours=h))
        for h in (2, 1)
    ]
    _group(db, collapse)
    lone = file_case(category="illegal_tax", place="cd-sk-uvira-lemera", at=now - timedelta(days=2))
    old = file_case(category="other", place="cd-nk-walikale-omate", at=now - timedelta(days=200))
    signal = _signal(db, territory="cd-nk-walikale", category="violence", days_ago=1)
    return {"collapse": collapse, "lone": lone, "old": old, "signal": signal}


def _json(browser: Browser, query: str = "") -> dict[str, object]:
    response = browser.get("/admin/map.json" + query)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    data: dict[str, object] = response.json()
    return data


def _kinds(data: dict[str, object]) -> dict[str, list[dict[str, object]]]:
    found: dict[str, list[dict[str, object]]] = {}
    for marker in data["markers"]:  # type: ignore[attr-defined]
        found.setdefault(marker["kind"], []).append(marker)
    return found


@pytest.mark.parametrize("role", ["admin", "coordinator", "analyst"])
def test_every_role_sees_the_markers(
    browser: Callable[[str], Browser], seeded: dict[str, object], role: str
) -> None:
    kinds = _kinds(_json(browser(role)))
    (incident,) = kinds["incident"]
    collapse: list[str] = seeded["collapse"]  # type: ignore[assignment]
    assert incident["count"] == 2
    assert incident["category"] == "accident"
    assert incident["href"] == f"/admin/cases/{collapse[0]}"
    assert incident["numbers"] == [casenumber.display(number) for number in collapse]
    assert incident["place"]["code"] == "cd-nk-walikale-bisie"
    assert (incident["place"]["lat"], incident["place"]["lon"]) == (-1.005, 27.83)
    (lone,) = kinds["cases"]
    assert lone["count"] == 1
    assert lone["href"] == f"/admin/cases/{seeded['lone']}"
    (signal,) = kinds["signal"]
    assert signal["href"] == f"/admin/signals/{seeded['signal']}"
    assert signal["place"]["code"] == "cd-nk-walikale"
    assert signal["count"] == 6


def test_the_page_lists_the_same_markers_in_a_table(
    browser: Callable[[str], Browser], seeded: dict[str, object]
) -> None:
    page = browser("analyst").get("/admin/map").text
    assert page.count('<tr data-kind="incident">') == 1
    assert page.count('<tr data-kind="cases">') == 1
    assert page.count('<tr data-kind="signal">') == 1
    collapse: list[str] = seeded["collapse"]  # type: ignore[assignment]
    assert f"Incident {casenumber.display(collapse[0])}" in page
    assert f'href="/admin/signals/{seeded["signal"]}"' in page
    assert 'data-source="/admin/map.json?from=' in page
    assert '<script src="/admin/static/map.js"></script>' in page
    # No inline script or style: the console's CSP would refuse them.
    assert "<script>" not in page
    assert 'style="' not in page


@pytest.mark.parametrize("role", ["admin", "coordinator", "analyst"])
def test_no_free_text_on_the_page_or_in_its_json(
    browser: Callable[[str], Browser], seeded: dict[str, object], role: str
) -> None:
    viewer = browser(role)
    for body in (viewer.get("/admin/map").text, json.dumps(_json(viewer))):
        for text in FREE_TEXT:
            assert text not in body


def test_filter_by_category(browser: Callable[[str], Browser], seeded: dict[str, object]) -> None:
    kinds = _kinds(_json(browser("analyst"), "?category=accident"))
    assert set(kinds) == {"incident"}
    page = browser("analyst").get("/admin/map?category=violence").text
    assert page.count("<tr data-kind=") == 1
    assert '<option value="violence" selected>' in page


def test_filter_by_date_range(browser: Callable[[str], Browser], seeded: dict[str, object]) -> None:
    today = utcnow().date()
    old = (today - timedelta(days=200)).isoformat()
    kinds = _kinds(_json(browser("analyst"), f"?from={old}&to={old}"))
    assert set(kinds) == {"cases"}
    assert kinds["cases"][0]["href"] == f"/admin/cases/{seeded['old']}"
    recent = (today - timedelta(days=1)).isoformat()
    kinds = _kinds(_json(browser("analyst"), f"?from={recent}"))
    assert set(kinds) == {"incident", "signal"}


def test_sites_with_coordinates_are_listed(
    browser: Callable[[str], Browser], seeded: dict[str, object]
) -> None:
    sites = _json(browser("analyst"))["sites"]
    codes = {site["code"] for site in sites}  # type: ignore[attr-defined]
    assert "cd-nk-walikale-bisie" in codes
    assert all(site["level"] == "site" for site in sites)  # type: ignore[attr-defined]


def test_the_outline_is_served_as_geojson(browser: Callable[[str], Browser]) -> None:
    response = browser("analyst").get("/admin/map/provinces.geojson")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    outline = response.json()
    assert outline["type"] == "FeatureCollection"
    codes = {feature["properties"]["code"] for feature in outline["features"]}
    assert {"cd-nk", "cd-sk", "cd-mn", "rw-west", "bi-kayanza", "cd", "rw", "bi"} <= codes
    assert len(response.content) < 200_000


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?from=yesterday", "must be a date written YYYY-MM-DD."),
        ("?from=2026-05-02&to=2026-05-01", "The range starts after it ends"),
        ("?category=volcano", "is not one of the categories."),
        ("?category=" + "x" * 200, "These fields were not valid: category."),
    ],
)
def test_bad_filters_get_a_clear_error(
    browser: Callable[[str], Browser], query: str, message: str
) -> None:
    viewer = browser("analyst")
    page = viewer.get("/admin/map" + query)
    assert page.status_code in (400, 422)
    assert message in page.text
    data = viewer.get("/admin/map.json" + query)
    assert data.status_code in (400, 422)


def test_signed_out_visitors_are_sent_to_sign_in(app_client: object) -> None:
    from fastapi.testclient import TestClient

    assert isinstance(app_client, TestClient)
    for path in ("/admin/map", "/admin/map.json", "/admin/map/provinces.geojson"):
        response = app_client.get(path, follow_redirects=False)
        assert response.status_code in (302, 303), path


@pytest.mark.parametrize("role", ["admin", "coordinator", "analyst"])
def test_the_dashboard_lists_open_signals_and_incidents_with_a_small_map(
    browser: Callable[[str], Browser], seeded: dict[str, object], role: str
) -> None:
    page = browser(role).get("/admin/").text
    collapse: list[str] = seeded["collapse"]  # type: ignore[assignment]
    signals = page.split('id="open-signals"')[1].split("</table>")[0]
    assert f'<a href="/admin/signals/{seeded["signal"]}">6 reports in a day' in signals
    assert "Walikale" in signals
    incidents = page.split('id="open-incidents"')[1].split("</table>")[0]
    expected = f'<a href="/admin/cases/{collapse[0]}">{casenumber.display(collapse[0])}</a>'
    assert expected in incidents
    assert '<td class="num">2</td>' in incidents
    assert 'class="map compact"' in page
    assert 'data-source="/admin/map.json?from=' in page
    for text in FREE_TEXT:
        assert text not in page


def test_the_dashboard_says_when_nothing_is_open(browser: Callable[[str], Browser]) -> None:
    page = browser("analyst").get("/admin/").text
    assert "No open signal." in page
    assert "No open incident." in page


def test_the_place_page_shows_its_coordinates(browser: Callable[[str], Browser]) -> None:
    page = browser("coordinator").get("/admin/places/cd-nk-walikale-bisie").text
    assert '<td id="coordinates">-1.005, 27.83 (WGS 84)</td>' in page
    assert "<code>lat,lon</code>" in browser("coordinator").get("/admin/places").text
