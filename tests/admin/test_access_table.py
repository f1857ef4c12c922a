"""Who may open what: every role, and nobody, against every console page and API route.

The rows live next to each part's tests (`tests/admin/access_*.py`). Expected answers:
nobody signed in gets the sign-in page (console) or 401 (API); a role the section does not
admit gets 403; an admitted role gets neither, and never a 5xx. An analyst's answers never
hold free text, whatever the route. A route missing from the table fails the last test.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.admin.sessions import COOKIE
from storage.casenumber import display
from storage.models import Committee, Location, OutboxMessage, Role
from storage.users import create_user, set_scope
from tests.admin.access_rows import Row
from tests.admin.conftest import _CSRF, PASSWORD, Browser, sign_in
from tests.api.conftest import DESCRIPTION, NOTE, PLACE_TEXT

HERE = Path(__file__).parent
FREE_TEXT = (DESCRIPTION, PLACE_TEXT, NOTE)
# Reached without a role: signing in, and the public statistics.
OPEN_PATHS = {
    ("GET", "/admin/login"),
    ("POST", "/admin/login"),
    ("POST", "/api/v1/auth/token"),
}


def _load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"access_{path.stem}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tables() -> tuple[list[Row], list[Row]]:
    rows: list[Row] = []
    public: list[Row] = []
    for path in sorted(HERE.glob("access_*.py")):
        if path.name == "access_rows.py":
            continue
        module = _load(path)
        rows.extend(getattr(module, "ROWS", []))
        public.extend(getattr(module, "PUBLIC_ROWS", []))
    return rows, public


ROWS, PUBLIC_ROWS = _tables()


def _fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


@pytest.fixture
def values(
    app_client: TestClient,
    file_case: Callable[..., str],
    file_signal: Callable[[str], int],
    db: sessionmaker[Session],
) -> dict[str, str]:
    number = file_case()
    signal = file_signal(number)
    with db() as session:
        committee = session.scalars(select(Committee).where(Committee.active).limit(1)).one()
        place = session.scalars(select(Location).order_by(Location.id.desc()).limit(1)).one()
        message = session.scalars(select(OutboxMessage).limit(1)).first()
        version = app_client.app.state.runtime.bundle.version  # type: ignore[attr-defined]
        return {
            "case": display(number),
            "committee": committee.code,
            "place": place.code,
            "message": str(message.id if message else 1),
            "version": version,
            "language": "fr",
            "flow": "report",
            "member": str(committee.members[0].id),
            "pseudonym": "0" * 64,
            "file": "t-0000000000.wav",
            "ref": "a" * 12,
            "n": "1",
            "signal": str(signal),
        }


def _call(
    row: Row,
    path: str,
    role: str | None,
    client: TestClient,
    browser: Callable[[str], Browser],
    headers: Callable[[str], dict[str, str]],
) -> httpx.Response:
    if row.api:
        auth = headers(role) if role else {}
        client.cookies.clear()
        if row.method == "GET":
            return client.get(path, headers=auth)
        return client.request(row.method, path, headers=auth, json=row.data)
    if role is None:
        client.cookies.clear()
        return client.request(row.method, path, data=row.data or None, follow_redirects=False)
    user = browser(role)
    return user.get(path) if row.method == "GET" else user.post(path, row.data)


def _expect(row: Row, role: str | None, response: httpx.Response) -> None:
    said = (row.name, role, response.status_code, response.text[:300])
    assert response.status_code < 500, said
    if role is None:
        if row.api:
            assert response.status_code == 401, said
        else:
            assert response.status_code == 303, said
            assert response.headers["location"].startswith("/admin/login"), said
    elif Role(role) in row.allowed:
        assert response.status_code not in (401, 403), said
    else:
        assert response.status_code == 403, said
    if role == "analyst":
        for text in FREE_TEXT:
            assert text not in response.text, said


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_each_role_on_each_route(
    row: Row,
    app_client: TestClient,
    browser: Callable[[str], Browser],
    headers: Callable[[str], dict[str, str]],
    values: dict[str, str],
) -> None:
    path = _fill(row.path, values)
    # Refused callers first, so that nothing an admitted one changes hides a leak.
    for role in (None, "analyst", "coordinator", "admin"):
        _expect(row, role, _call(row, path, role, app_client, browser, headers))


@pytest.fixture
def south_kivu(users: dict[str, str], db: sessionmaker[Session]) -> str:
    """A coordinator scoped to South Kivu (the filed case and its signal are in North Kivu)."""
    with db.begin() as session:
        user = create_user(
            session=session,
            username="sk",
            password=PASSWORD,
            role=Role.COORDINATOR,
            now=datetime.now(UTC),
        )
        set_scope(session=session, user=user, place="cd-sk")
    return "sk"


def _scoped_call(row: Row, path: str, client: TestClient, name: str) -> httpx.Response:
    if row.api:
        token = client.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD})
        auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
        client.cookies.clear()
        return client.request(row.method, path, headers=auth, json=row.data or None)
    client.cookies.clear()
    signed = sign_in(client, name)
    cookie = signed.cookies.get(COOKIE)
    assert cookie
    client.cookies.set(COOKIE, cookie)
    page = client.get("/admin/")
    csrf = _CSRF.search(page.text)
    assert csrf is not None
    data = {**row.data, "csrf_token": csrf.group(1)}
    if row.method == "GET":
        return client.get(path, follow_redirects=False)
    return client.post(path, data=data, follow_redirects=False)


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_a_scoped_coordinator_on_each_route(
    row: Row, app_client: TestClient, values: dict[str, str], south_kivu: str
) -> None:
    """The scoped-coordinator column: 404 for the case or signal outside the scope, what
    any coordinator gets elsewhere, never a 5xx, and a refused row still 403."""
    response = _scoped_call(row, _fill(row.path, values), app_client, south_kivu)
    said = (row.name, response.status_code, response.text[:300])
    assert response.status_code < 500, said
    if Role.COORDINATOR not in row.allowed:
        assert response.status_code == 403, said
    elif row.out_of_scope is not None:
        assert response.status_code == row.out_of_scope, said
    else:
        assert response.status_code not in (401, 403), said


@pytest.mark.parametrize("row", PUBLIC_ROWS, ids=[row.name for row in PUBLIC_ROWS])
def test_public_routes_need_no_sign_in(
    row: Row, app_client: TestClient, values: dict[str, str]
) -> None:
    app_client.cookies.clear()
    response = app_client.request(row.method, _fill(row.path, values))
    assert response.status_code == 200, response.text[:300]
    for text in FREE_TEXT:
        assert text not in response.text


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_every_route_is_in_the_table(app_client: TestClient) -> None:
    listed = {(row.method, _shape(row.path)) for row in [*ROWS, *PUBLIC_ROWS]}
    listed |= {(method, _shape(path)) for method, path in OPEN_PATHS}
    listed.add(("POST", "/admin/logout"))
    missing = []
    seen = 0
    for path, methods in _routes(app_client.app.routes):  # type: ignore[attr-defined]
        if not path.startswith(("/admin", "/api/v1", "/public")):
            continue
        seen += 1
        for method in sorted(methods - {"HEAD"}):
            if (method, _shape(path)) not in listed:
                missing.append(f"{method} {path}")
    assert seen > len(OPEN_PATHS)
    assert missing == []


def _routes(routes: list[Any]) -> list[tuple[str, set[str]]]:
    """Every endpoint's full path and methods, through included routers."""
    found: list[tuple[str, set[str]]] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append((route.path, set(route.methods)))
        elif hasattr(route, "effective_route_contexts"):
            for context in route.effective_route_contexts():
                methods = getattr(context.original_route, "methods", None)
                if methods:
                    found.append((context.path, set(methods)))
    return found
