"""The one internal message every provider adapter produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Channel(StrEnum):
    """How a message came in. WhatsApp is a conversation like SMS (the same flows, screens
    and keywords) with a session and an inbound allowance of its own. A voice call is a
    conversation of its own too, one key press a hop, its screens spoken."""

    USSD = "ussd"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    VOICE = "voice"

    @property
    def screens(self) -> str:
        """The channel whose screens it is shown (`flows.render.CHANNELS`): a WhatsApp
        message reads the SMS screens; a call hears its own (`flows.voice`)."""
        if self is Channel.WHATSAPP:
            return "sms"
        return self.value


class SessionEvent(StrEnum):
    """Where a message stands in its conversation (the provider's own words differ)."""

    NEW = "new"
    RESUME = "resume"
    CLOSE = "close"


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One hop from a phone, stripped of provider field names.

    `pseudonym` replaces the phone number; the number itself travels only in `contact`, as
    the provider spelled it, kept in memory for the length of the request so that a
    reporter who asks for SMS updates can have it stored encrypted. `region` is the
    region of the number; `network_region` the country the provider placed the caller in
    (Africa's Talking's `networkCode`, Twilio's `FromCountry`), in which a number written
    without its country code was read and `contact` is read again. `network_code` is the
    network as the provider named it (Africa's Talking's `networkCode`, MCC+MNC such as
    "63001"), which tells whether its USSD screens must be plain ASCII (`SAUTI_USSD_ASCII`).
    """

    channel: Channel
    provider: str
    event: SessionEvent
    session_key: str
    pseudonym: str
    region: str | None
    inputs: tuple[str, ...]
    message_id: str | None = None
    contact: str | None = field(default=None, repr=False)  # never in a repr or a log
    network_region: str | None = None
    network_code: str | None = None

    @property
    def text(self) -> str:
        return "*".join(self.inputs)
