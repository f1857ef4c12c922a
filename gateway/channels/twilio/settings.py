"""What the Twilio provider needs of the settings."""

from __future__ import annotations

from storage.settings import Settings

PROVIDER = "twilio"
STATUS_CALLBACK_PATH = "/sms/twilio/status"


def problems(settings: Settings) -> list[str]:
    """What is missing for sending through Twilio (nothing: it can send)."""
    missing = [
        name
        for name, value in (
            ("TWILIO_ACCOUNT_SID", settings.twilio_account_sid),
            ("TWILIO_AUTH_TOKEN", settings.twilio_auth_token),
            ("TWILIO_FROM", settings.twilio_from),
        )
        if not value
    ]
    return [f"sending through Twilio needs {', '.join(missing)}"] if missing else []


def status_callback(settings: Settings) -> str:
    """Where Twilio reports each message's delivery."""
    return settings.sauti_public_url.rstrip("/") + STATUS_CALLBACK_PATH
