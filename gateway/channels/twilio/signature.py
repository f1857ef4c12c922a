"""Twilio webhook signatures, checked against the public URL Twilio called."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import PlainTextResponse, Response
from starlette.datastructures import ImmutableMultiDict
from twilio.request_validator import RequestValidator

from gateway.channels.host import Services
from gateway.forms import BadForm, read_form


def public_url(base: str, request: Request) -> str:
    """The https URL as Twilio saw it, not the one the app sees behind a TLS proxy."""
    query = request.url.query
    return base.rstrip("/") + request.url.path + (f"?{query}" if query else "")


def valid(
    *, token: str, base_url: str, request: Request, form: ImmutableMultiDict[str, str]
) -> bool:
    """True only with a token configured and a signature over every field of the form."""
    signature = request.headers.get("x-twilio-signature", "")
    if not token or not signature:
        return False
    return bool(RequestValidator(token).validate(public_url(base_url, request), form, signature))


def signed(request: Request, runtime: Services, form: ImmutableMultiDict[str, str]) -> bool:
    """Whether a webhook is signed by Twilio (a refusal is counted)."""
    settings = runtime.settings
    ok = valid(
        token=settings.twilio_auth_token,
        base_url=settings.sauti_public_url,
        request=request,
        form=form,
    )
    if not ok:
        runtime.metrics.refused.labels(reason="twilio_signature").inc()
    return ok


def refused(runtime: Services, problem: str) -> Response:
    """A signed request that is not shaped as Twilio sends it: refused, and counted."""
    runtime.metrics.refused.labels(reason="twilio_fields").inc()
    return PlainTextResponse(problem, status_code=400)


async def signed_form(
    request: Request, runtime: Services
) -> ImmutableMultiDict[str, str] | Response:
    """A webhook's form, or the answer that refuses it: the form reader's 4xx for a body
    that is no readable form, 403 when Twilio did not sign it."""
    try:
        form = await read_form(request)
    except BadForm as exc:
        return PlainTextResponse(exc.reason, status_code=exc.status)
    if not signed(request, runtime, form):
        return PlainTextResponse("invalid signature", status_code=403)
    return form
