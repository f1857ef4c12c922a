"""The console in a real browser: sign in, and what a new admin does on a first day."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session, sessionmaker

import flows
from storage.casenumber import display
from storage.cases import create_report
from storage.keys import load_crypto
from storage.settings import Settings


def test_sign_in_and_out(sign_in: Callable[[str], Page]) -> None:
    page = sign_in("analyst")
    expect(page.get_by_role("navigation", name="Console")).to_contain_text("Cases")
    expect(page.get_by_role("navigation", name="Console")).not_to_contain_text("Flows")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/admin/login")
    page.goto("/admin/")
    page.wait_for_url("**/admin/login?next=*")


def test_a_wrong_password_is_said_plainly(page: Page, accounts: dict[str, str]) -> None:
    page.goto("/admin/login")
    page.get_by_label("Username").fill(accounts["admin"])
    page.get_by_label("Password").fill("not it")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong username or password")


LONG_TITLE = "Sauti - anonymous reports " + "and a title far too long for any phone screen " * 4
NEW_TITLE = "Sauti - anonymous reports, test line"


def _main_yaml(title: str) -> bytes:
    shipped = (Path(flows.__file__).parent / "definitions" / "main.yaml").read_text()
    assert '"Sauti - anonymous reports"' in shipped
    return shipped.replace('"Sauti - anonymous reports"', f'"{title}"').encode()


def test_an_admin_publishes_a_menu_change_and_tries_it(sign_in: Callable[[str], Page]) -> None:
    page = sign_in("admin")
    page.get_by_role("link", name="Flows").click()
    expect(page.get_by_role("heading", name="Flows", exact=True)).to_be_visible()

    # A draft whose menu title cannot fit a screen: the lint says so, publishing is refused.
    page.locator("input[name=file]").first.set_input_files(
        files=[{"name": "main.yaml", "mimeType": "text/yaml", "buffer": _main_yaml(LONG_TITLE)}]
    )
    page.get_by_role("button", name="Save as a draft").first.click()
    lint = page.locator("#lint")
    expect(lint).to_contain_text("error")
    expect(page.get_by_role("button", name="Publish this version")).to_be_disabled()

    # Fixed in the browser's editor: a new draft, clean, published.
    page.get_by_role("link", name="main.yaml").click()
    editor = page.locator("textarea[name=text]")
    editor.fill(editor.input_value().replace(LONG_TITLE, NEW_TITLE))
    page.get_by_role("button", name="Save as a draft").click()
    expect(page.locator("#lint")).to_contain_text("OK")
    expect(page.locator("#diff")).to_contain_text("test line")
    page.get_by_role("button", name="Publish this version").click()
    expect(page.get_by_role("status").first).to_contain_text("ublished")

    # The phone simulator runs the published version through the real engine.
    page.get_by_role("link", name="Flows").click()
    simulator = page.locator("#simulator")
    simulator.locator("select[name=language]").select_option("en")
    simulator.get_by_role("button", name="Dial").click()
    screen = simulator.locator("[data-screen]")
    expect(screen).to_contain_text(NEW_TITLE)
    simulator.locator("input[name=input]").fill("1")
    simulator.get_by_role("button", name="Send").click()
    expect(screen).not_to_contain_text(NEW_TITLE)
    expect(screen).to_contain_text("1 ")


def test_a_coordinator_acts_on_a_case_and_sees_the_timeline(
    sign_in: Callable[[str], Page], live_settings: Settings, live_db: sessionmaker[Session]
) -> None:
    number = _file_report(live_settings, live_db)
    page = sign_in("coordinator")
    page.get_by_role("link", name="Cases", exact=True).click()
    page.get_by_label("Case number").fill(number.replace("-", ""))
    page.get_by_role("button", name="Show").click()
    page.get_by_role("link", name=number).first.click()
    expect(page.get_by_role("region", name="What the reporter wrote")).to_contain_text(DESCRIPTION)

    page.get_by_label("Internal note").fill("Called the site chief")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_role("region", name="Timeline")).to_contain_text("Called the site chief")

    page.get_by_role("button", name="Acknowledge").first.click()
    expect(page.get_by_role("region", name="Case", exact=True)).to_contain_text("Acknowledged")

    page.get_by_label("Outcome").select_option("resolved")
    page.get_by_role("button", name="Close the case").click()
    expect(page.get_by_role("region", name="Case", exact=True)).to_contain_text("Closed")
    expect(page.get_by_role("region", name="Timeline")).to_contain_text("Closed")
    expect(page.get_by_role("button", name="Add note")).to_have_count(0)


def test_an_analyst_never_sees_the_reporters_words(
    sign_in: Callable[[str], Page], live_settings: Settings, live_db: sessionmaker[Session]
) -> None:
    number = _file_report(live_settings, live_db)
    page = sign_in("analyst")
    page.goto(f"/admin/cases/{number}")
    expect(page.get_by_role("region", name="Timeline")).to_be_visible()
    assert DESCRIPTION not in page.content()
    expect(page.get_by_role("button", name="Add note")).to_have_count(0)


DESCRIPTION = "Soldiers take 2000 francs at the barrier"


def _file_report(settings: Settings, sessions: sessionmaker[Session]) -> str:
    crypto = load_crypto(settings)
    with sessions.begin() as session:
        case = create_report(
            session=session,
            crypto=crypto,
            pseudonym=crypto.pseudonym("+243990000042"),
            channel="ussd",
            language="en",
            answers={
                "category": "illegal_tax",
                "place_code": "cd-nk-walikale-mpama",
                "place_text": "by the pond",
                "when": "today",
                "danger_now": "no",
                "description": DESCRIPTION,
                "sms_updates": "no",
            },
            contact_e164=None,
            flow_version="v1",
            rng=random.Random(5),
            now=datetime.now(UTC),
        )
        return display(case.number)
