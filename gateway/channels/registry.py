"""The providers by name: their webhooks and their senders. A new provider is a folder
under `gateway/channels/` and a line in each table here."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter

from gateway.channels.africastalking import receive as africastalking_receive
from gateway.channels.africastalking import send as africastalking_send
from gateway.channels.africastalking import status as africastalking_status
from gateway.channels.console import send as console_send
from gateway.channels.twilio import receive as twilio_receive
from gateway.channels.twilio import send as twilio_send
from gateway.channels.twilio import status as twilio_status
from storage.settings import Settings
from workers.outbound import Sender, Senders

SENDERS: dict[str, Callable[[Settings], Sender]] = {
    "africastalking": africastalking_send.build,
    "console": console_send.build,
    "twilio": twilio_send.build,
}
ROUTERS: tuple[APIRouter, ...] = (
    africastalking_receive.router,
    africastalking_status.router,
    twilio_receive.router,
    twilio_status.router,
)


def senders(settings: Settings) -> Senders:
    """The sender of each country SAUTI_SMS_PROVIDER names, each built once; a provider
    whose settings are missing stops the start here (ValueError)."""
    built: dict[str, Sender] = {}
    by_country: dict[str, Sender] = {}
    for country, name in settings.sms_providers.items():
        if name not in SENDERS:
            raise ValueError(f"SAUTI_SMS_PROVIDER names {name}, which cannot send yet")
        if name not in built:
            built[name] = SENDERS[name](settings)
        by_country[country] = built[name]
    return Senders(by_country)
