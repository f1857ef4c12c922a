"""A live server on loopback and a headless Chromium driving it.

The browser is the distribution's Chromium (`/usr/bin/chromium`, or `SAUTI_CHROMIUM`),
launched with `--no-sandbox`. Where none is installed these tests are skipped, unless
`SAUTI_REQUIRE_BROWSER` is set (as `.ci/run` does): then a missing browser fails the run.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from gateway.app import create_app
from gateway.release import prepare
from storage.db import make_engine, make_sessionmaker
from storage.settings import Settings
from storage.users import create_user

PASSWORD = "correct horse battery"
CHROMIUM = os.environ.get("SAUTI_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - the lock installs it
    sync_playwright = None  # type: ignore[assignment]


def _browser_missing() -> str | None:
    if sync_playwright is None:
        return "the playwright package is not installed"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


# Module scope, not session: while Playwright's sync API is running it keeps an event loop
# on the main thread, which later tests that call asyncio.run() would trip over.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    missing = _browser_missing()
    if missing is not None:
        if os.environ.get("SAUTI_REQUIRE_BROWSER"):
            pytest.fail(missing)
        pytest.skip(missing)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox"], headless=True
        )
        yield browser
        browser.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def live_settings(settings: Settings) -> Settings:
    port = _free_port()
    return settings.model_copy(
        update={"sauti_port": port, "sauti_public_url": f"http://127.0.0.1:{port}"}
    )


@pytest.fixture
def server(live_settings: Settings, redis_client: redis.Redis) -> Iterator[str]:
    """The whole app served by uvicorn on loopback, in a thread; yields its base URL."""
    prepare(live_settings)
    config = uvicorn.Config(
        create_app(live_settings),
        host="127.0.0.1",
        port=live_settings.sauti_port,
        log_level="warning",
        lifespan="on",
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{live_settings.sauti_port}"
    uv.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def live_db(live_settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(live_settings.db_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def accounts(server: str, live_db: sessionmaker[Session]) -> dict[str, str]:
    names = {"admin": "ada", "coordinator": "cora", "analyst": "ana"}
    with live_db.begin() as session:
        for role, name in names.items():
            create_user(
                session=session, username=name, password=PASSWORD, role=role, now=datetime.now(UTC)
            )
    return names


@pytest.fixture
def page(chromium: Browser, server: str) -> Iterator[Page]:
    context = chromium.new_context(base_url=server)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # A page may answer 4xx on purpose (a refused sign-in); its scripts, styles and fetches
    # may not, unless a test says so.
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda response: (
            errors.append(f"{response.status} {response.url}")
            if response.status >= 400
            and response.request.resource_type not in {"document", "fetch"}
            else None
        ),
    )
    yield page
    context.close()
    # A script error or a refused inline script (CSP) is a defect.
    assert errors == []


@pytest.fixture
def sign_in(page: Page, accounts: dict[str, str]) -> Callable[[str], Page]:
    def go(role: str) -> Page:
        page.goto("/admin/login")
        page.get_by_label("Username").fill(accounts[role])
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        # Each role lands on its own page: the dashboard, or a coordinator's queue.
        page.wait_for_url(lambda url: "/admin/login" not in url)
        return page

    return go
