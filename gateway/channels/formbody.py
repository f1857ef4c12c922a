"""Provider webhooks as plain ASGI: a strict form parser and the plain-text answer.

The busiest webhooks (the USSD callback) are served ahead of the framework's request path
(`gateway.app.Sauti`); what the framework did for them is done here, and no more.

A body is read as `application/x-www-form-urlencoded` (or with no content type, as some
gateways send), refused before it is read whole:

- 413 when `Content-Length` says more than `MAX_BODY`, or the body grows past it;
- 415 for a non-empty body of another content type;
- 400 for more than `MAX_FIELDS` fields, a `%` not followed by two hexadecimal digits, a
  name or value whose bytes are no UTF-8, and a field named more than once.

A field named twice is refused rather than read as the first or the last: a provider sends
each field once, and a second `phoneNumber` or `text` would be a forgery or a bug whose
reading no one could tell. Empty pairs (`a=1&&b=2`) are skipped and a name without `=`
is a field with an empty value, as `urllib.parse.parse_qsl` reads them.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote_to_bytes

from starlette.types import Receive, Scope, Send

from gateway.forms import MAX_BODY, MAX_FIELDS, BadForm

__all__ = ["Receive", "Scope", "Send", "answer", "not_allowed", "query_value", "read_form"]

FORM_TYPE = b"application/x-www-form-urlencoded"
# A '%' that does not start an escape: `unquote` would keep it as it is, and a value read
# two ways is refused instead.
_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")
TEXT_PLAIN = b"text/plain; charset=utf-8"


def header(scope: Scope, name: bytes) -> bytes:
    """The value of a request header (`name` in lower case), b"" when absent."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return b""


def query_value(scope: Scope, name: str) -> str:
    """A query parameter's value (the last one given, as Starlette reads it), "" if absent."""
    found = ""
    for key, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), True):
        if key == name:
            found = value
    return found


async def read_body(scope: Scope, receive: Receive, limit: int = MAX_BODY) -> bytes:
    """The request body, refused with 413 as soon as it is known to pass `limit`."""
    declared = header(scope, b"content-length")
    if declared.isdigit() and int(declared) > limit:
        raise BadForm(413, "request body too large")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            raise BadForm(400, "request body incomplete")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BadForm(413, "request body too large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _decode(part: bytes) -> str:
    if _BAD_ESCAPE.search(part):
        raise BadForm(400, "malformed percent-encoding")
    try:
        return unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        raise BadForm(400, "form field is not UTF-8") from None


def parse_form(body: bytes, *, max_fields: int = MAX_FIELDS) -> dict[str, str]:
    """The fields of an urlencoded body, each named once (see the module's rules)."""
    pairs = [pair for pair in body.split(b"&") if pair]
    if len(pairs) > max_fields:
        raise BadForm(400, "too many form fields")
    form: dict[str, str] = {}
    for pair in pairs:
        raw_name, _, raw_value = pair.partition(b"=")
        name = _decode(raw_name)
        if name in form:
            raise BadForm(400, f"form field {name[:40]!r} appears more than once")
        form[name] = _decode(raw_value)
    return form


async def read_form(scope: Scope, receive: Receive) -> dict[str, str]:
    """Read and parse a webhook's form; BadForm carries the 4xx that refuses it."""
    body = await read_body(scope, receive)
    content_type = header(scope, b"content-type").split(b";")[0].strip().lower()
    if body and content_type not in (FORM_TYPE, b""):
        raise BadForm(415, "expected application/x-www-form-urlencoded")
    return parse_form(body)


async def answer(send: Send, body: str, status: int = 200) -> None:
    """Answer `text/plain`, with the headers the framework's `PlainTextResponse` gives."""
    data = body.encode("utf-8")
    headers = [(b"content-length", str(len(data)).encode()), (b"content-type", TEXT_PLAIN)]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def not_allowed(send: Send, allow: str = "POST") -> None:
    """405 as the framework answers a method a route does not take."""
    data = b'{"detail":"Method Not Allowed"}'
    headers = [
        (b"allow", allow.encode()),
        (b"content-length", str(len(data)).encode()),
        (b"content-type", b"application/json"),
    ]
    await send({"type": "http.response.start", "status": 405, "headers": headers})
    await send({"type": "http.response.body", "body": data})
