"""Screenshots of every console page at 1366 px and at 360 px, for docs/console.md.

Run from the repository's root: `.venv/bin/python docs/console/shoot.py`. It serves the
app on loopback with a throw-away database and an embedded Redis, loads the demo places
and committees, files the demo cases the browser test uses (tests/browser/console_pages.py:
every kind of event, an incident, signals), signs in as North Kivu's provincial
coordinator for the pages a coordinator sees and as an admin for the others, and saves
one PNG per page and width here (`<page>-1366.png`, `<page>-360.png`), each at most
2,000 px high, reduced to a 256-colour palette. It needs the distribution's Chromium
(`SAUTI_CHROMIUM` to point elsewhere). Nothing leaves the machine.
"""

from __future__ import annotations

import io
import os
import secrets
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

import redis  # noqa: E402
import uvicorn  # noqa: E402
from PIL import Image  # noqa: E402
from playwright.sync_api import FloatRect, Page, sync_playwright  # noqa: E402
from rq import SimpleWorker  # noqa: E402

from gateway import embedded_redis  # noqa: E402
from gateway.app import create_app  # noqa: E402
from gateway.channels.registry import senders  # noqa: E402
from gateway.release import database, prepare  # noqa: E402
from storage.settings import Settings  # noqa: E402
from storage.users import create_user  # noqa: E402
from tests.browser.console_pages import (  # noqa: E402
    FORM_PAGES,
    ConsolePage,
    pages,
    scope_to_north_kivu,
    seed,
)
from workers import context, queues  # noqa: E402

WIDTHS = ((1366, 900), (360, 740))
MAX_HEIGHT = 2000
PASSWORD = secrets.token_urlsafe(16)
USERS = {"admin": "ada", "coordinator": "cora", "analyst": "ana"}
CHROMIUM = os.environ.get("SAUTI_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _settings(home: Path, redis_url: str) -> Settings:
    port = _free_port()
    return Settings(
        sauti_var_dir=home / "var",
        database_url=f"sqlite:///{home / 'sauti.db'}",
        redis_url=redis_url,
        sauti_port=port,
        sauti_public_url=f"http://127.0.0.1:{port}",
        sauti_console_outbox=home / "outbox.jsonl",
    )


def _jobs(settings: Settings, client: redis.Redis) -> Callable[[], None]:
    context.use(context.build(settings, senders=senders(settings)))

    def run() -> None:
        names = [queues.queue(name, connection=client) for name in queues.ALL]
        SimpleWorker(names, connection=client).work(burst=True)

    return run


@contextmanager
def _serving(settings: Settings) -> Iterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=settings.sauti_port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    try:
        yield settings.sauti_public_url or ""
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _save(png: bytes, path: Path) -> int:
    """Keep the picture as a 256-colour PNG (a third of the bytes, same look)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    small = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(path, format="PNG", optimize=True)
    return path.stat().st_size


def _sign_in(page: Page, username: str) -> None:
    page.goto("/admin/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/admin/login" not in url)  # each role lands on its page


def _shot_as(visit: ConsolePage) -> str:
    """North Kivu's provincial coordinator where a coordinator may look, else an admin."""
    return "coordinator" if "coordinator" in visit.roles else "admin"


def _sign_out(page: Page) -> None:
    page.goto("/admin/")
    if not page.get_by_role("button", name="Sign out").is_visible():
        page.locator("header.top details.menu > summary").click()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/admin/login")


def _shoot(page: Page, visit: ConsolePage, width: int) -> int:
    page.goto(visit.path)
    return _picture(page, visit.name, width)


def _picture(page: Page, name: str, width: int) -> int:
    page.wait_for_load_state("load")
    if page.locator("#map").count():
        page.locator("#map[data-ready]").wait_for(state="attached")
    height = min(page.evaluate("document.documentElement.scrollHeight"), MAX_HEIGHT)
    clip = FloatRect(x=0, y=0, width=width, height=height)
    png = page.screenshot(full_page=True, clip=clip, animations="disabled")
    return _save(png, HERE / f"{name}-{width}.png")


def _shots(base: str, shown: list[ConsolePage]) -> int:
    total = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox"], headless=True
        )
        for width, height in WIDTHS:
            context_ = browser.new_context(
                base_url=base, viewport={"width": width, "height": height}
            )
            page = context_.new_page()
            page.goto("/admin/login")
            total += _shoot(page, ConsolePage("login", "/admin/login"), width)
            for role in ("coordinator", "admin"):
                _sign_in(page, USERS[role])
                for visit in shown:
                    if _shot_as(visit) == role:
                        total += _shoot(page, visit, width)
                if role == "admin":
                    for name, send in FORM_PAGES:
                        send(page)
                        total += _picture(page, name, width)
                _sign_out(page)
            context_.close()
        browser.close()
    return total


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        server = embedded_redis.start(home)
        try:
            settings = _settings(home, server.url)
            prepare(settings)
            client = redis.Redis.from_url(server.url)
            with database(settings) as sessions:
                with sessions.begin() as session:
                    for role, name in USERS.items():
                        create_user(
                            session=session,
                            username=name,
                            password=PASSWORD,
                            role=role,
                            now=datetime.now(UTC),
                        )
                seeded = seed(settings, sessions, _jobs(settings, client))
                scope_to_north_kivu(sessions, USERS["coordinator"])
            shown = [p for p in pages(seeded) if "admin" in p.roles or p.name == "forbidden"]
            with _serving(settings) as base:
                total = _shots(base, shown)
            count = 2 * (len(shown) + 1 + len(FORM_PAGES))
            print(f"{count} screenshots, {total / 1e6:.1f} MB, in {HERE}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
