"""What the workers hand a voice provider to fetch a spoken answer, and what they hear back.

The providers themselves live in `gateway/channels/<provider>/recordings.py`; the worker
process is given them as `Recorders` when it starts (as it is given its senders), so
nothing here knows one provider from another. The job is `workers.recordings.fetch`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from storage.recordings import Source

__all__ = ["Downloaded", "FetchError", "Recorder", "Recorders", "Source"]


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
