"""What the Twilio provider needs of the settings.

SMS needs the account (`TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN`) and a sender
(`TWILIO_FROM`). WhatsApp needs its own sender, `TWILIO_WHATSAPP_FROM` (the number
WhatsApp approved, `+…` or `whatsapp:+…`, or a messaging service `MG…` holding it); left
empty, messages meant for WhatsApp go by SMS, each saying so on its outbox row. Templates
for messages outside the 24-hour window (`TWILIO_WHATSAPP_TEMPLATES`, see `templates.py`)
are approved for that sender, so they need it.
"""

from __future__ import annotations

import re

from gateway.channels.twilio import templates
from gateway.channels.twilio.fields import WHATSAPP_PREFIX
from storage.settings import Settings

PROVIDER = "twilio"
STATUS_CALLBACK_PATH = "/sms/twilio/status"
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_MESSAGING_SERVICE = re.compile(r"MG[0-9a-f]{32}")


def whatsapp_sender(settings: Settings) -> str:
    """TWILIO_WHATSAPP_FROM as the API takes it: `whatsapp:+…`, or a messaging service
    `MG…`; "" when unset."""
    value = settings.twilio_whatsapp_from.strip().removeprefix(WHATSAPP_PREFIX)
    if not value or _MESSAGING_SERVICE.fullmatch(value):
        return value
    return WHATSAPP_PREFIX + value


def _whatsapp_problems(settings: Settings) -> list[str]:
    value = settings.twilio_whatsapp_from.strip().removeprefix(WHATSAPP_PREFIX)
    found = []
    if value and not (_E164.fullmatch(value) or _MESSAGING_SERVICE.fullmatch(value)):
        found.append(
            "TWILIO_WHATSAPP_FROM is not a number in E.164 (+…, or whatsapp:+…) "
            "or a messaging service (MG + 32 hex)"
        )
    if settings.twilio_whatsapp_templates is not None:
        if not value:
            found.append(
                "TWILIO_WHATSAPP_TEMPLATES needs TWILIO_WHATSAPP_FROM, the WhatsApp sender "
                "its templates are approved for"
            )
        try:
            templates.load(settings.twilio_whatsapp_templates)
        except templates.TemplatesError as exc:
            found.append(str(exc))
    return found


def problems(settings: Settings) -> list[str]:
    """What is missing or wrong for sending through Twilio (nothing: it can send)."""
    missing = [
        name
        for name, value in (
            ("TWILIO_ACCOUNT_SID", settings.twilio_account_sid),
            ("TWILIO_AUTH_TOKEN", settings.twilio_auth_token),
            ("TWILIO_FROM", settings.twilio_from),
        )
        if not value
    ]
    found = [f"sending through Twilio needs {', '.join(missing)}"] if missing else []
    return found + _whatsapp_problems(settings)


def status_callback(settings: Settings) -> str:
    """Where Twilio reports each message's delivery."""
    return settings.sauti_public_url.rstrip("/") + STATUS_CALLBACK_PATH
