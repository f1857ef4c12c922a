"""Outbound SMS providers: one module per provider, each with a `build(settings)`.

A provider sends one text to one number and says what happened: accepted (with its own
message id, and whether delivery is already confirmed), or refused with an error that is
worth retrying or not. Adding a provider is adding a module here and its name to
`SAUTI_SMS_PROVIDER`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Protocol

from storage.settings import Settings


@dataclass(frozen=True, slots=True)
class Sent:
    """The provider took the message; `delivered` when it confirms delivery at once."""

    provider_id: str | None
    delivered: bool = False


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


class SmsProvider(Protocol):
    """Sends one SMS; raises `SendError` when the provider did not take it.

    `kind` (a `storage.models.MessageKind`) and `to_reporter` say what the message is, for
    a provider that keeps a record of it (the console's file); a network ignores them.
    Left out, the message is taken for one to a reporter of no known kind.
    """

    name: str

    def send(
        self, *, to: str, body: str, kind: str | None = None, to_reporter: bool = True
    ) -> Sent: ...


def build(settings: Settings) -> SmsProvider:
    """Return the provider named by `SAUTI_SMS_PROVIDER`."""
    module = importlib.import_module(f"{__name__}.{settings.sauti_sms_provider}")
    provider: SmsProvider = module.build(settings)
    return provider
