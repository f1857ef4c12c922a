"""The providers by name: their webhooks and their senders. A new provider is a folder
under `gateway/channels/` and a line in each table here."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter

from gateway.channels.africastalking import receive as africastalking_receive
from gateway.channels.africastalking import recordings as africastalking_recordings
from gateway.channels.africastalking import send as africastalking_send
from gateway.channels.africastalking import status as africastalking_status
from gateway.channels.africastalking import voice as africastalking_voice
from gateway.channels.console import send as console_send
from gateway.channels.host import Webhook
from gateway.channels.twilio import receive as twilio_receive
from gateway.channels.twilio import recordings as twilio_recordings
from gateway.channels.twilio import send as twilio_send
from gateway.channels.twilio import status as twilio_status
from gateway.channels.twilio import voice as twilio_voice
from storage.settings import Settings
from workers.outbound import Sender, Senders
from workers.recorders import Recorder, Recorders

SENDERS: dict[str, Callable[[Settings], Sender]] = {
    "africastalking": africastalking_send.build,
    "console": console_send.build,
    "twilio": twilio_send.build,
}
# Who fetches a voice provider's recordings (None: the settings name no account).
RECORDERS: dict[str, Callable[[Settings], Recorder | None]] = {
    "africastalking": africastalking_recordings.build,
    "twilio": twilio_recordings.build,
}
ROUTERS: tuple[APIRouter, ...] = (
    africastalking_receive.router,
    africastalking_status.router,
    twilio_receive.router,
    twilio_status.router,
    africastalking_voice.router,
    twilio_voice.router,
)

# Webhooks served as plain ASGI ahead of the routers, by exact path (POST only).
WEBHOOKS: dict[str, Webhook] = {
    **africastalking_receive.USSD_WEBHOOKS,
}


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


def recorders(settings: Settings) -> Recorders:
    """The recorder of each voice provider whose settings are there (a recording of a
    provider with none fails, said so on its row)."""
    built = {name: build(settings) for name, build in RECORDERS.items()}
    return Recorders({name: found for name, found in built.items() if found is not None})
