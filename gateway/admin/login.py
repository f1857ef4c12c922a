"""Signing in to and out of the console.

The sign-in form is protected from cross-site posts by a double-submit token (a cookie and
a hidden field that must match); once signed in, the session's own CSRF token guards every
form. Attempts are throttled and audited by `gateway.signin`, like the API's.

A coordinator who signs in without a page to go back to lands on their work queue: the
cases waiting for their committees, soonest deadline first. Other roles land on the
dashboard.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from gateway.admin.sessions import COOKIE
from gateway.admin.web import (
    Viewer,
    address_hash,
    back,
    current_viewer,
    local_path,
    record,
    render,
    session_store,
)
from gateway.deps import RuntimeDep
from gateway.signin import sign_in, throttled_text
from storage.db import utcnow
from storage.models import Role

router = APIRouter()
LOGIN_COOKIE = "sauti_login"
MAX_FIELD = 256
HOME = "/admin/"
QUEUE = "/admin/cases?view=waiting"


def landing(role: Role, next_path: str) -> str:
    """Where a sign-in goes: the page asked for, else a coordinator's queue or the dashboard."""
    target = local_path(next_path)
    if target == HOME and role == Role.COORDINATOR:
        return QUEUE
    return target


def _set_login_cookie(response: Response, token: str, secure: bool) -> None:
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/admin/login",
    )


async def _form(
    request: Request, runtime: RuntimeDep, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    response = await render(
        request,
        "login.html",
        None,
        status_code=status_code,
        login_token=token,
        error=error,
        next=local_path(request.query_params.get("next")),
    )
    _set_login_cookie(response, token, runtime.settings.https)
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    return await _form(request, runtime)


@router.post("/login", response_model=None)
async def login(
    request: Request,
    runtime: RuntimeDep,
    username: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    password: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    login_token: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/admin/",
) -> Response:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not login_token or not hmac.compare_digest(cookie, login_token):
        return await _form(
            request, runtime, "The form had expired. Please sign in again.", status_code=403
        )
    now = utcnow()
    outcome = await sign_in(
        runtime,
        username=username,
        password=password,
        ip_hash=await address_hash(request, runtime),
        now=now,
        via="console",
    )
    if outcome.throttled:
        text = throttled_text(outcome.retry_after).capitalize() + "."
        return await _form(request, runtime, text, status_code=429)
    if outcome.role is None:
        return await _form(request, runtime, "Wrong username or password.", status_code=401)
    store = session_store(request, runtime)
    token = await store.create(username=username, role=outcome.role, now=now)
    response = back(landing(outcome.role, next))
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=runtime.settings.https,
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/admin/login")
    return response


@router.post("/logout")
async def logout(
    request: Request, runtime: RuntimeDep, viewer: Annotated[Viewer, Depends(current_viewer)]
) -> Response:
    await session_store(request, runtime).end(viewer.token)
    await runtime.db(record, runtime, viewer, "auth.logout")
    response = back("/admin/login")
    response.delete_cookie(COOKIE, path="/")
    return response
