"""What the workers hand a voice provider to fetch a spoken answer, and what they hear back.

The providers themselves live in `gateway/channels/<provider>/recordings.py`; the worker
process is given them as `Recorders` when it starts (as it is given its senders), so
nothing here knows one provider from another. The job is `workers.recordings.fetch`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

import httpx

from storage.recordings import Source
from workers.outbound import retryable_http

__all__ = ["Downloaded", "FetchError", "Recorder", "Recorders", "Source", "download_audio"]

TIMEOUT_SECONDS = 30.0
MAX_BYTES = 16 * 1024 * 1024  # a recording is at most minutes of speech
NOT_FOUND = 404


@dataclass(frozen=True, slots=True)
class Downloaded:
    """The audio a provider gave, and its type (`audio/mpeg`, `audio/wav`)."""

    content: bytes
    content_type: str


class FetchError(Exception):
    """The provider did not give (or delete) the recording.

    `retry` says whether trying again later can help. `reason` is a short code for the row
    and the logs: never the URL, an id of the account, or anything the provider quoted.
    """

    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


class Recorder(Protocol):
    """One provider's recordings: download one, delete the provider's copy.

    `delete` returns True once the copy is gone (or was already), False when the provider
    offers no way to delete one; it raises FetchError when the deletion failed."""

    name: str

    def download(self, source: Source) -> Downloaded: ...

    def delete(self, source: Source) -> bool: ...


class Recorders:
    """The recorder of each voice provider, by provider name."""

    def __init__(self, by_provider: Mapping[str, Recorder] | None = None) -> None:
        self._by_provider = dict(by_provider or {})

    def get(self, provider: str) -> Recorder | None:
        return self._by_provider.get(provider)

    def __iter__(self) -> Iterator[Recorder]:
        return iter(self._by_provider.values())

    def __len__(self) -> int:
        return len(self._by_provider)


def download_audio(
    client: httpx.Client,
    url: str | httpx.URL,
    *,
    provider: str,
    auth: httpx.Auth | tuple[str, str] | None = None,
) -> Downloaded:
    """GET a recording's audio, following no redirect (a 3xx is final: its target is not
    where the provider's credentials, or the worker, may go). A 5xx, a 429, a timeout and
    a 404 (the file not written yet) may pass if tried again; a body over MAX_BYTES never."""
    try:
        with client.stream(
            "GET", url, auth=auth, timeout=TIMEOUT_SECONDS, follow_redirects=False
        ) as got:
            status = got.status_code
            if not httpx.codes.is_success(status):
                retry = httpx.codes.is_error(status) and (
                    retryable_http(status) or status == NOT_FOUND
                )
                raise FetchError(f"{provider} http {status}", retry=retry)
            chunks: list[bytes] = []
            size = 0
            for chunk in got.iter_bytes():
                size += len(chunk)
                if size > MAX_BYTES:
                    raise FetchError(f"{provider} audio too large", retry=False)
                chunks.append(chunk)
    except httpx.HTTPError as exc:  # timeouts, connection errors
        raise FetchError(f"{provider} {type(exc).__name__}", retry=True) from None
    return Downloaded(content=b"".join(chunks), content_type=got.headers.get("content-type", ""))
