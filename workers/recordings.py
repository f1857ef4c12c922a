"""Fetching spoken answers: the audio from the provider into the encrypted store, then the
provider's copy deleted.

`fetch(ref)` is enqueued once `storage.recordings.accept` is committed (`enqueue_fetch`).
It claims the recording (one attempt, under a lease), downloads it through the
provider's `Recorder` outside any transaction, stores it encrypted, then asks the
provider to delete its copy. A failure worth retrying (a timeout, a 5xx, a 429, a file the
provider is still writing) schedules the job again after a backoff; after
`storage.recordings.MAX_ATTEMPTS`, or on an error that will not mend, a download is
FAILED and a deletion given up on (said so on the row). A provider with no way to delete
a recording (Africa's Talking) says so, and the row records that its copy stays.

The recorders are handed in by whoever starts the worker, as the senders are
(`gateway.channels.registry.recorders`): this package knows no provider. Nothing here
logs a URL or a byte of audio.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator
from datetime import datetime

import redis

from storage import recordings
from storage.db import utcnow
from storage.recordings import Source
from workers import context, queues
from workers.recorders import FetchError, Recorder

log = logging.getLogger(__name__)

QUEUE = queues.MAINTENANCE
NO_RECORDER = "no recorder for this provider"
NOT_AUDIO = "not audio"
TOO_LARGE = "audio too large"
# HTTP client libraries log each request's URL (httpx at INFO); a recording's URL is a key
# to its audio, so their lines are dropped while a recorder works.
HTTP_LOGGERS = ("httpx", "httpcore")
_quiet = contextvars.ContextVar("recording_http_quiet", default=False)


class _QuietWhileFetching(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _quiet.get()


_FILTER = _QuietWhileFetching()
for _name in HTTP_LOGGERS:
    logging.getLogger(_name).addFilter(_FILTER)


@contextlib.contextmanager
def _no_url_logged() -> Iterator[None]:
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


AUDIO_TYPES = {
    "audio/mpeg": "audio/mpeg",
    "audio/mp3": "audio/mpeg",
    "audio/wav": "audio/wav",
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
}


def audio_type(declared: str | None, content: bytes) -> str | None:
    """The type to serve the audio as: what the provider declared when it is audio we
    play, else what the bytes look like (MP3, WAV), else None."""
    found = AUDIO_TYPES.get((declared or "").split(";")[0].strip().lower())
    if found is not None:
        return found
    if content.startswith(b"ID3") or content[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    if content.startswith(b"RIFF") and content[8:12] == b"WAVE":
        return "audio/wav"
    return None


def enqueue_fetch(ref: str, *, connection: redis.Redis) -> bool:
    """Enqueue the fetch of a recording; call it after `accept` is committed. False when
    Redis is out of reach: `enqueue_due` (the sweep) finds the recording later."""
    return queues.enqueue(QUEUE, fetch, ref, connection=connection)


def enqueue_due(*, now: datetime | None = None, limit: int = 100) -> int:
    """Enqueue the fetch of every recording with work left and none scheduled (a lost
    job, a retry whose job did not make it); return how many."""
    ctx = context.current()
    with ctx.sessions() as session:
        refs = recordings.due_refs(session=session, now=now or utcnow(), limit=limit)
    for ref in refs:
        enqueue_fetch(ref, connection=ctx.redis)
    return len(refs)


def fetch(ref: str, *, now: datetime | None = None) -> str:
    """Move one recording on: download and store it, then delete the provider's copy.
    Return what happened ("stored", "deleted", "kept", "retry", "failed", "nothing")."""
    ctx = context.current()
    at = now or utcnow()
    with ctx.sessions.begin() as session:
        work = recordings.claim(session=session, crypto=ctx.crypto, ref=ref, now=at)
    if work is None:
        return "nothing"
    recorder = ctx.recorders.get(work.source.provider)
    if recorder is None:
        return _failed(ref, FetchError(NO_RECORDER, retry=False), at)
    if work.download:
        outcome = _download(recorder, work.source, at)
        if outcome != "stored":
            return outcome
        with ctx.sessions.begin() as session:
            work = recordings.claim(session=session, crypto=ctx.crypto, ref=ref, now=at)
        if work is None:
            return "stored"
    return _delete(recorder, work.source, at)


def _download(recorder: Recorder, source: Source, at: datetime) -> str:
    ctx = context.current()
    try:
        with _no_url_logged():
            got = recorder.download(source)
        kind = audio_type(got.content_type, got.content)
        if not got.content or kind is None:
            raise FetchError(NOT_AUDIO, retry=False)
        if len(got.content) > recordings.MAX_AUDIO_BYTES:
            raise FetchError(TOO_LARGE, retry=False)
    except FetchError as exc:
        return _failed(source.ref, exc, at)
    with ctx.sessions.begin() as session:
        stored = recordings.store(
            session=session,
            crypto=ctx.crypto,
            ref=source.ref,
            content=got.content,
            content_type=kind,
            now=at,
        )
    log.info("recording %s stored (%d bytes)", source.ref, len(got.content))
    return "stored" if stored else "nothing"


def _delete(recorder: Recorder, source: Source, at: datetime) -> str:
    ctx = context.current()
    try:
        with _no_url_logged():
            deleted = recorder.delete(source)
    except FetchError as exc:
        return _failed(source.ref, exc, at)
    note = None if deleted else f"{recorder.name} offers no deletion"
    with ctx.sessions.begin() as session:
        recordings.provider_copy_done(
            session=session, ref=source.ref, deleted=deleted, note=note, now=at
        )
    if not deleted:
        log.warning("recording %s: the provider's copy stays (%s)", source.ref, note)
    return "deleted" if deleted else "kept"


def _failed(ref: str, exc: FetchError, at: datetime) -> str:
    ctx = context.current()
    with ctx.sessions.begin() as session:
        if exc.retry:
            when = recordings.retry_later(session=session, ref=ref, reason=exc.reason, now=at)
        else:
            recordings.fail(session=session, ref=ref, reason=exc.reason)
            when = None
    if when is not None:
        queues.enqueue_at(when, QUEUE, fetch, ref, connection=ctx.redis)
        log.info("recording %s: %s, tried again at %s", ref, exc.reason, when.isoformat())
        return "retry"
    log.warning("recording %s: %s, given up", ref, exc.reason)
    return "failed"
