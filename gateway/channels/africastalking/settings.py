"""What the Africa's Talking provider needs of the settings."""

from __future__ import annotations

import hmac

from fastapi import Request

from storage.settings import Settings

PROVIDER = "africastalking"
USSD_PATH = "/ussd/africastalking"
USSD_EVENTS_PATH = "/ussd/africastalking/events"
INBOUND_SMS_PATH = "/sms/africastalking"
DELIVERY_PATH = "/sms/africastalking/delivery"
MESSAGING_PATH = "/version1/messaging"
SANDBOX_USERNAME = "sandbox"
PRODUCTION_API = "https://api.africastalking.com"
SANDBOX_API = "https://api.sandbox.africastalking.com"


def authorised(request: Request, token: str) -> bool:
    """A callback carries `?token=` equal to SAUTI_AT_TOKEN (any, while none is set)."""
    return token_matches(request.query_params.get("token", ""), token)


def token_matches(given: str, token: str) -> bool:
    """`given` is SAUTI_AT_TOKEN (anything is, while none is set)."""
    return not token or hmac.compare_digest(given.encode(), token.encode())


def problems(settings: Settings) -> list[str]:
    """What is missing for sending through Africa's Talking (nothing: it can send)."""
    missing = [
        name
        for name, value in (
            ("AT_USERNAME", settings.at_username),
            ("AT_API_KEY", settings.at_api_key),
        )
        if not value
    ]
    found = [f"sending through Africa's Talking needs {', '.join(missing)}"] if missing else []
    if settings.at_username == SANDBOX_USERNAME and settings.at_api_url == PRODUCTION_API:
        found.append(f"the Africa's Talking sandbox account sends through AT_API_URL={SANDBOX_API}")
    return found


def messaging_url(settings: Settings) -> str:
    """Where messages are sent: AT_API_URL's messaging endpoint."""
    return settings.at_api_url.rstrip("/") + MESSAGING_PATH
