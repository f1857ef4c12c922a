"""The web console under /admin, and the public statistics under /public.

`install(app)` mounts the pages, the static files, the security headers and the error pages
(HTML for console paths, JSON elsewhere).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.admin import (
    audit,
    cases,
    committees,
    dashboard,
    flows,
    login,
    map,
    outbox,
    performance,
    places,
    public,
    signals,
    translations,
    voice,
)
from gateway.admin.headers import SecureHeaders
from gateway.admin.web import CsrfFailed, Forbidden, SignInRequired, render, sign_in_redirect

STATIC = Path(__file__).parent / "static"
_MESSAGES = {
    400: "The request could not be understood.",
    403: "You may not do this.",
    404: "There is nothing here.",
    405: "This page does not take this kind of request.",
    413: "The file is too large.",
    422: "Some fields were not valid.",
    429: "Too many requests: wait a moment and try again.",
}


def _console(request: Request) -> bool:
    return request.url.path.startswith("/admin")


async def _error_page(request: Request, status_code: int, detail: str) -> Response:
    return await render(
        request, "error.html", None, status_code=status_code, status=status_code, detail=detail
    )


async def _sign_in(request: Request, exc: Exception) -> Response:
    return sign_in_redirect(request)


async def _forbidden(request: Request, exc: Exception) -> Response:
    return await _error_page(request, 403, "Your role may not open this page.")


async def _csrf(request: Request, exc: Exception) -> Response:
    return await _error_page(
        request, 403, "The form had expired or did not come from this console. Reload and retry."
    )


async def _http(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, StarletteHTTPException) or not _console(request):
        return await http_exception_handler(request, exc)  # type: ignore[arg-type]
    detail = exc.detail if isinstance(exc.detail, str) and exc.status_code != 500 else None
    return await _error_page(
        request, exc.status_code, detail or _MESSAGES.get(exc.status_code, "Something went wrong.")
    )


def _invalid(fallback: object) -> object:
    async def handler(request: Request, exc: Exception) -> Response:
        if _console(request) and isinstance(exc, RequestValidationError):
            fields = ", ".join(
                str(error.get("loc", ("",))[-1])
                for error in exc.errors()
                if isinstance(error, dict)
            )
            return await _error_page(request, 422, f"These fields were not valid: {fields}.")
        result: Response = await fallback(request, exc)  # type: ignore[operator]
        return result

    return handler


def install(app: FastAPI, *, https: bool) -> None:
    for module in (
        login,
        dashboard,
        performance,
        cases,
        map,
        signals,
        committees,
        places,
        flows,
        translations,
        voice,
        outbox,
        audit,
    ):
        app.include_router(module.router, prefix="/admin", include_in_schema=False)
    app.include_router(public.router)
    app.mount("/admin/static", StaticFiles(directory=STATIC), name="console-static")
    app.add_exception_handler(SignInRequired, _sign_in)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(CsrfFailed, _csrf)
    app.add_exception_handler(StarletteHTTPException, _http)
    fallback = app.exception_handlers.get(RequestValidationError)
    if fallback is not None:
        app.add_exception_handler(RequestValidationError, _invalid(fallback))  # type: ignore[arg-type]
    app.add_middleware(SecureHeaders, https=https)
