"""What every Africa's Talking callback is checked for before it is read: the token, then
a form that can be read (AT signs nothing, so the token is the callback's only proof)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import PlainTextResponse, Response
from starlette.datastructures import ImmutableMultiDict

from gateway.channels.africastalking.settings import authorised
from gateway.channels.host import Services
from gateway.forms import BadForm, read_form


async def checked_form(
    request: Request, runtime: Services
) -> ImmutableMultiDict[str, str] | Response:
    """The callback's form, or the answer that refuses it: 403 without the token (counted),
    the form reader's 4xx for a body that is no readable form."""
    if not authorised(request, runtime.settings.sauti_at_token):
        runtime.metrics.refused.labels(reason="at_token").inc()
        return PlainTextResponse("forbidden", status_code=403)
    try:
        return await read_form(request)
    except BadForm as exc:
        return PlainTextResponse(exc.reason, status_code=exc.status)
