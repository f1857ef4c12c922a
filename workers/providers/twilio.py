"""The Twilio provider: the Messages REST API, with a status callback for each message.

Twilio answers a create request at once with the message queued on its side; the delivery
comes later to `/sms/twilio/status`. Errors worth retrying: timeouts and connection
errors, 5xx and 429 (rate limited). Any other 4xx (an invalid number, error 21211; a
number that replied STOP to the carrier, 21610) will fail again and is final.
"""

from __future__ import annotations

from requests import RequestException
from twilio.base.exceptions import TwilioRestException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from storage.settings import Settings
from workers.providers import SendError, Sent

NAME = "twilio"
TIMEOUT_SECONDS = 10.0
STATUS_CALLBACK_PATH = "/sms/twilio/status"
TOO_MANY_REQUESTS = 429


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

    def send(
        self, *, to: str, body: str, kind: str | None = None, to_reporter: bool = True
    ) -> Sent:
        try:
            message = self.client.messages.create(
                to=to, body=body, status_callback=self.status_callback, **self._sender()
            )
        except TwilioRestException as exc:
            # The exception's text may quote the number: keep only status and error code.
            reason = f"twilio http {exc.status}" + (f" error {exc.code}" if exc.code else "")
            raise SendError(reason, retry=_retryable(exc.status)) from None
        except RequestException as exc:
            raise SendError(f"twilio {type(exc).__name__}", retry=True) from None
        return Sent(provider_id=message.sid)


def build(settings: Settings) -> TwilioProvider:
    if not (settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from):
        raise ValueError(
            "SAUTI_SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM"
        )
    return TwilioProvider(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        sender=settings.twilio_from,
        status_callback=settings.sauti_public_url.rstrip("/") + STATUS_CALLBACK_PATH,
    )
