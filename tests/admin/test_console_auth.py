"""Signing in and out of the console: sessions, expiry, CSRF, throttling, headers."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.admin.sessions import COOKIE, _key
from gateway.signin import FAILURE_LIMIT
from storage.models import AuditEntry, User
from tests.admin.conftest import Browser, sign_in


def _actions(db: sessionmaker[Session]) -> list[tuple[str, str]]:
    with db() as session:
        return [
            (e.actor, e.action) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def test_a_page_without_a_session_leads_to_sign_in_and_back(
    app_client: TestClient, users: dict[str, str]
) -> None:
    app_client.cookies.clear()
    response = app_client.get("/admin/?view=open", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login?next=%2Fadmin%2F%3Fview%3Dopen"
    form = app_client.get(response.headers["location"])
    assert 'name="next" value="/admin/?view=open"' in form.text
    token = form.text.split('name="login_token" value="')[1].split('"')[0]
    signed = app_client.post(
        "/admin/login",
        data={
            "username": users["admin"],
            "password": "correct horse battery",
            "login_token": token,
            "next": "/admin/?view=open",
        },
        follow_redirects=False,
    )
    assert signed.status_code == 303
    assert signed.headers["location"] == "/admin/?view=open"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/admin", "/api/v1/cases"]
)
def test_sign_in_never_redirects_off_the_console(
    app_client: TestClient, users: dict[str, str], target: str
) -> None:
    form = app_client.get("/admin/login")
    token = form.text.split('name="login_token" value="')[1].split('"')[0]
    signed = app_client.post(
        "/admin/login",
        data={
            "username": "ada",
            "password": "correct horse battery",
            "login_token": token,
            "next": target,
        },
        follow_redirects=False,
    )
    assert signed.headers["location"] == "/admin/"


def test_wrong_password_is_refused_and_audited(
    app_client: TestClient, users: dict[str, str], db: sessionmaker[Session]
) -> None:
    response = sign_in(app_client, users["coordinator"], "wrong password")
    assert response.status_code == 401
    assert "Wrong username or password" in response.text
    assert COOKIE not in response.cookies
    assert ("cora", "auth.login_failed") in _actions(db)


def test_sign_in_without_the_form_token_is_refused(
    app_client: TestClient, users: dict[str, str]
) -> None:
    app_client.cookies.clear()
    response = app_client.post(
        "/admin/login",
        data={"username": "ada", "password": "correct horse battery", "login_token": "forged"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert COOKIE not in response.cookies


def test_login_is_throttled_after_repeated_failures(
    app_client: TestClient, users: dict[str, str], db: sessionmaker[Session]
) -> None:
    for _ in range(FAILURE_LIMIT):
        assert sign_in(app_client, "ada", "nope").status_code == 401
    # Even the right password is refused while throttled.
    response = sign_in(app_client, "ada")
    assert response.status_code == 429
    assert "wait 15 minutes" in response.text
    assert ("ada", "auth.throttled") in _actions(db)


def test_sign_in_is_audited_and_sign_out_ends_the_session(
    browser: Callable[[str], Browser], db: sessionmaker[Session]
) -> None:
    admin = browser("admin")
    assert admin.get("/admin/").status_code == 200
    out = admin.post("/admin/logout")
    assert out.status_code == 303
    assert admin.get("/admin/").status_code == 303
    actions = _actions(db)
    assert ("ada", "auth.login") in actions
    assert ("ada", "auth.logout") in actions


def test_a_post_without_the_csrf_token_is_refused(browser: Callable[[str], Browser]) -> None:
    admin = browser("admin")
    assert admin.post("/admin/logout", csrf=False).status_code == 403
    assert admin.post("/admin/logout", {"csrf_token": "x" * 43}).status_code == 403
    # The session is still alive: the forged request changed nothing.
    assert admin.get("/admin/").status_code == 200


def test_the_csrf_token_of_another_session_is_refused(browser: Callable[[str], Browser]) -> None:
    admin, coordinator = browser("admin"), browser("coordinator")
    assert admin.post("/admin/logout", {"csrf_token": coordinator.csrf}).status_code == 403


def _rewrite(redis_client: redis.Redis, cookie: str, **fields: str) -> None:
    raw = redis_client.get(_key(cookie))
    assert raw is not None
    data = json.loads(raw)
    data.update(fields)
    redis_client.set(_key(cookie), json.dumps(data))


def test_a_session_idle_too_long_has_expired(
    browser: Callable[[str], Browser], redis_client: redis.Redis
) -> None:
    admin = browser("admin")
    stale = (datetime.now(UTC) - timedelta(minutes=31)).isoformat()
    _rewrite(redis_client, admin.cookie, seen_at=stale)
    assert admin.get("/admin/").status_code == 303
    assert redis_client.get(_key(admin.cookie)) is None


def test_a_session_ends_after_its_lifetime_however_busy(
    browser: Callable[[str], Browser], redis_client: redis.Redis
) -> None:
    admin = browser("admin")
    _rewrite(
        redis_client,
        admin.cookie,
        signed_in_at=(datetime.now(UTC) - timedelta(hours=13)).isoformat(),
    )
    assert admin.get("/admin/").status_code == 303


def test_a_deactivated_user_is_signed_out_at_once(
    browser: Callable[[str], Browser], db: sessionmaker[Session]
) -> None:
    coordinator = browser("coordinator")
    with db.begin() as session:
        user = session.scalars(select(User).where(User.username == "cora")).one()
        user.active = False
    assert coordinator.get("/admin/").status_code == 303


def test_a_made_up_cookie_gets_the_sign_in_page(app_client: TestClient) -> None:
    app_client.cookies.clear()
    app_client.cookies.set(COOKIE, "made-up")
    assert app_client.get("/admin/", follow_redirects=False).status_code == 303
    app_client.cookies.set(COOKIE, "x" * 5000)
    assert app_client.get("/admin/", follow_redirects=False).status_code == 303


def test_console_pages_carry_security_headers(browser: Callable[[str], Browser]) -> None:
    page = browser("analyst").get("/admin/")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"


def test_webhooks_do_not_get_console_headers(app_client: TestClient) -> None:
    assert "content-security-policy" not in app_client.get("/healthz").headers


def test_unknown_console_path_is_an_html_404(browser: Callable[[str], Browser]) -> None:
    page = browser("admin").get("/admin/no-such-page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "There is nothing here" in page.text or "Not Found" in page.text


def test_the_stylesheet_is_served_locally(app_client: TestClient) -> None:
    css = app_client.get("/admin/static/console.css")
    assert css.status_code == 200
    assert "http" not in css.text
