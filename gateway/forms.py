"""Reading provider form posts defensively: bounded, never a 500 on odd bytes."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import Request
from starlette.datastructures import ImmutableMultiDict

MAX_BODY = 64 * 1024
MAX_FIELDS = 200


class BadForm(Exception):
    """The request body is not a form we can read; answered with a 4xx."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def read_form(request: Request) -> ImmutableMultiDict[str, str]:
    """Parse an urlencoded body (the only kind providers send) with size and field bounds."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise BadForm(413, "request body too large")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise BadForm(413, "request body too large")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if body and content_type not in ("application/x-www-form-urlencoded", ""):
        raise BadForm(415, "expected application/x-www-form-urlencoded")
    try:
        pairs = parse_qsl(
            body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=MAX_FIELDS
        )
    except ValueError as exc:
        raise BadForm(400, "too many form fields") from exc
    return ImmutableMultiDict(pairs)


def clean(value: str, *, limit: int = 1000) -> str:
    """Drop control characters (keeping none) and bound the length of a field."""
    return "".join(ch for ch in value[:limit] if ch.isprintable() or ch == " ")
