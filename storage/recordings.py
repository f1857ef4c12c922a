"""Spoken answers of the voice line: taken from the provider, kept encrypted, linked to the
case they describe, listened to only through an audited read, erased by retention.

A voice can identify a person, so a recording is handled like a description and more:

- `accept` (the provider's webhook, when a caller finished recording) checks the URL the
  provider gave, keeps it encrypted (whoever holds it may fetch the audio) and returns a
  fresh random `ref`; the flows keep ``[spoken answer <ref>]`` as the free-text answer,
  so the description holds the ref and never the audio.
- the fetch job (`workers.recordings.fetch`) downloads the audio, stores it encrypted with
  the key that encrypts descriptions, and asks the provider to delete its copy.
- `link` (called by `storage.cases` when a report is filed, or information added, on any
  channel) ties each ref of the text to the case, but only a recording made by the
  person who wrote the text: `accept` keeps the caller's pseudonym as the row's `owner`
  until then, so a ref typed by someone else links nothing.
- `listen` is the one way out of the store: it decrypts the audio and writes an audit
  entry in the same transaction. `stored_audio` (for tests and checks) writes none and is
  not for serving.
- `erase_for_cases` and `erase_unlinked` (retention) drop the audio, the URL and the owner.

Functions add and flush but never commit: the caller owns the transaction.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from flows.voice import SPOKEN_PREFIX
from storage.db import expire_loaded
from storage.models import CallRecording, Provider, RecordingStatus
from storage.privacy import Crypto, is_pseudonym
from storage.users import audit

REF_BYTES = 9  # 12 URL-safe characters, 72 random bits
_REF = re.compile(r"[A-Za-z0-9_-]{12}")
_SPOKEN = re.compile(re.escape(SPOKEN_PREFIX) + r"([A-Za-z0-9_-]{12})\]")
SPOKEN_LABEL = "Spoken answer (recording)"
MAX_URL = 2048
MAX_PROVIDER_ID = 64
MAX_DURATION_SECONDS = 3600
MAX_AUDIO_BYTES = 16 * 1024 * 1024
MAX_ATTEMPTS = 6
# How long a fetch job holds a recording before another may take it (a job that died).
LEASE = timedelta(minutes=10)
# Wait before attempt 2, 3, …: the provider still finishing the file, then an outage.
BACKOFF = (
    timedelta(seconds=15),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
)
LISTEN = "recording.listen"
ERASE = "retention.recordings"
RETENTION_ACTOR = "system:retention"
TWILIO = Provider.TWILIO.value
AFRICASTALKING = Provider.AFRICASTALKING.value
VOICE_PROVIDERS = frozenset({TWILIO, AFRICASTALKING})
_TWILIO_SID = re.compile(r"RE[0-9a-f]{32}")
_TWILIO_PATH = re.compile(r"/2010-04-01/Accounts/AC[0-9a-f]{32}/Recordings/(RE[0-9a-f]{32})")
_AT_ID = re.compile(r"[\x21-\x7e]{1,64}")
_HOST = re.compile(r"[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)+")
TWILIO_HOST = "api.twilio.com"
# Africa's Talking's recordingUrl: its docs (docs.africastalking.com/voice/record) say the
# recorded file's URL comes in `recordingUrl` and name no host, and no other domain of
# AT's is documented for it; the URLs AT sends are on voice.africastalking.com. Only
# africastalking.com and its subdomains are fetched: the callback is not signed, so a URL
# anywhere else would have the worker fetch whatever it names.
AT_DOMAIN = "africastalking.com"
HTTPS_PORT = 443
# A recording no case took is erased this long after a draft made with it could expire
# were it never touched again (SAUTI_DRAFT_TTL): every hop of a conversation renews its
# draft, and a limit reached keeps it longer, so a draft can hold a ref well past one TTL.
UNLINKED_GRACE = timedelta(days=7)


class InvalidRecording(ValueError):
    """What a webhook gave is not a recording this store takes (a short reason, no URL)."""


@dataclass(frozen=True, slots=True)
class Source:
    """Where a recording is, for the fetch job: the provider, its id, the URL in clear."""

    ref: str
    provider: str
    provider_id: str | None
    url: str


@dataclass(frozen=True, slots=True)
class Work:
    """What the fetch job is to do next with a recording: fetch it or delete the
    provider's copy; `attempts` counts this one."""

    source: Source
    download: bool
    attempts: int


@dataclass(frozen=True, slots=True)
class Listing:
    """A case's recording as the console lists it: no URL, no audio."""

    ref: str
    status: str
    duration_seconds: int | None
    content_type: str | None


@dataclass(frozen=True, slots=True)
class Audio:
    content: bytes
    content_type: str


def is_ref(text: str) -> bool:
    return bool(_REF.fullmatch(text))


def spoken_text(ref: str) -> str:
    """The free-text answer the flows keep for a spoken one."""
    return f"{SPOKEN_PREFIX}{ref}]"


def spoken_refs(text: str | None) -> list[str]:
    """The refs of the spoken answers in a text, in order, each once."""
    return list(dict.fromkeys(_SPOKEN.findall(text or "")))


def readable(text: str | None) -> str | None:
    """A text with each spoken answer's token said as `SPOKEN_LABEL`."""
    return None if text is None else _SPOKEN.sub(SPOKEN_LABEL, text)


def _port(url: str) -> int | None:
    """The URL's explicit port (None: the scheme's); InvalidRecording when it is no port."""
    try:
        return urlsplit(url).port
    except ValueError:
        raise InvalidRecording("not a port") from None


def _check_twilio(url: str, provider_id: str | None) -> str:
    parts = urlsplit(url)
    found = _TWILIO_PATH.fullmatch(parts.path)
    if parts.hostname != TWILIO_HOST or _port(url) is not None or found is None:
        raise InvalidRecording("not a Twilio recording URL")
    if parts.query or parts.fragment:
        raise InvalidRecording("not a Twilio recording URL")
    if provider_id is not None and provider_id != found[1]:
        raise InvalidRecording("the recording sid is not the URL's")
    return found[1]


def is_africastalking_host(host: str) -> bool:
    """Whether `host` is Africa's Talking's domain or one of its subdomains."""
    return host == AT_DOMAIN or host.endswith("." + AT_DOMAIN)


def _check_africastalking(url: str) -> None:
    parts = urlsplit(url)
    if not is_africastalking_host(parts.hostname or "") or _port(url) not in (None, HTTPS_PORT):
        raise InvalidRecording("not an Africa's Talking recording URL")


def _check_https(url: str) -> None:
    parts = urlsplit(url)
    host = parts.hostname or ""
    # No user info at all (not even an empty one), and no backslash, which some parsers
    # take for a slash: what is checked here is the host the worker will reach.
    if parts.scheme != "https" or "@" in parts.netloc or "\\" in url:
        raise InvalidRecording("not an https URL")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise InvalidRecording("an address, not a host name")
    if not _HOST.fullmatch(host) or host.endswith((".localhost", ".local", ".internal")):
        raise InvalidRecording("not a public host name")


def check_url(provider: str, url: str) -> None:
    """Refuse (InvalidRecording) a URL that is not where `provider` keeps recordings:
    Twilio's API host, or Africa's Talking's domain; https, no user info, no other port."""
    _check_https(url)
    if provider == TWILIO:
        _check_twilio(url, None)
    elif provider == AFRICASTALKING:
        _check_africastalking(url)
    else:
        raise InvalidRecording("not a voice provider")


def _checked(provider: str, provider_id: str | None, url: str, duration: int | None) -> str | None:
    """The provider id to keep; InvalidRecording when something does not fit."""
    if provider not in VOICE_PROVIDERS:
        raise InvalidRecording("not a voice provider")
    if not url or len(url) > MAX_URL or not url.isascii() or any(c.isspace() for c in url):
        raise InvalidRecording("no usable URL")
    if duration is not None and not 0 <= duration <= MAX_DURATION_SECONDS:
        raise InvalidRecording("duration out of bounds")
    if provider_id is not None and not provider_id:
        provider_id = None
    check_url(provider, url)
    if provider == TWILIO:
        if provider_id is not None and not _TWILIO_SID.fullmatch(provider_id):
            raise InvalidRecording("not a Twilio recording sid")
        return _check_twilio(url, provider_id)
    if provider_id is not None and not _AT_ID.fullmatch(provider_id):
        raise InvalidRecording("not a provider id")
    return provider_id


def _dedupe_key(crypto: Crypto, provider: str, provider_id: str | None, url: str) -> str:
    """A keyed hash of the recording's identity: its id when the provider gives one, else
    its URL (kept only as this hash and encrypted)."""
    identity = f"recording:{provider}:" + (f"id:{provider_id}" if provider_id else f"url:{url}")
    return crypto.pseudonym(identity)


def accept(
    *,
    session: Session,
    crypto: Crypto,
    provider: str,
    provider_id: str | None,
    url: str,
    duration_seconds: int | None,
    now: datetime,
    owner: str,
) -> str:
    """Take a finished recording the provider announced; return its ref.

    `url` is where the provider keeps the audio: Twilio's RecordingUrl
    (``https://api.twilio.com/2010-04-01/Accounts/AC…/Recordings/RE…``, whose RE… must be
    `provider_id` when given), or Africa's Talking's recordingUrl (https, on
    africastalking.com or a subdomain of it). It is kept encrypted. `owner` is the
    caller's pseudonym, exactly as reports keep it (`Case.pseudonym`): only a report or
    information from that pseudonym links the recording. The same recording announced
    again (the same provider id, or, without one, the same URL) returns the ref it got the
    first time. Raise InvalidRecording when the provider, the URL, the id, the duration or
    the owner does not fit. Enqueue `workers.recordings.fetch(ref)` once the transaction
    is committed.
    """
    url = url.strip()
    if not is_pseudonym(owner):
        raise InvalidRecording("the owner is not a pseudonym")
    provider_id = _checked(provider, provider_id, url, duration_seconds)
    key = _dedupe_key(crypto, provider, provider_id, url)
    earlier = session.scalar(select(CallRecording.ref).where(CallRecording.dedupe_key == key))
    if earlier is not None:
        return earlier
    row = CallRecording(
        ref=secrets.token_urlsafe(REF_BYTES),
        owner=owner,
        provider=provider,
        provider_id=provider_id,
        dedupe_key=key,
        url_enc=crypto.encrypt(url),
        status=RecordingStatus.PENDING,
        duration_seconds=duration_seconds,
        attempts=0,
        created_at=now,
    )
    try:
        # A savepoint: the same webhook in another process may insert it between the
        # look-up and here; then its row stands and this one is dropped.
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        earlier = session.scalar(select(CallRecording.ref).where(CallRecording.dedupe_key == key))
        if earlier is None:
            raise
        return earlier
    return row.ref


def link(*, session: Session, case_id: int, text: str | None, owner: str, channel: str) -> int:
    """Tie to the case each recording whose ref `text` holds, made by `owner` (the
    pseudonym of who wrote the text) and tied to no case yet; return how many were. The
    channel does not matter: a draft begun by voice may be sent by USSD or SMS. A ref typed
    by anyone else links nothing. Once linked, the row's owner is dropped (the case holds
    who made the report; retention replaces it there)."""
    refs = spoken_refs(text)
    if not refs:
        return 0
    mine = CallRecording.owner == owner
    statement = (
        update(CallRecording)
        .where(
            CallRecording.ref.in_(refs),
            CallRecording.case_id.is_(None),
            CallRecording.status != RecordingStatus.ERASED,
            mine,
        )
        .values(case_id=case_id, owner=None)
    )
    count = _rowcount(session, statement)
    expire_loaded(session, CallRecording)
    return count


def for_case(*, session: Session, case_id: int) -> list[Listing]:
    """The case's recordings, oldest first (no URL, no audio)."""
    query = select(CallRecording).where(CallRecording.case_id == case_id).order_by(CallRecording.id)
    return [
        Listing(
            ref=row.ref,
            status=row.status,
            duration_seconds=row.duration_seconds,
            content_type=row.content_type,
        )
        for row in session.scalars(query)
    ]


def _decrypt_audio(crypto: Crypto, token: bytes) -> bytes:
    return base64.b64decode(crypto.decrypt(token))


def _encrypt_audio(crypto: Crypto, content: bytes) -> bytes:
    # Crypto encrypts text: the audio goes in as base64, under the descriptions' key.
    return crypto.encrypt(base64.b64encode(content).decode("ascii"))


def listen(
    *,
    session: Session,
    crypto: Crypto,
    case_id: int,
    ref: str,
    actor: str,
    target: str,
    now: datetime,
    ip_hash: str | None = None,
) -> Audio | None:
    """The audio of a case's stored recording, with an audit entry (`recording.listen`,
    naming the ref) written in the caller's transaction; None, and no entry, when the case
    has no such stored recording. The caller checks the reader may read free text."""
    if not is_ref(ref):
        return None
    row = session.scalar(
        select(CallRecording).where(
            CallRecording.ref == ref,
            CallRecording.case_id == case_id,
            CallRecording.status == RecordingStatus.STORED,
        )
    )
    if row is None or row.audio_enc is None:
        return None
    audio = Audio(_decrypt_audio(crypto, row.audio_enc), row.content_type or "audio/mpeg")
    audit(
        session=session,
        actor=actor,
        action=LISTEN,
        target=target,
        data={"ref": ref, "bytes": len(audio.content)},
        ip_hash=ip_hash,
        now=now,
    )
    return audio


def stored_audio(*, session: Session, crypto: Crypto, ref: str) -> bytes | None:
    """The decrypted audio of a recording, unaudited: for checks and tests, never served."""
    row = session.scalar(select(CallRecording).where(CallRecording.ref == ref))
    if row is None or row.audio_enc is None:
        return None
    return _decrypt_audio(crypto, row.audio_enc)


# The fetch job's steps: claim, then store or fail, then the provider's copy.


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def _due() -> Any:
    """A recording the fetch job still has work with: not fetched yet, or fetched with
    the provider's copy neither deleted nor given up on."""
    pending = CallRecording.status == RecordingStatus.PENDING
    copy_left = (
        (CallRecording.status == RecordingStatus.STORED)
        & CallRecording.provider_deleted.is_(False)
        & CallRecording.provider_note.is_(None)
    )
    return pending | copy_left


def claim(*, session: Session, crypto: Crypto, ref: str, now: datetime) -> Work | None:
    """Take a recording for one attempt (held for `LEASE`); None when there is nothing to
    do now (done, erased, failed, not due, or held by another job)."""
    statement = (
        update(CallRecording)
        .where(
            CallRecording.ref == ref,
            _due(),
            CallRecording.url_enc.is_not(None),
            or_(CallRecording.next_attempt_at.is_(None), CallRecording.next_attempt_at <= now),
        )
        .values(attempts=CallRecording.attempts + 1, next_attempt_at=now + LEASE)
    )
    if _rowcount(session, statement) != 1:
        return None
    expire_loaded(session, CallRecording)
    row = session.scalars(select(CallRecording).where(CallRecording.ref == ref)).one()
    if row.url_enc is None:  # erased between the claim and here
        return None
    source = Source(
        ref=row.ref,
        provider=row.provider,
        provider_id=row.provider_id,
        url=crypto.decrypt(row.url_enc),
    )
    return Work(
        source=source, download=row.status == RecordingStatus.PENDING, attempts=row.attempts
    )


def _row(session: Session, ref: str) -> CallRecording:
    return session.scalars(select(CallRecording).where(CallRecording.ref == ref)).one()


def store(
    *,
    session: Session,
    crypto: Crypto,
    ref: str,
    content: bytes,
    content_type: str,
    now: datetime,
) -> bool:
    """Keep the downloaded audio, encrypted; False when the recording is no longer
    pending (erased meanwhile: the audio is dropped)."""
    if not content or len(content) > MAX_AUDIO_BYTES:
        raise InvalidRecording("audio empty or too large")
    row = _row(session, ref)
    if row.status != RecordingStatus.PENDING:
        return False
    row.audio_enc = _encrypt_audio(crypto, content)
    row.content_type = content_type[:32]
    row.size_bytes = len(content)
    row.status = RecordingStatus.STORED
    row.stored_at = now
    row.attempts = 0
    row.next_attempt_at = None
    row.last_error = None
    session.flush()
    return True


def retry_later(*, session: Session, ref: str, reason: str, now: datetime) -> datetime | None:
    """Record a failed attempt worth repeating; return when to try again, or None when
    the attempts are used up (a download is then FAILED, a deletion given up on)."""
    row = _row(session, ref)
    row.last_error = reason[:64]
    if row.attempts >= MAX_ATTEMPTS:
        _give_up(row, reason)
        session.flush()
        return None
    row.next_attempt_at = now + backoff(row.attempts)
    session.flush()
    return row.next_attempt_at


def fail(*, session: Session, ref: str, reason: str) -> None:
    """Record a failure that trying again would not mend."""
    row = _row(session, ref)
    row.last_error = reason[:64]
    _give_up(row, reason)
    session.flush()


def _give_up(row: CallRecording, reason: str) -> None:
    row.next_attempt_at = None
    if row.status == RecordingStatus.PENDING:
        row.status = RecordingStatus.FAILED
    else:
        # The audio is here; the provider's copy could not be deleted. No URL is kept:
        # the copy is found by its provider id.
        row.provider_note = f"not deleted: {reason}"[:64]
        row.url_enc = None


def provider_copy_done(
    *, session: Session, ref: str, deleted: bool, note: str | None, now: datetime
) -> None:
    """Record what became of the provider's copy: deleted, or (`note`) why it stays there
    (a provider with no way to delete one). The URL is no longer needed and goes."""
    row = _row(session, ref)
    row.provider_deleted = deleted
    row.provider_deleted_at = now if deleted else None
    row.provider_note = None if deleted else (note or "not deleted")[:64]
    row.url_enc = None
    row.next_attempt_at = None
    row.last_error = None
    session.flush()


def due_refs(*, session: Session, now: datetime, limit: int = 100) -> list[str]:
    """Recordings the fetch job should see now (their job lost, or its retry due)."""
    query = (
        select(CallRecording.ref)
        .where(
            _due(),
            CallRecording.url_enc.is_not(None),
            or_(CallRecording.next_attempt_at.is_(None), CallRecording.next_attempt_at <= now),
        )
        .order_by(CallRecording.id)
        .limit(limit)
    )
    return list(session.scalars(query))


# Erasure (retention).


def _erase(session: Session, where: Any, now: datetime) -> int:
    statement = (
        update(CallRecording)
        .where(where, CallRecording.status != RecordingStatus.ERASED)
        .values(
            status=RecordingStatus.ERASED,
            audio_enc=None,
            url_enc=None,
            dedupe_key=None,
            owner=None,
            next_attempt_at=None,
            erased_at=now,
        )
    )
    count = _rowcount(session, statement)
    expire_loaded(session, CallRecording)
    return count


def erase_for_cases(*, session: Session, case_ids: list[int], now: datetime) -> int:
    """Erase the recordings of cases whose description retention erases; return how many."""
    if not case_ids:
        return 0
    return _erase(session, CallRecording.case_id.in_(case_ids), now)


def unlinked_where(before: datetime) -> Any:
    """Recordings no case took, made more than `UNLINKED_GRACE` before `before`."""
    return CallRecording.case_id.is_(None) & (CallRecording.created_at < before - UNLINKED_GRACE)


def unlinked_owners(*, session: Session, before: datetime) -> set[str]:
    """The owners of the recordings `erase_unlinked(before=before)` would erase."""
    query = (
        select(CallRecording.owner)
        .where(
            unlinked_where(before),
            CallRecording.status != RecordingStatus.ERASED,
            CallRecording.owner.is_not(None),
        )
        .distinct()
    )
    return {owner for owner in session.scalars(query) if owner is not None}


def erase_unlinked(
    *, session: Session, before: datetime, now: datetime, spare: Collection[str] = ()
) -> int:
    """Erase the recordings no case took (an abandoned call), with one audit entry when any
    were; return how many. `before` is the time a draft last saved then would have expired
    by now (now less SAUTI_DRAFT_TTL); a recording goes only if it was made
    `UNLINKED_GRACE` before that, since drafts renew on every hop. Recordings whose owner
    is in `spare` (a draft of theirs is still live) stay."""
    where = unlinked_where(before)
    if spare:
        where = where & or_(CallRecording.owner.is_(None), CallRecording.owner.not_in(spare))
    count = _erase(session, where, now)
    if count:
        audit(
            session=session,
            actor=RETENTION_ACTOR,
            action=ERASE,
            now=now,
            data={"recordings": count, "unlinked": True},
        )
    return count


def _rowcount(session: Session, statement: Any) -> int:
    options = statement.execution_options(synchronize_session=False)
    return cast(CursorResult[Any], session.execute(options)).rowcount
