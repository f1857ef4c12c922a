"""The simulator's controls: the version chosen from a list with dates, the language by
name, a country choice whose number prefix the phone calls from (the report's place menu
then starts in that country), the controls above the phone, and bad choices refused."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.admin.conftest import Browser
from tests.gateway.conftest import option


@pytest.fixture
def admin(browser: Callable[[str], Browser]) -> Browser:
    return browser("admin")


def live(client: TestClient) -> str:
    return str(client.app.state.runtime.bundle.version)  # type: ignore[attr-defined]


def dial(admin: Browser, version: str, **fields: str) -> Any:
    admin._use()
    return admin.client.post(
        "/admin/flows/simulator",
        data={"version": version, "language": "en", "action": "dial", **fields},
        headers={"X-CSRF-Token": admin.csrf, "Accept": "application/json"},
    )


def send(admin: Browser, version: str, text: str) -> dict[str, Any]:
    admin._use()
    response = admin.client.post(
        "/admin/flows/simulator",
        data={"version": version, "language": "en", "action": "send", "input": text},
        headers={"X-CSRF-Token": admin.csrf, "Accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_page_offers_versions_with_dates_languages_and_countries_by_name(
    admin: Browser, app_client: TestClient
) -> None:
    page = admin.get("/admin/flows").text
    version = live(app_client)
    options = re.findall(r'<option value="([0-9a-f]{64})"( selected)?>([^<]+)</option>', page)
    assert (version, " selected") in [(code, chosen) for code, chosen, _ in options]
    label = next(text for code, _, text in options if code == version)
    assert re.fullmatch(
        rf"In use, published \d{{4}}-\d\d-\d\d \d\d:\d\d \({version[:12]}\)", label
    ), label
    for name in ("Kiswahili", "French", "English", "Kinyarwanda", "Kirundi", "Lingala"):
        assert f">{name}</option>" in page
    for country in ("DR Congo (+243)", "Rwanda (+250)", "Burundi (+257)"):
        assert f">{country}</option>" in page
    assert 'value="cd" selected>DR Congo (+243)' in page
    form = page[page.index("data-simulator") :]
    assert form.index('class="inline sim-settings"') < form.index('class="phone"')
    voice = page[page.index("data-voice-simulator") :]
    assert voice.index('class="inline sim-settings"') < voice.index('class="phone voice-phone"')


def test_a_phone_calling_from_rwanda_is_asked_no_country(
    admin: Browser, app_client: TestClient
) -> None:
    version = live(app_client)
    first = dial(admin, version, country="rw")
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["country"] == "rw"
    assert body["calling_from"] == "+250 (Rwanda)"
    assert body["language_name"] == "English"
    screen = send(admin, version, option(body["screen"], "Report a problem"))["screen"]
    screen = send(admin, version, option(screen, "Accident"))["screen"]
    assert "Western Province" in screen  # Rwanda's provinces: the country came from +250
    assert "North Kivu" not in screen
    assert send(admin, version, "1")["calling_from"] == "+250 (Rwanda)"  # kept across keys


def test_a_phone_of_no_known_country_is_asked_its_country(
    admin: Browser, app_client: TestClient
) -> None:
    version = live(app_client)
    body = dial(admin, version, country="").json()
    assert body["country"] is None
    assert body["calling_from"] == "a number of no known country"
    screen = send(admin, version, option(body["screen"], "Report a problem"))["screen"]
    screen = send(admin, version, option(screen, "Accident"))["screen"]
    assert "DR Congo" in screen
    assert "Rwanda" in screen


@pytest.mark.parametrize("country", ["us", "CD ", "x" * 40])
def test_an_unknown_country_is_refused_in_words(
    admin: Browser, app_client: TestClient, country: str
) -> None:
    response = dial(admin, live(app_client), country=country)
    assert response.status_code == 400
    assert "unknown country" in response.json()["detail"]
    assert "cd, rw, bi" in response.json()["detail"]


WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6"}
WORDS |= {"seven": "7", "eight": "8", "nine": "9"}


def voice(admin: Browser, version: str, action: str, **fields: str) -> dict[str, Any]:
    admin._use()
    response = admin.client.post(
        "/admin/flows/simulator/voice",
        data={"version": version, "language": "en", "action": action, **fields},
        headers={"X-CSRF-Token": admin.csrf, "Accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def key_for(screen: str, label: str) -> str:
    found = re.search(rf"{label}[^.\n]*? press (\w+)", screen)
    assert found is not None, screen
    return WORDS[found[1]]


def test_a_call_from_burundi_is_asked_no_country(admin: Browser, app_client: TestClient) -> None:
    version = live(app_client)
    body = voice(admin, version, "dial", country="bi")
    assert body["language_name"] == "English"
    body = voice(admin, version, "press", keys=key_for(body["screen"], "Report a problem"))
    body = voice(admin, version, "press", keys=key_for(body["screen"], "Accident"))
    assert "Kayanza" in body["screen"]  # Burundi's provinces: the country came from +257
    assert "DR Congo" not in body["screen"]
    assert "North Kivu" not in body["screen"]
    refused = admin.client.post(
        "/admin/flows/simulator/voice",
        data={"version": version, "language": "en", "action": "dial", "country": "zz"},
        headers={"X-CSRF-Token": admin.csrf, "Accept": "application/json"},
    )
    assert refused.status_code == 400
    assert "unknown country" in refused.json()["detail"]
