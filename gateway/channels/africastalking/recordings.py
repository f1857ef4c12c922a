"""Africa's Talking's recordings: a caller's spoken answer fetched from its URL.

A `<Record>` ends with a later callback whose `recordingUrl` holds the MP3 (empty when
nothing was recorded). The file is fetched as it is, without credentials (AT's voice
documentation names none for it, and none are sent to a host a callback named).

AT signs no callback (a token in its URL is the only guard), so the URL is checked again
here before anything is sent: https, on africastalking.com or a subdomain of it, no user
info, no other port, no address for a host (`storage.recordings.check_url`, as when it was
accepted). A redirect is never followed: a 3xx is a final failure, since its target could
be anywhere, an internal address included. Timeouts, connection errors, 5xx, 429 and a
404 (the file not written yet) are tried again; any other 4xx is final.

AT's voice API documents no way to delete a recording: `delete` says so (False), and the
row records that the provider's copy stays (docs/voice.md says what an operator does about
it). Reasons are short codes, never the URL.
"""

from __future__ import annotations

import httpx

from gateway.channels.africastalking import settings as at_settings
from storage import recordings
from storage.settings import Settings
from workers.recorders import TIMEOUT_SECONDS, Downloaded, FetchError, Source, download_audio

NAME = at_settings.PROVIDER


class AfricasTalkingRecorder:
    """Fetches recordings by their URL; cannot delete them."""

    name = NAME

    def __init__(self, *, client: httpx.Client | None = None) -> None:
        self.client = client or httpx.Client(timeout=TIMEOUT_SECONDS)

    def download(self, source: Source) -> Downloaded:
        return download_audio(self.client, _checked(source.url), provider=NAME)

    def delete(self, source: Source) -> bool:
        """AT offers no deletion of a recording: the copy stays with AT."""
        return False


def _checked(url: str) -> httpx.URL:
    """The URL to fetch, once it is one of Africa's Talking's (as the client reads it, too:
    the host httpx would reach is the one that was checked)."""
    try:
        recordings.check_url(recordings.AFRICASTALKING, url)
        parsed = httpx.URL(url)
    except (recordings.InvalidRecording, httpx.InvalidURL):
        raise FetchError("africastalking not its recording URL", retry=False) from None
    if parsed.scheme != "https" or parsed.userinfo or parsed.port not in (None, 443):
        raise FetchError("africastalking not its recording URL", retry=False)
    if not recordings.is_africastalking_host(parsed.host):
        raise FetchError("africastalking not its recording URL", retry=False)
    return parsed


def build(settings: Settings, *, client: httpx.Client | None = None) -> AfricasTalkingRecorder:
    """The recorder (AT needs no settings to fetch a recording's URL)."""
    return AfricasTalkingRecorder(client=client)
