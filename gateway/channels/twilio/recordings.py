"""Twilio's recordings: a caller's spoken answer fetched from the account, then deleted.

A `<Record>` ends with `RecordingUrl` (``https://api.twilio.com/2010-04-01/Accounts/AC…/
Recordings/RE…``, no extension) and `RecordingSid`. The audio is that URL with `.mp3`
(`audio/mpeg`), fetched with the account's credentials (basic auth: account sid and auth
token; Twilio may require them for media, and they are only ever sent to this account's
own recordings on `TWILIO_API_URL`). The copy is then deleted: `DELETE …/Recordings/
RE….json`, answered 204; a 404 means it is gone already. Right after a recording ends its
file may not be ready: a 404 on the download is tried again, as are timeouts, connection
errors, 5xx and 429; any other 4xx is final. A redirect is not followed: a 3xx is a
final failure (the account's credentials go to api.twilio.com and nowhere else). Reasons
are short codes: never the URL, the account, or what Twilio quoted back.
"""

from __future__ import annotations

import re

import httpx

from gateway.channels.twilio import settings as twilio_settings
from storage.recordings import TWILIO_HOST
from storage.settings import Settings
from workers.outbound import retryable_http
from workers.recorders import TIMEOUT_SECONDS, Downloaded, FetchError, Source, download_audio

NAME = twilio_settings.PROVIDER
API_VERSION = "2010-04-01"
OK = 200
REDIRECT = 300
NOT_FOUND = 404
_SID = re.compile(r"RE[0-9a-f]{32}")


class TwilioRecorder:
    """Fetches and deletes recordings of one account."""

    name = NAME

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        api_url: str = "https://" + TWILIO_HOST,
        client: httpx.Client | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.auth = (account_sid, auth_token)
        self.base = api_url.rstrip("/")
        self.client = client or httpx.Client(timeout=TIMEOUT_SECONDS)

    def recording_url(self, sid: str) -> str:
        """The account's recording resource (without an extension)."""
        return f"{self.base}/{API_VERSION}/Accounts/{self.account_sid}/Recordings/{sid}"

    def _sid(self, source: Source) -> str:
        """The recording's sid, once the URL is known to be one of this account's."""
        own = f"https://{TWILIO_HOST}/{API_VERSION}/Accounts/{self.account_sid}/Recordings/"
        sid = source.provider_id or source.url.rsplit("/", 1)[-1]
        if not _SID.fullmatch(sid) or source.url != own + sid:
            raise FetchError("twilio recording of another account", retry=False)
        return sid

    def download(self, source: Source) -> Downloaded:
        url = self.recording_url(self._sid(source)) + ".mp3"
        return download_audio(self.client, url, provider=NAME, auth=self.auth)

    def delete(self, source: Source) -> bool:
        url = self.recording_url(self._sid(source)) + ".json"
        try:
            answer = self.client.delete(
                url, auth=self.auth, timeout=TIMEOUT_SECONDS, follow_redirects=False
            )
        except httpx.HTTPError as exc:
            raise FetchError(f"twilio {type(exc).__name__}", retry=True) from None
        status = answer.status_code
        if OK <= status < REDIRECT or status == NOT_FOUND:
            return True
        retry = httpx.codes.is_error(status) and retryable_http(status)
        raise FetchError(f"twilio http {status}", retry=retry)


def build(settings: Settings, *, client: httpx.Client | None = None) -> TwilioRecorder | None:
    """The recorder of the account; None without its sid and token (no Twilio calls)."""
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        return None
    return TwilioRecorder(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token,
        api_url=settings.twilio_api_url,
        client=client,
    )
