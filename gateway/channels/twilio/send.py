"""The Twilio provider: the Messages REST API, with a status callback for each message.

Twilio answers a create request at once with the message queued on its side; the delivery
comes later to `/sms/twilio/status`. Errors worth retrying: timeouts and connection
errors, 5xx and 429 (rate limited). Any other 4xx (an invalid number, error 21211; a
number that replied STOP to the carrier, 21610) will fail again and is final.

A message whose outbox channel is WhatsApp goes from `TWILIO_WHATSAPP_FROM` to
`whatsapp:+…`:

- inside the person's 24-hour window (they wrote by WhatsApp lately:
  `storage.whatsapp_window`, keyed by the pseudonym of the number, computed as the
  webhook computes it), as it is;
- outside it, as the approved template of its kind and language (`templates.py`:
  `ContentSid`, and the text as variable 1), noted on its outbox row;
- with no template for it, by SMS from `TWILIO_FROM`, noted "whatsapp window closed: sent
  by SMS"; by SMS too when TWILIO_WHATSAPP_FROM is unset, or when Twilio refuses the
  WhatsApp message for good (a 4xx: the sender not set up for WhatsApp, a template that
  does not fit), each noted with the reason.

When Redis cannot say whether the window is open, it is taken as closed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError
from requests import RequestException
from twilio.base.exceptions import TwilioRestException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from gateway.channels.twilio import settings as twilio_settings
from gateway.channels.twilio import templates
from gateway.channels.twilio.fields import WHATSAPP_PREFIX
from gateway.channels.twilio.templates import Templates
from storage import redis_connect
from storage.keys import load_crypto
from storage.settings import Settings
from storage.whatsapp_window import WhatsAppWindow
from workers.outbound import SMS, WHATSAPP, OutboundMessage, SendError, Sent, retryable_http

log = logging.getLogger(__name__)

NAME = twilio_settings.PROVIDER
TIMEOUT_SECONDS = 10.0
REDIS_TIMEOUT_SECONDS = 2.0
TWILIO_API = "https://api.twilio.com"
WINDOW_CLOSED_BY_SMS = "whatsapp window closed: sent by SMS"
WINDOW_CLOSED_TEMPLATE = "whatsapp window closed: sent as an approved template"
NO_WHATSAPP_SENDER = "no whatsapp sender (TWILIO_WHATSAPP_FROM): sent by SMS"


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


def _from(sender: str) -> dict[str, str]:
    """The sender fields of a create request: a messaging service, or a From."""
    if sender.startswith("MG"):
        return {"messaging_service_sid": sender}
    return {"from_": sender}


class WhatsApp:
    """How the Twilio provider reaches WhatsApp: the sender (`whatsapp:+…` or `MG…`), the
    templates for a closed window, the window itself, and the pseudonym of a number (the
    one the webhook keys the window by)."""

    def __init__(
        self,
        *,
        sender: str,
        window: WhatsAppWindow,
        pseudonym: Callable[[str], str],
        templates: Templates | None = None,
    ) -> None:
        self.sender = sender
        self.window = window
        self.pseudonym = pseudonym
        self.templates = templates or Templates()

    def is_open(self, e164: str) -> bool:
        """Whether a free-form message reaches the number now (closed when Redis cannot
        say: a template or an SMS reaches them either way)."""
        try:
            return self.window.is_open(self.pseudonym(e164))
        except RedisError as exc:
            log.warning("whatsapp window not read (%s): taken as closed", type(exc).__name__)
            return False


class TwilioProvider:
    """Sends through one account, from a number or a messaging service (`MG…`); by
    WhatsApp too when it is given a `WhatsApp`."""

    name = NAME

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        sender: str,
        status_callback: str,
        http_client: HttpClient | None = None,
        whatsapp: WhatsApp | None = None,
    ) -> None:
        self.client = Client(
            account_sid,
            auth_token,
            http_client=http_client or TwilioHttpClient(timeout=TIMEOUT_SECONDS),
        )
        self.sender = sender
        self.status_callback = status_callback
        self.whatsapp = whatsapp

    @property
    def channels(self) -> frozenset[str]:
        """SMS, and WhatsApp when a WhatsApp sender is configured."""
        return frozenset({SMS, WHATSAPP}) if self.whatsapp is not None else frozenset({SMS})

    def _create(self, **fields: str) -> str:
        """Create one message; Twilio's id for it, or SendError."""
        try:
            created = self.client.messages.create(status_callback=self.status_callback, **fields)
        except TwilioRestException as exc:
            # The exception's text may quote the number: keep only status and error code.
            reason = f"twilio http {exc.status}" + (f" error {exc.code}" if exc.code else "")
            raise SendError(reason, retry=retryable_http(exc.status)) from None
        except RequestException as exc:
            raise SendError(f"twilio {type(exc).__name__}", retry=True) from None
        return str(created.sid)

    def _sms(self, message: OutboundMessage, note: str | None = None) -> Sent:
        sid = self._create(to=message.to, body=message.body, **_from(self.sender))
        return Sent(provider_id=sid, channel=SMS, note=note)

    def send(self, message: OutboundMessage) -> Sent:
        if message.channel != WHATSAPP:
            return self._sms(message)
        if self.whatsapp is None:
            return self._sms(message, NO_WHATSAPP_SENDER)
        return self._whatsapp(message, self.whatsapp)

    def _whatsapp(self, message: OutboundMessage, whatsapp: WhatsApp) -> Sent:
        """In the window as it is, else as a template, else by SMS (see the module)."""
        fields = {"to": WHATSAPP_PREFIX + message.to, **_from(whatsapp.sender)}
        note = None
        if whatsapp.is_open(message.to):
            fields["body"] = message.body
        else:
            sid = whatsapp.templates.content_sid(message.kind, message.language)
            if sid is None:
                return self._sms(message, WINDOW_CLOSED_BY_SMS)
            fields |= {"content_sid": sid, "content_variables": templates.variables(message.body)}
            note = WINDOW_CLOSED_TEMPLATE
        try:
            provider_id = self._create(**fields)
        except SendError as exc:
            if exc.retry:
                raise
            return self._sms(message, f"whatsapp refused ({exc.reason}): sent by SMS")
        return Sent(provider_id=provider_id, channel=WHATSAPP, note=note)


def http_client(settings: Settings) -> HttpClient:
    """The HTTP layer for `TWILIO_API_URL`, with the send timeout."""
    if settings.twilio_api_url == TWILIO_API:
        return TwilioHttpClient(timeout=TIMEOUT_SECONDS)
    return RebasedHttpClient(settings.twilio_api_url, timeout=TIMEOUT_SECONDS)


def whatsapp(settings: Settings) -> WhatsApp | None:
    """How to reach WhatsApp with these settings; None without TWILIO_WHATSAPP_FROM."""
    sender = twilio_settings.whatsapp_sender(settings)
    if not sender:
        log.info("TWILIO_WHATSAPP_FROM is unset: messages meant for WhatsApp go by SMS")
        return None
    if not settings.redis_url:
        raise ValueError("sending by WhatsApp reads the 24-hour window in Redis: REDIS_URL first")
    client = redis_connect.connect(
        settings.redis_url,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
    )
    return WhatsApp(
        sender=sender,
        window=WhatsAppWindow(client),
        pseudonym=load_crypto(settings).pseudonym,
        templates=templates.load(settings.twilio_whatsapp_templates),
    )


def build(settings: Settings) -> TwilioProvider:
    """The Twilio sender; refused when the account settings are missing or the WhatsApp
    settings cannot be used (the templates file among them)."""
    problems = twilio_settings.problems(settings)
    if problems:
        raise ValueError("; ".join(problems))
    return TwilioProvider(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        sender=settings.twilio_from,
        status_callback=twilio_settings.status_callback(settings),
        http_client=http_client(settings),
        whatsapp=whatsapp(settings),
    )
