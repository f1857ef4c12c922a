"""What the Africa's Talking provider needs of the settings."""

from __future__ import annotations

import hmac

from fastapi import Request

PROVIDER = "africastalking"


def authorised(request: Request, token: str) -> bool:
    """A callback carries `?token=` equal to SAUTI_AT_TOKEN (any, while none is set)."""
    given = request.query_params.get("token", "")
    return not token or hmac.compare_digest(given.encode(), token.encode())
