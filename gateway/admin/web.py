"""The console's plumbing: who is signed in, role checks, CSRF, templates, flash messages.

Every page handler takes a `Viewer` from `allow(section)`: it redirects to the sign-in
page when nobody is signed in, answers 403 when the role may not see the section, and on
POST checks the form's `csrf_token` against the session's before the handler runs.
Handlers answer a POST with a redirect (POST, redirect, GET) and say what happened in a
flash message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.admin import words
from gateway.admin.sessions import COOKIE, ConsoleSession, SessionStore
from gateway.backoffice.access import MENU, SECTIONS, may
from gateway.backoffice.dashboards import CHANNEL_LABELS
from gateway.backoffice.tokens import get_api_keys
from gateway.deps import RuntimeDep
from gateway.runtime import Runtime
from storage import casenumber
from storage.db import utcnow
from storage.models import Role
from storage.users import audit, hash_ip, still_allowed

TEMPLATES = Path(__file__).parent / "templates"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class SignInRequired(Exception):
    """Nobody is signed in, or the session expired."""


class Forbidden(Exception):
    """Signed in, but this role may not see this section."""


class CsrfFailed(Exception):
    """An unsafe request without the session's CSRF token."""


def channel_name(code: str) -> str:
    """How the console names a channel reports come by (USSD, SMS, WhatsApp, Voice, Web)."""
    return CHANNEL_LABELS.get(code, code)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["case_number"] = casenumber.display
    words.register(env)
    env.globals["may"] = may
    return env


ENV = _environment()


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in user of this request."""

    username: str
    role: Role
    csrf: str
    token: str
    session: ConsoleSession
    ip_hash: str | None

    def may(self, section: str) -> bool:
        return may(self.role, section)


def session_store(request: Request, runtime: Runtime) -> SessionStore:
    store: SessionStore | None = getattr(request.app.state, "console_sessions", None)
    if store is None:
        settings = runtime.settings
        store = SessionStore(
            runtime.aredis,
            idle=settings.sauti_console_idle,
            lifetime=settings.sauti_console_lifetime,
        )
        request.app.state.console_sessions = store
    return store


async def address_hash(request: Request, runtime: Runtime) -> str | None:
    keys = await get_api_keys(request, runtime)
    return hash_ip(key=keys.address, ip=request.client.host if request.client else None)


def _still_allowed(runtime: Runtime, username: str, role: Role) -> bool:
    with runtime.sessions() as session:
        return still_allowed(session=session, username=username, role=role)


async def current_viewer(request: Request, runtime: RuntimeDep) -> Viewer:
    """The signed-in user, or SignInRequired (the sign-in page, then back here)."""
    store = session_store(request, runtime)
    token = request.cookies.get(COOKIE)
    session = await store.touch(token, utcnow())
    if session is None or token is None:
        raise SignInRequired
    if not await runtime.db(_still_allowed, runtime, session.username, session.role):
        await store.end(token)
        raise SignInRequired
    viewer = Viewer(
        username=session.username,
        role=session.role,
        csrf=session.csrf,
        token=token,
        session=session,
        ip_hash=await address_hash(request, runtime),
    )
    if request.method in UNSAFE_METHODS:
        await _check_csrf(request, viewer)
    return viewer


async def _check_csrf(request: Request, viewer: Viewer) -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not viewer.session.csrf_matches(sent):
        await request.close()  # the files of a refused form are not left to the collector
        raise CsrfFailed


def allow(section: str) -> Callable[..., Awaitable[Viewer]]:
    """A dependency: the viewer, when their role may use `section` (gateway.backoffice.access)."""
    if section not in SECTIONS:
        raise KeyError(section)

    async def dependency(
        request: Request, viewer: Annotated[Viewer, Depends(current_viewer)]
    ) -> Viewer:
        if not viewer.may(section):
            await request.close()
            raise Forbidden
        return viewer

    return dependency


def _menu(viewer: Viewer | None) -> list[tuple[str, str]]:
    if viewer is None:
        return []
    return [(path, label) for section, path, label in MENU if viewer.may(section)]


async def render(
    request: Request,
    template: str,
    viewer: Viewer | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page of the console, with the menu, the CSRF token and any flash messages."""
    flash: tuple[tuple[str, str], ...] = ()
    runtime: Runtime = request.app.state.runtime
    if viewer is not None:
        flash = await session_store(request, runtime).pop_flash(viewer.token, viewer.session)
    html = ENV.get_template(template).render(
        request=request,
        zone=runtime.settings.zone,
        viewer=viewer,
        csrf=viewer.csrf if viewer else "",
        menu=_menu(viewer),
        path=request.url.path,
        flash=flash,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


async def flash(request: Request, viewer: Viewer, kind: str, text: str) -> None:
    """Say something on the next page (kind: ok, error, info)."""
    runtime: Runtime = request.app.state.runtime
    store = session_store(request, runtime)
    current = await store.touch(viewer.token, utcnow()) or viewer.session
    await store.add_flash(viewer.token, current, kind, text)


def back(path: str) -> RedirectResponse:
    """Answer a form with a GET of `path`."""
    return RedirectResponse(path, status_code=303)


def local_path(target: str | None, default: str = "/admin/") -> str:
    """`target` when it is a path on this site under /admin, else `default` (no open redirect)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/admin") or "\\" in target:
        return default
    return target


def record(
    runtime: Runtime,
    viewer: Viewer,
    action: str,
    target: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> None:
    """Append to the audit log in its own transaction (call through runtime.db)."""
    with runtime.sessions.begin() as session:
        audit(
            session=session,
            actor=viewer.username,
            action=action,
            target=target,
            data=dict(data or {}),
            ip_hash=viewer.ip_hash,
            now=utcnow(),
        )


def sign_in_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/admin/login?next={quote(target, safe='')}", status_code=303)
