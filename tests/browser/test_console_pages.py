"""Every console page in a real browser, at a desktop's width and at a phone's.

For each page, as each role that sees it (the coordinator is North Kivu's provincial
coordinator: their scope is the province): the page is no wider than the viewport (nothing
sticks out of it except inside a box that scrolls), no script fails (console errors,
uncaught exceptions, refused resources), and the visible text shows no internal code
(category or event codes, committee codes, raw `reason:` details, timestamps with
microseconds). Every problem of every page is collected first and reported together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy.orm import Session, sessionmaker

from storage.settings import Settings
from tests.browser.conftest import PASSWORD
from tests.browser.console_pages import (
    CHECK,
    FORM_PAGES,
    INTERNAL_CODES,
    SECONDARY_CODES,
    ConsolePage,
    Seeded,
    pages,
    scope_to_north_kivu,
    seed,
)
from tests.gateway import conftest as gateway_fixtures

run_jobs = gateway_fixtures.run_jobs

WIDTHS = {"desktop": (1366, 900), "phone": (360, 740)}


@dataclass
class Findings:
    """Problems per page, collected over a whole run."""

    problems: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    where: str = "sign-in"

    def error(self, text: str) -> None:
        self.errors.append(f"{self.where}: {text}")

    def check(self, page: Page, name: str, *, words: bool = True) -> None:
        """Measure the page shown now and note what is wrong with it (its width, and unless
        told otherwise its words)."""
        found: dict[str, Any] = page.evaluate(CHECK, [INTERNAL_CODES, SECONDARY_CODES])
        if found["scrollWidth"] > found["width"]:
            self.problems.append(
                f"{name}: {found['scrollWidth']} px wide in {found['width']} px: {found['wide']}"
            )
        elif found["wide"]:
            self.problems.append(f"{name}: wider than the viewport: {found['wide']}")
        if words and found["codes"]:
            self.problems.append(f"{name}: shows {', '.join(found['codes'])}")


def _watch(page: Page, findings: Findings) -> None:
    page.on("pageerror", lambda exc: findings.error(str(exc)))
    page.on(
        "console",
        lambda msg: (
            findings.error(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda response: (
            findings.error(f"{response.status} {response.url}")
            if response.status >= 400
            and response.request.resource_type not in {"document", "fetch"}
            else None
        ),
    )


@pytest.fixture
def seeded(
    server: str,
    live_settings: Settings,
    live_db: sessionmaker[Session],
    accounts: dict[str, str],
    run_jobs: Callable[[], None],
) -> Seeded:
    seeded = seed(live_settings, live_db, run_jobs)
    scope_to_north_kivu(live_db, accounts["coordinator"])
    return seeded


@pytest.fixture(params=sorted(WIDTHS))
def viewport(request: pytest.FixtureRequest, chromium: Browser, server: str) -> Iterator[Page]:
    width, height = WIDTHS[request.param]
    context = chromium.new_context(base_url=server, viewport={"width": width, "height": height})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def _sign_in(page: Page, username: str) -> None:
    page.goto("/admin/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/admin/login" not in url)  # each role lands on its page


def _sign_out(page: Page) -> None:
    page.goto("/admin/")
    menu = page.locator("header.top details.menu")
    if not page.get_by_role("button", name="Sign out").is_visible():
        menu.locator("summary").click()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/admin/login")


def _visit(page: Page, findings: Findings, visit: ConsolePage, role: str) -> None:
    name = f"{visit.name} ({role})"
    findings.where = name
    response = page.goto(visit.path)
    status = response.status if response is not None else 0
    if status != visit.status:
        findings.problems.append(f"{name}: answered {status}, not {visit.status}")
    page.wait_for_load_state("load")
    findings.check(page, name)


def _forms(page: Page, findings: Findings) -> None:
    """The pages a form answers (a draft's version page, a translation's preview, a voice
    upload's refusals)."""
    for name, send in FORM_PAGES:
        findings.where = f"{name} (admin)"
        try:
            send(page)
        except PlaywrightError as exc:  # a page that did not show its form: say so, go on
            findings.problems.append(f"{findings.where}: {exc.message.splitlines()[0]}")
            continue
        page.wait_for_load_state("load")
        findings.check(page, findings.where)


def _menu_opens_on_a_phone(page: Page, findings: Findings) -> None:
    """At a phone's width the top bar folds into a menu that opens with one tap."""
    findings.where = "menu (admin)"
    page.goto("/admin/")
    nav = page.get_by_role("navigation", name="Console")
    expect(nav.get_by_role("link", name="Cases")).to_be_hidden()
    page.locator("header.top details.menu > summary").click()
    expect(nav.get_by_role("link", name="Cases")).to_be_visible()
    findings.check(page, "menu open (admin)")
    nav.get_by_role("link", name="Cases").click()
    page.wait_for_url("**/admin/cases")


def test_every_page_fits_and_speaks_in_words(
    viewport: Page, seeded: Seeded, accounts: dict[str, str]
) -> None:
    page = viewport
    findings = Findings()
    _watch(page, findings)
    findings.where = "login"
    page.goto("/admin/login")
    findings.check(page, "login")
    for role in ("admin", "coordinator", "analyst"):
        _sign_in(page, accounts[role])
        for visit in pages(seeded):
            if role in visit.roles:
                _visit(page, findings, visit, role)
        if role == "admin":
            _forms(page, findings)
            if page.viewport_size and page.viewport_size["width"] < 700:
                _menu_opens_on_a_phone(page, findings)
        _sign_out(page)
    assert findings.errors == []
    assert findings.problems == [], "\n".join(findings.problems)


def test_on_a_phone_without_javascript_the_menu_opens_and_tables_scroll(
    chromium: Browser, server: str, seeded: Seeded, accounts: dict[str, str]
) -> None:
    """The menu is a <details>: it needs no script. Without console.js the cases list stays
    a table, scrolling inside its box instead of widening the page."""
    context = chromium.new_context(
        base_url=server, viewport={"width": 360, "height": 740}, java_script_enabled=False
    )
    page = context.new_page()
    findings = Findings()
    _sign_in(page, accounts["coordinator"])
    page.goto("/admin/cases")
    nav = page.get_by_role("navigation", name="Console")
    expect(nav.get_by_role("link", name="Map")).to_be_hidden()
    page.locator("header.top details.menu > summary").click()
    expect(nav.get_by_role("link", name="Map")).to_be_visible()
    assert page.locator("table.cases.labelled").count() == 0
    findings.check(page, "cases without script (coordinator)", words=False)
    context.close()
    assert findings.problems == []
