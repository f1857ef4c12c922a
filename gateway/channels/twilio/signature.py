"""Twilio webhook signatures, checked against the public URL Twilio called."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import ImmutableMultiDict
from twilio.request_validator import RequestValidator


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
