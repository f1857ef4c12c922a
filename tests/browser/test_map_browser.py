"""The map page in a real browser: the provinces outline and the markers are drawn, with no
script error under the console's CSP, and no request leaves the machine."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.cases import create_report
from storage.incidents import group_case
from storage.keys import load_crypto
from storage.models import Case, Location, Signal, SignalRule
from storage.settings import Settings

DESCRIPTION = "The gallery roof fell on the night shift"
PLACE_TEXT = "past the red water tank"


def _report(session: Session, settings: Settings, category: str, place: str, at: datetime) -> Case:
    crypto = load_crypto(settings)
    return create_report(
        session=session,
        crypto=crypto,
        pseudonym=crypto.pseudonym("+243990000042"),
        channel="ussd",
        language="en",
        answers={
            "category": category,
            "place_code": place,
            "place_text": PLACE_TEXT,
            "when": "today",
            "danger_now": "no",
            "description": DESCRIPTION,
            "sms_updates": "no",
        },
        contact_e164=None,
        flow_version="v1",
        rng=random.Random(at.microsecond),
        now=at,
    )


def _seed(settings: Settings, sessions: sessionmaker[Session]) -> None:
    """An incident of two collapse reports at Bisie, a lone tax report at Lemera and an
    open signal on Masisi."""
    now = datetime.now(UTC)
    with sessions.begin() as session:
        first = _report(
            session, settings, "accident", "cd-nk-walikale-bisie", now - timedelta(hours=2)
        )
        second = _report(
            session, settings, "accident", "cd-nk-walikale-bisie", now - timedelta(hours=1)
        )
        _report(session, settings, "illegal_tax", "cd-sk-uvira-lemera", now - timedelta(days=1))
        session.flush()
        group_case(session=session, case=first, now=first.created_at)
        group_case(session=session, case=second, now=second.created_at)
        masisi = session.scalars(select(Location).where(Location.code == "cd-nk-masisi")).one()
        session.add(
            Signal(
                key="threshold:cd-nk-masisi:violence:browser",
                rule=SignalRule.THRESHOLD,
                category="violence",
                territory_id=masisi.id,
                day=now.date(),
                count=5,
                raised_at=now,
            )
        )


def test_the_map_draws_the_outline_and_the_markers_offline(
    sign_in: Callable[[str], Page],
    server: str,
    live_settings: Settings,
    live_db: sessionmaker[Session],
) -> None:
    _seed(live_settings, live_db)
    page = sign_in("analyst")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Map").click()
    page.wait_for_url("**/admin/map")
    expect(page.locator("#map[data-ready]")).to_have_attribute("data-ready", "3")

    # 49 provinces and 3 countries in the outline, the three markers, and the sites.
    outline = page.locator(".leaflet-overlay-pane path:not(.map-marker):not(.map-site)")
    assert outline.count() == 52
    assert page.locator("path.map-incident").count() == 1
    assert page.locator("path.map-cases").count() == 1
    assert page.locator("path.map-signal").count() == 1
    assert page.locator("path.map-site").count() >= 20
    assert page.locator(".leaflet-tile").count() == 0

    # A marker's popup names the incident and links to its first case.
    page.locator("path.map-incident").click(force=True)
    popup = page.locator(".leaflet-popup-content")
    expect(popup).to_contain_text("Incident")
    expect(popup).to_contain_text("2 reports")
    expect(popup.get_by_role("link")).to_have_attribute("href", "/admin/cases/" + _first(live_db))

    # The table under the map holds the same three rows.
    expect(page.locator("#map-table tbody tr")).to_have_count(3)
    body = page.content()
    assert DESCRIPTION not in body
    assert PLACE_TEXT not in body

    # Everything the page asked for came from this server.
    assert requested
    here = urlsplit(server).netloc
    assert {urlsplit(url).netloc for url in requested if not url.startswith("data:")} == {here}


def _first(sessions: sessionmaker[Session]) -> str:
    with sessions() as session:
        query = select(Case.number).where(Case.category == "accident").order_by(Case.created_at)
        number: str = session.scalars(query).first() or ""
        return number


def test_the_map_filters_without_javascript(
    chromium: object,
    server: str,
    accounts: dict[str, str],
    live_settings: Settings,
    live_db: sessionmaker[Session],
) -> None:
    from playwright.sync_api import Browser

    assert isinstance(chromium, Browser)
    _seed(live_settings, live_db)
    context = chromium.new_context(base_url=server, java_script_enabled=False)
    page = context.new_page()
    page.goto("/admin/login")
    page.get_by_label("Username").fill(accounts["analyst"])
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.goto("/admin/map")
    expect(page.locator("#map-table tbody tr")).to_have_count(3)
    page.get_by_label("Category").select_option("accident")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#map-table tbody tr")).to_have_count(1)
    expect(page.locator("#map-table")).to_contain_text("Incident")
    context.close()


def test_the_dashboard_draws_the_small_map(
    sign_in: Callable[[str], Page], live_settings: Settings, live_db: sessionmaker[Session]
) -> None:
    _seed(live_settings, live_db)
    page = sign_in("coordinator")
    page.goto("/admin/")
    expect(page.locator("#map[data-ready]")).to_have_attribute("data-ready", "3")
    assert page.locator("#map.compact").count() == 1
    assert page.locator("path.map-incident").count() == 1
    assert page.locator("path.map-signal").count() == 1
    expect(page.locator("#open-signals tbody tr")).to_have_count(1)
    expect(page.locator("#open-incidents tbody tr")).to_have_count(1)
