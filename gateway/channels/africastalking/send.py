"""The Africa's Talking provider: the messaging API, one request per message.

`POST {AT_API_URL}/version1/messaging` with the form `username, to, message` (and `from`
when AT_SENDER_ID names a sender id or short code), the header `apiKey`. AT answers
`SMSMessageData.Recipients[]`, one per number, each with a `statusCode`: 100 (processed),
101 (sent to the network) and 102 (queued) take the message, whose delivery comes later
to `/sms/africastalking/delivery` under its `messageId`; 405 (insufficient balance), 500,
501 and 502 (AT's or the gateway's trouble) are worth retrying; every other code (risk
hold, invalid sender id, invalid or unsupported number, blacklisted, could not route, do
not disturb) fails again and is final. HTTP errors: timeouts, connection errors, 5xx and
429 are retried, any other 4xx is final. A reason is a short code: never the number, nor
the text AT may quote back.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import httpx

from gateway.channels.africastalking import settings as at_settings
from storage.settings import Settings
from workers.outbound import SMS, OutboundMessage, SendError, Sent, retryable_http

NAME = at_settings.PROVIDER
TIMEOUT_SECONDS = 10.0
ACCEPTED = frozenset({100, 101, 102})
RETRY_CODES = frozenset({405, 500, 501, 502})
# What of AT's answer may go into a reason: a status word, a message id.
_WORD = re.compile(r"[A-Za-z][A-Za-z_]{0,39}")
_MESSAGE_ID = re.compile(r"[\x21-\x7e]{1,64}")


def _word(value: object) -> str | None:
    return value if isinstance(value, str) and _WORD.fullmatch(value) else None


class AfricasTalkingProvider:
    """Sends through one AT account (application), from its sender id when it has one."""

    name = NAME

    def __init__(
        self,
        *,
        username: str,
        api_key: str,
        url: str,
        sender_id: str = "",
        client: httpx.Client | None = None,
    ) -> None:
        self.username = username
        self.api_key = api_key
        self.url = url
        self.sender_id = sender_id
        self.client = client or httpx.Client(timeout=TIMEOUT_SECONDS)

    def send(self, message: OutboundMessage) -> Sent:
        form = {"username": self.username, "to": message.to, "message": message.body}
        if self.sender_id:
            form["from"] = self.sender_id
        headers = {"apiKey": self.api_key, "Accept": "application/json"}
        try:
            response = self.client.post(
                self.url, data=form, headers=headers, timeout=TIMEOUT_SECONDS
            )
        except httpx.HTTPError as exc:  # timeouts, connection errors
            raise SendError(f"africastalking {type(exc).__name__}", retry=True) from None
        if response.status_code >= 400:
            status = response.status_code
            raise SendError(f"africastalking http {status}", retry=retryable_http(status))
        sent = _recipient(_answer(response))
        if message.channel != SMS:  # AT reaches no WhatsApp: the message went by SMS
            return replace(sent, note=f"{message.channel} not reachable here: sent by SMS")
        return sent


def _answer(response: httpx.Response) -> dict[str, Any]:
    """AT's `SMSMessageData`; an answer that is not one may or may not have sent the
    message, and is retried (the outbox sends at least once, rarely twice)."""
    try:
        data = response.json()
    except ValueError:
        raise SendError("africastalking unreadable answer", retry=True) from None
    found = data.get("SMSMessageData") if isinstance(data, dict) else None
    if not isinstance(found, dict):
        raise SendError("africastalking unreadable answer", retry=True)
    return found


def _recipient(data: dict[str, Any]) -> Sent:
    recipients = data.get("Recipients")
    if not isinstance(recipients, list) or not recipients:
        # No recipient: AT refused the request as a whole ("InvalidSenderId"); its
        # `Message` may also carry the cost or the number, so only a bare word is kept.
        word = _word(data.get("Message"))
        raise SendError(f"africastalking {word or 'no recipient'}", retry=False)
    first = recipients[0]
    if not isinstance(first, dict):
        raise SendError("africastalking unreadable answer", retry=True)
    code = first.get("statusCode")
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    if not isinstance(code, int) or isinstance(code, bool):
        raise SendError("africastalking unreadable answer", retry=True)
    if code in ACCEPTED:
        found = first.get("messageId")
        provider_id = found if isinstance(found, str) and _MESSAGE_ID.fullmatch(found) else None
        return Sent(provider_id=provider_id)
    word = _word(first.get("status"))
    reason = f"africastalking status {code}" + (f" {word}" if word else "")
    raise SendError(reason, retry=code in RETRY_CODES or code >= 500)


def build(settings: Settings, *, client: httpx.Client | None = None) -> AfricasTalkingProvider:
    """The Africa's Talking sender; refused when the account settings are missing."""
    problems = at_settings.problems(settings)
    if problems:
        raise ValueError("; ".join(problems))
    return AfricasTalkingProvider(
        username=settings.at_username,
        api_key=settings.at_api_key,
        url=at_settings.messaging_url(settings),
        sender_id=settings.at_sender_id,
        client=client,
    )
