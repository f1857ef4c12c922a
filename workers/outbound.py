"""What the workers hand a provider to send, and what they hear back.

The providers themselves live with their inbound side in `gateway/channels/<provider>/`
(`send.py`); the worker process is given them as `Senders` when it starts, so nothing here
knows one provider from another. A sender takes one `OutboundMessage` and says what
happened: accepted (with its own id, and whether delivery is confirmed already), or
refused with an error worth retrying or not. Delivery reports come back later through the
provider's `status.py` as a `DeliveryEvent`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

import phonenumbers

from storage.models import MessageChannel

SMS = MessageChannel.SMS.value
WHATSAPP = MessageChannel.WHATSAPP.value
TOO_MANY_REQUESTS = 429
ANY_COUNTRY = "*"


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One text to one number. `kind` is a `storage.models.MessageKind`; `reference` the
    outbox row's id; `to_reporter` whether the number is a reporter's; `channel` "sms" or
    "whatsapp" (a sender that cannot reach WhatsApp sends by SMS and says so)."""

    to: str
    body: str
    kind: str | None = None
    language: str = "en"
    reference: str = ""
    to_reporter: bool = True
    channel: str = SMS


@dataclass(frozen=True, slots=True)
class Sent:
    """The provider took the message; `delivered` when it confirms delivery at once.
    `channel` is how it went (SMS when a WhatsApp message had to fall back), `note` why."""

    provider_id: str | None
    delivered: bool = False
    channel: str = SMS
    note: str | None = None


class SendError(Exception):
    """The provider did not take the message.

    `retry` says whether trying again later can help (a timeout, a 5xx, a rate limit) or
    not (an invalid or blocked number). `reason` is a short code for the outbox row and
    the logs: it never carries the number or the text.
    """

    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


def retryable_http(status: int) -> bool:
    """Whether a provider's HTTP answer is worth trying again (a 5xx, a rate limit)."""
    return status >= 500 or status == TOO_MANY_REQUESTS


class Sender(Protocol):
    """Sends one message; raises `SendError` when the provider did not take it.

    A sender may say which channels it reaches, as a `channels` set ("sms", "whatsapp");
    one that does not say reaches SMS only, and sends a WhatsApp message by SMS."""

    name: str

    def send(self, message: OutboundMessage) -> Sent: ...


@dataclass(frozen=True, slots=True)
class DeliveryEvent:
    """A provider's delivery report in the outbox's words (`storage.models.OutboxStatus`)."""

    provider: str
    provider_id: str
    status: str
    error_code: str | None = None


class Senders:
    """The sender of each country (ISO 3166 code), and the one for every other (`*`)."""

    def __init__(self, by_country: Mapping[str, Sender]) -> None:
        if ANY_COUNTRY not in by_country:
            raise ValueError("a sender for every other country ('*') is needed")
        self._by_country = dict(by_country)

    def for_number(self, e164: str) -> Sender:
        """The sender for a number's country ('*' when it has no sender of its own)."""
        region = None
        with contextlib.suppress(phonenumbers.NumberParseException):
            region = phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
        return self._by_country.get(region or "", self._by_country[ANY_COUNTRY])

    def for_message(self, e164: str, channel: str = SMS) -> Sender:
        """The sender for a message: its number's country's, unless that one cannot reach
        the message's channel (WhatsApp) and another sender can."""
        sender = self.for_number(e164)
        if channel == SMS or channel in reaches(sender):
            return sender
        return next((other for other in self if channel in reaches(other)), sender)

    def __iter__(self) -> Iterator[Sender]:
        """Each distinct sender once."""
        seen: dict[int, Sender] = {id(sender): sender for sender in self._by_country.values()}
        return iter(seen.values())

    @classmethod
    def only(cls, sender: Sender) -> Senders:
        """One sender for every number."""
        return cls({ANY_COUNTRY: sender})


def reaches(sender: Sender) -> frozenset[str]:
    """The channels a sender reaches (SMS when it does not say)."""
    channels = getattr(sender, "channels", None)
    return frozenset(channels) if channels else frozenset({SMS})
