"""Africa's Talking's recordings: a caller's spoken answer fetched from its URL.

A `<Record>` ends with a later callback whose `recordingUrl` holds the MP3 (empty when
nothing was recorded). The file is fetched as it is, without credentials (AT's voice
documentation names none for it, and none are sent to a host a callback named).
Timeouts, connection errors, 5xx, 429 and a 404 (the file not written yet) are tried
again; any other 4xx is final.

AT's voice API documents no way to delete a recording: `delete` says so (False), and the
row records that the provider's copy stays. Reasons are short codes, never the URL.
"""

from __future__ import annotations

import httpx

from gateway.channels.africastalking import settings as at_settings
from storage.settings import Settings
from workers.outbound import retryable_http
from workers.recorders import Downloaded, FetchError, Source

NAME = at_settings.PROVIDER
TIMEOUT_SECONDS = 30.0
MAX_BYTES = 16 * 1024 * 1024
NOT_FOUND = 404


class AfricasTalkingRecorder:
    """Fetches recordings by their URL; cannot delete them."""

    name = NAME

    def __init__(self, *, client: httpx.Client | None = None) -> None:
        self.client = client or httpx.Client(timeout=TIMEOUT_SECONDS)

    def download(self, source: Source) -> Downloaded:
        if not source.url.startswith("https://"):
            raise FetchError("africastalking not an https URL", retry=False)
        try:
            with self.client.stream(
                "GET", source.url, timeout=TIMEOUT_SECONDS, follow_redirects=True
            ) as got:
                if got.status_code >= 400:
                    status = got.status_code
                    retry = retryable_http(status) or status == NOT_FOUND
                    raise FetchError(f"africastalking http {status}", retry=retry)
                content = _read(got)
        except httpx.HTTPError as exc:  # timeouts, connection errors
            raise FetchError(f"africastalking {type(exc).__name__}", retry=True) from None
        return Downloaded(content=content, content_type=got.headers.get("content-type", ""))

    def delete(self, source: Source) -> bool:
        """AT offers no deletion of a recording: the copy stays with AT."""
        return False


def _read(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_BYTES:
            raise FetchError("africastalking audio too large", retry=False)
        chunks.append(chunk)
    return b"".join(chunks)


def build(settings: Settings, *, client: httpx.Client | None = None) -> AfricasTalkingRecorder:
    """The recorder (AT needs no settings to fetch a recording's URL)."""
    return AfricasTalkingRecorder(client=client)
