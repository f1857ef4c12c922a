"""The Twilio provider: the Messages REST API, with a status callback for each message.

Twilio answers a create request at once with the message queued on its side; the delivery
comes later to `/sms/twilio/status`. Errors worth retrying: timeouts and connection
errors, 5xx and 429 (rate limited). Any other 4xx (an invalid number, error 21211; a
number that replied STOP to the carrier, 21610) will fail again and is final.
"""

from __future__ import annotations

from typing import Any

from requests import RequestException
from twilio.base.exceptions import TwilioRestException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from gateway.channels.twilio import settings as twilio_settings
from storage.settings import Settings
from workers.outbound import OutboundMessage, SendError, Sent

NAME = twilio_settings.PROVIDER
TIMEOUT_SECONDS = 10.0
TOO_MANY_REQUESTS = 429
TWILIO_API = "https://api.twilio.com"


class RebasedHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """The twilio client's HTTP layer with `TWILIO_API_URL` in place of api.twilio.com (a
    regional edge, a proxy, or a test server on this machine)."""

    def __init__(self, base: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base = base.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith(TWILIO_API):
            url = self.base + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


def _retryable(status: int) -> bool:
    return status >= 500 or status == TOO_MANY_REQUESTS


class TwilioProvider:
    """Sends through one account, from a number or a messaging service (`MG…`)."""

    name = NAME

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        sender: str,
        status_callback: str,
        http_client: HttpClient | None = None,
    ) -> None:
        self.client = Client(
            account_sid,
            auth_token,
            http_client=http_client or TwilioHttpClient(timeout=TIMEOUT_SECONDS),
        )
        self.sender = sender
        self.status_callback = status_callback

    def _sender(self) -> dict[str, str]:
        if self.sender.startswith("MG"):
            return {"messaging_service_sid": self.sender}
        return {"from_": self.sender}

    def send(self, message: OutboundMessage) -> Sent:
        try:
            created = self.client.messages.create(
                to=message.to,
                body=message.body,
                status_callback=self.status_callback,
                **self._sender(),
            )
        except TwilioRestException as exc:
            # The exception's text may quote the number: keep only status and error code.
            reason = f"twilio http {exc.status}" + (f" error {exc.code}" if exc.code else "")
            raise SendError(reason, retry=_retryable(exc.status)) from None
        except RequestException as exc:
            raise SendError(f"twilio {type(exc).__name__}", retry=True) from None
        return Sent(provider_id=created.sid)


def http_client(settings: Settings) -> HttpClient:
    """The HTTP layer for `TWILIO_API_URL`, with the send timeout."""
    if settings.twilio_api_url == TWILIO_API:
        return TwilioHttpClient(timeout=TIMEOUT_SECONDS)
    return RebasedHttpClient(settings.twilio_api_url, timeout=TIMEOUT_SECONDS)


def build(settings: Settings) -> TwilioProvider:
    """The Twilio sender; refused when the account settings are missing."""
    problems = twilio_settings.problems(settings)
    if problems:
        raise ValueError("; ".join(problems))
    return TwilioProvider(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        sender=settings.twilio_from,
        status_callback=twilio_settings.status_callback(settings),
        http_client=http_client(settings),
    )
