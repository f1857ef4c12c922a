"""Tokens: issue, expiry, refusal, throttling of failed logins, and their audit entries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from gateway.backoffice.tokens import TOKEN_LIFETIME, issue_token, load_api_keys, read_token
from gateway.signin import FAILURE_LIMIT, FAILURE_WINDOW, MALFORMED_ACTOR
from storage.models import Role, User
from storage.settings import Settings
from storage.users import audit_entries
from tests.api.conftest import login

KEY = b"k" * 32
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_token_carries_username_and_role_until_it_expires() -> None:
    token = issue_token(key=KEY, username="ada", role="admin", now=NOW)
    claims = read_token(key=KEY, token=token, now=NOW + TOKEN_LIFETIME - timedelta(seconds=1))
    assert claims is not None
    assert (claims.username, claims.role) == ("ada", Role.ADMIN)
    assert read_token(key=KEY, token=token, now=NOW + TOKEN_LIFETIME) is None
    assert timedelta(hours=8) == TOKEN_LIFETIME


def test_token_signed_with_another_key_is_refused() -> None:
    token = issue_token(key=b"x" * 32, username="ada", role="admin", now=NOW)
    assert read_token(key=KEY, token=token, now=NOW) is None


def test_token_with_unknown_role_is_refused() -> None:
    token = issue_token(key=KEY, username="ada", role="superuser", now=NOW)
    assert read_token(key=KEY, token=token, now=NOW) is None


def test_expired_token_gets_401(
    app_client: TestClient, settings: Settings, users: dict[str, str]
) -> None:
    key = load_api_keys(settings).signing
    old = issue_token(
        key=key, username="ada", role="admin", now=datetime.now(UTC) - timedelta(hours=9)
    )
    fresh = issue_token(key=key, username="ada", role="admin", now=datetime.now(UTC))
    assert (
        app_client.get("/api/v1/cases", headers={"Authorization": f"Bearer {old}"}).status_code
        == 401
    )
    assert (
        app_client.get("/api/v1/cases", headers={"Authorization": f"Bearer {fresh}"}).status_code
        == 200
    )


def test_keys_come_from_a_private_file_without_the_encryption_key(settings: Settings) -> None:
    bare = settings.model_copy(update={"sauti_encryption_key": ""})
    first, second = load_api_keys(bare), load_api_keys(bare)
    path = settings.var_dir / "api.key"
    assert first.signing == second.signing
    assert first.signing != load_api_keys(settings).signing
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(bytes.fromhex(path.read_text().strip())) == 32


def test_login_returns_a_bearer_token_and_is_audited(
    app_client: TestClient, users: dict[str, str], db: sessionmaker[Session]
) -> None:
    response = login(app_client, "ada")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["access_token"]
    with db() as session:
        entries = audit_entries(session=session, action="auth.login")
        user = session.query(User).filter_by(username="ada").one()
    assert [e.actor for e in entries] == ["ada"]
    assert entries[0].ip_hash is not None
    assert "testclient" not in entries[0].ip_hash
    assert user.last_login_at is not None


@pytest.mark.parametrize("username", ["ada", "nobody"])
def test_failed_login_is_401_and_audited(
    app_client: TestClient, users: dict[str, str], db: sessionmaker[Session], username: str
) -> None:
    response = login(app_client, username, "wrong password!")
    assert response.status_code == 401
    assert response.json()["detail"] == "wrong username or password"
    with db() as session:
        entries = audit_entries(session=session, action="auth.login_failed")
    assert [e.actor for e in entries] == [username]
    assert "wrong password!" not in str(entries[0].data)


@pytest.mark.parametrize("username", ["ada\x00", "x" * 10_000, "Ada Lovelace", "💥", ""])
def test_malformed_username_is_401_and_audited_without_it(
    app_client: TestClient, users: dict[str, str], db: sessionmaker[Session], username: str
) -> None:
    response = login(app_client, username)
    assert response.status_code in {401, 422}
    if response.status_code == 401:
        with db() as session:
            [entry] = audit_entries(session=session, action="auth.login_failed")
        assert entry.actor == MALFORMED_ACTOR


def test_deactivated_user_cannot_log_in_or_use_a_token(
    app_client: TestClient,
    users: dict[str, str],
    headers: Callable[[str], dict[str, str]],
    db: sessionmaker[Session],
) -> None:
    auth = headers("admin")
    with db.begin() as session:
        session.execute(update(User).where(User.username == "ada").values(active=False))
    assert login(app_client, "ada").status_code == 401
    assert app_client.get("/api/v1/cases", headers=auth).status_code == 401


def test_missing_form_fields_are_422(app_client: TestClient) -> None:
    assert app_client.post("/api/v1/auth/token", data={"username": "ada"}).status_code == 422
    assert app_client.post("/api/v1/auth/token", content=b"\xff\x00").status_code == 422


def test_repeated_failures_for_a_username_are_throttled(
    app_client: TestClient, users: dict[str, str], db: sessionmaker[Session]
) -> None:
    """After the limit even the right password gets 429, with a clear message."""
    for _ in range(FAILURE_LIMIT):
        assert login(app_client, "ada", "wrong password!").status_code == 401
    response = login(app_client, "ada")
    assert response.status_code == 429
    assert "wait 15 minutes" in response.json()["detail"]
    assert response.headers["retry-after"] == "900"
    with db() as session:
        assert len(audit_entries(session=session, action="auth.throttled")) == 1


def test_repeated_failures_from_one_address_are_throttled_across_usernames(
    app_client: TestClient, users: dict[str, str]
) -> None:
    for attempt in range(FAILURE_LIMIT):
        assert login(app_client, f"guess{attempt}", "wrong password!").status_code == 401
    assert login(app_client, "cora").status_code == 429


def test_success_clears_the_username_count_but_not_the_address_count(
    app_client: TestClient, users: dict[str, str], redis_client: redis.Redis
) -> None:
    """A correct password must not let one address keep guessing other accounts."""
    for _ in range(FAILURE_LIMIT - 1):
        login(app_client, "ana", "wrong password!")
    assert login(app_client, "ana").status_code == 200
    assert redis_client.keys("sauti:login-failures:user:*") == []
    [address] = redis_client.keys("sauti:login-failures:ip:*")
    assert int(redis_client.get(address) or 0) == FAILURE_LIMIT - 1
    assert 0 < redis_client.ttl(address) <= FAILURE_WINDOW
