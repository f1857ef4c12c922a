"""Signed-in browsers of each role against the running app, with their CSRF tokens."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis
from fastapi.testclient import TestClient

from gateway.admin.sessions import COOKIE
from gateway.app import create_app
from gateway.release import prepare
from storage.settings import Settings
from tests.api import conftest as api_fixtures

PASSWORD = api_fixtures.PASSWORD
USERS = api_fixtures.USERS

db = api_fixtures.db
run_jobs = api_fixtures.run_jobs
users = api_fixtures.users
headers = api_fixtures.headers
file_case = api_fixtures.file_case
file_signal = api_fixtures.file_signal


@pytest.fixture
def app_client(settings: Settings, redis_client: redis.Redis) -> Iterator[TestClient]:
    """The app as a browser sees it: over HTTPS, so Secure cookies come back."""
    prepare(settings)
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        yield client


_LOGIN_TOKEN = re.compile(r'name="login_token" value="([^"]+)"')
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> httpx.Response:
    """Fill the sign-in form as a browser does (its double-submit token included)."""
    form = client.get("/admin/login")
    token = _LOGIN_TOKEN.search(form.text)
    assert token is not None, form.text
    return client.post(
        "/admin/login",
        data={"username": username, "password": password, "login_token": token.group(1)},
        follow_redirects=False,
    )


@dataclass
class Browser:
    """One signed-in user; the shared test client carries this user's cookie per request."""

    client: TestClient
    cookie: str
    csrf: str

    def _use(self) -> None:
        self.client.cookies.clear()
        self.client.cookies.set(COOKIE, self.cookie)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        self._use()
        return self.client.get(path, follow_redirects=False, **kwargs)

    def post(
        self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any
    ) -> httpx.Response:
        self._use()
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf)
        return self.client.post(path, data=form, follow_redirects=False, **kwargs)

    def follow(self, response: httpx.Response) -> httpx.Response:
        """GET where a redirect points."""
        assert response.status_code in (302, 303), (response.status_code, response.text[:500])
        return self.get(response.headers["location"])


@pytest.fixture
def browser(app_client: TestClient, users: dict[str, str]) -> Callable[[str], Browser]:
    """A signed-in browser for a role (admin, coordinator, analyst)."""

    def make(role: str) -> Browser:
        app_client.cookies.clear()
        response = sign_in(app_client, users[role])
        assert response.status_code == 303, response.text
        cookie = response.cookies.get(COOKIE)
        assert cookie
        app_client.cookies.clear()
        app_client.cookies.set(COOKIE, cookie)
        page = app_client.get("/admin/")
        found = _CSRF.search(page.text)
        assert found is not None, page.text[:500]
        assert found.group(1)
        app_client.cookies.clear()
        return Browser(app_client, cookie, found.group(1))

    return make
