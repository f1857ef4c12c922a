"""Spoken answers: accepted from a webhook (Africa's Talking's only from its own domain),
fetched into the encrypted store by the job (the providers faked only at their HTTP
client; no redirect followed), the provider's copy deleted, retried and failed as they
should, linked to the case their owner files by any channel, erased by retention (not
while a draft may still hold them)."""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis
import redis.asyncio
from rq import Queue, SimpleWorker
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select, update

from gateway.channels.africastalking.recordings import AfricasTalkingRecorder
from gateway.channels.registry import recorders, senders
from gateway.channels.twilio.recordings import TwilioRecorder
from storage import recordings
from storage.cases import add_information, close_case, create_report
from storage.models import AuditEntry, CallRecording, Case, RecordingStatus
from storage.privacy import Crypto
from storage.recordings import InvalidRecording, spoken_refs, spoken_text
from storage.seed import load_demo_if_empty
from storage.sessions import DraftChange, SessionStore, draft_key
from storage.settings import Settings
from tests.conftest import TWILIO_TOKEN
from tests.leaks import database_rows, find_leaks, number_forms
from workers import context, queues
from workers import recordings as job
from workers import retention as retention_job
from workers.context import WorkerContext
from workers.recorders import Recorders
from workers.retention import purge_closed_cases

ACCOUNT = "AC" + "0" * 32
SID = "RE" + "ab" * 16
TWILIO_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/{SID}"
AT_URL = "https://voice.africastalking.com/recordings/ATVId_5e1c0a.mp3"
NOW = datetime(2026, 12, 11, 10, 0, tzinfo=UTC)
REPORTER = "+243990000042"
STRANGER = "+243990000077"
# Audio a scan can find: an MP3 header and a run of bytes no ciphertext would hold.
AUDIO = b"ID3\x03\x00" + b"the caller's own voice, in clear " * 40
Answer = httpx.Response | Exception


class FakeProvider:
    """A provider's HTTP as its recorder's client sees it: canned answers, in order, and
    every request kept. A request with no answer left fails the test."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert self.answers, f"unexpected {request.method} {request.url}"
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))


def mp3(content: bytes = AUDIO) -> httpx.Response:
    return httpx.Response(200, content=content, headers={"content-type": "audio/mpeg"})


@pytest.fixture
def twilio() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
def at() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
def ctx(
    settings: Settings, redis_client: redis.Redis, twilio: FakeProvider, at: FakeProvider
) -> Iterator[WorkerContext]:
    """The jobs' context with both recorders, each on its fake HTTP."""
    chosen = Recorders(
        {
            "twilio": TwilioRecorder(
                account_sid=ACCOUNT, auth_token=TWILIO_TOKEN, client=twilio.client()
            ),
            "africastalking": AfricasTalkingRecorder(client=at.client()),
        }
    )
    built = context.build(settings, senders=senders(settings), recorders=chosen)
    context.use(built)
    with built.sessions.begin() as session:
        load_demo_if_empty(session=session)
    yield built
    context.use(None)


def accept(
    ctx: WorkerContext, *, provider: str = "twilio", url: str = TWILIO_URL, **kw: object
) -> str:
    values: dict[str, object] = {
        "provider_id": SID if provider == "twilio" else None,
        "duration_seconds": 12,
        "now": NOW,
        "owner": ctx.crypto.pseudonym(REPORTER),
    }
    values.update(kw)
    with ctx.sessions.begin() as session:
        return recordings.accept(
            session=session,
            crypto=ctx.crypto,
            provider=provider,
            url=url,
            **values,  # type: ignore[arg-type]
        )


def row(ctx: WorkerContext, ref: str) -> CallRecording:
    with ctx.sessions() as session:
        found = session.scalars(select(CallRecording).where(CallRecording.ref == ref)).one()
        session.expunge(found)
        return found


def voice_case(
    ctx: WorkerContext, description: str, *, channel: str = "voice", number: str = REPORTER
) -> Case:
    with ctx.sessions.begin() as session:
        return create_report(
            session=session,
            crypto=ctx.crypto,
            pseudonym=ctx.crypto.pseudonym(number),
            channel=channel,
            language="sw",
            answers={
                "category": "illegal_tax",
                "place_code": "cd-nk-walikale-mpama",
                "when": "today",
                "danger_now": "no",
                "description": description,
                "sms_updates": "no",
            },
            contact_e164=None,
            flow_version="v1",
            rng=random.Random(5),
            now=NOW,
        )


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# Accepting.


def test_accept_keeps_the_url_encrypted_and_returns_a_short_url_safe_ref(
    ctx: WorkerContext, settings: Settings
) -> None:
    ref = accept(ctx)
    assert recordings.is_ref(ref)
    assert len(ref) == 12
    found = row(ctx, ref)
    assert (found.status, found.provider, found.provider_id) == ("pending", "twilio", SID)
    assert found.url_enc is not None
    assert ctx.crypto.decrypt(found.url_enc) == TWILIO_URL
    assert not [t for t, blob in database_rows(settings.db_url) if TWILIO_URL.encode() in blob]


def test_the_same_recording_announced_twice_is_one_row(ctx: WorkerContext) -> None:
    assert accept(ctx) == accept(ctx)
    # Without a provider id (Africa's Talking), the URL tells it is the same one.
    assert accept(ctx, provider="africastalking", url=AT_URL) == accept(
        ctx, provider="africastalking", url=AT_URL
    )
    with ctx.sessions() as session:
        assert len(list(session.scalars(select(CallRecording)))) == 2


@pytest.mark.parametrize(
    ("provider", "url", "provider_id"),
    [
        (
            "twilio",
            "http://api.twilio.com/2010-04-01/Accounts/" + ACCOUNT + "/Recordings/" + SID,
            SID,
        ),
        (
            "twilio",
            "https://evil.example.com/2010-04-01/Accounts/" + ACCOUNT + "/Recordings/" + SID,
            SID,
        ),
        ("twilio", TWILIO_URL + "?x=1", SID),
        ("twilio", TWILIO_URL, "RE" + "cd" * 16),  # the sid is not the URL's
        ("twilio", TWILIO_URL.replace(SID, "RE123"), None),
        ("africastalking", "http://voice.africastalking.com/r.mp3", None),
        ("africastalking", "https://10.0.0.5/r.mp3", None),
        ("africastalking", "https://localhost/r.mp3", None),
        ("africastalking", "https://user:pw@voice.africastalking.com/r.mp3", None),
        ("africastalking", "https://voice.africastalking.com/" + "a" * 2100, None),
        ("africastalking", "", None),
        ("console", AT_URL, None),
        # Africa's Talking's own domain only: anything else would have the worker fetch it.
        ("africastalking", "https://attacker.example/x.mp3", None),
        ("africastalking", "https://africastalking.com.attacker.example/x.mp3", None),
        ("africastalking", "https://evilafricastalking.com/x.mp3", None),
        ("africastalking", "https://voice.africastalking.com.:443/x.mp3", None),
        ("africastalking", "https://voice.africastalking.com:8443/x.mp3", None),
        ("africastalking", "https://voice.africastalking.com:x/r.mp3", None),
        ("africastalking", "https://@voice.africastalking.com/r.mp3", None),
        ("africastalking", "https://attacker.example\\@voice.africastalking.com/r.mp3", None),
        ("africastalking", "https://169.254.169.254/latest/meta-data", None),
        ("africastalking", "https://[::1]/r.mp3", None),
        ("twilio", TWILIO_URL.replace("api.twilio.com", "api.twilio.com:x"), SID),
    ],
)
def test_accept_refuses_what_is_no_recording_url(
    ctx: WorkerContext, provider: str, url: str, provider_id: str | None
) -> None:
    with pytest.raises(InvalidRecording):
        accept(ctx, provider=provider, url=url, provider_id=provider_id)


@pytest.mark.parametrize(
    "url",
    [
        AT_URL,
        "https://africastalking.com/recordings/a.mp3",
        "https://VOICE.AfricasTalking.com/recordings/b.mp3",
        "https://voice.africastalking.com:443/recordings/c.mp3",
    ],
)
def test_accept_takes_africas_talking_urls_on_its_own_domain(ctx: WorkerContext, url: str) -> None:
    assert recordings.is_ref(accept(ctx, provider="africastalking", url=url))


def test_accept_refuses_an_owner_that_is_no_pseudonym(ctx: WorkerContext) -> None:
    with pytest.raises(InvalidRecording):
        accept(ctx, owner=REPORTER)
    with ctx.sessions() as session:
        assert list(session.scalars(select(CallRecording))) == []


def test_accept_refuses_a_duration_out_of_bounds(ctx: WorkerContext) -> None:
    with pytest.raises(InvalidRecording):
        accept(ctx, duration_seconds=-1)
    with pytest.raises(InvalidRecording):
        accept(ctx, duration_seconds=recordings.MAX_DURATION_SECONDS + 1)


def test_spoken_refs_finds_each_ref_once() -> None:
    first, second = "abcDEF123_-x", "zzzzzzzzzzzz"
    text = f"{spoken_text(first)} and {spoken_text(second)} {spoken_text(first)}"
    assert spoken_refs(text) == [first, second]
    assert spoken_refs("[spoken answer short]") == []
    assert spoken_refs(None) == []
    assert recordings.readable(spoken_text(first)) == "Spoken answer (recording)"


# Fetching.


def test_the_job_stores_the_audio_encrypted_and_deletes_twilios_copy(
    ctx: WorkerContext, twilio: FakeProvider, settings: Settings
) -> None:
    ref = accept(ctx)
    twilio.answers = [mp3(), httpx.Response(204)]

    assert job.fetch(ref, now=NOW) == "deleted"

    download, delete = twilio.requests
    assert (download.method, str(download.url)) == ("GET", TWILIO_URL + ".mp3")
    assert (delete.method, str(delete.url)) == ("DELETE", TWILIO_URL + ".json")
    for request in (download, delete):
        assert request.headers["authorization"] == basic(ACCOUNT, TWILIO_TOKEN)
    found = row(ctx, ref)
    assert (found.status, found.content_type, found.size_bytes) == (
        "stored",
        "audio/mpeg",
        len(AUDIO),
    )
    assert found.provider_deleted
    assert found.provider_deleted_at == NOW
    assert found.url_enc is None  # no longer needed once the copy is gone
    with ctx.sessions() as session:
        assert recordings.stored_audio(session=session, crypto=ctx.crypto, ref=ref) == AUDIO
    # The audio is nowhere in clear: not in any row, not as base64 either.
    needles = [AUDIO[5:60], base64.b64encode(AUDIO)[8:60]]
    assert not [t for t, blob in database_rows(settings.db_url) for n in needles if n in blob]
    assert job.fetch(ref, now=NOW) == "nothing"  # done: a second run does nothing


def test_a_transient_failure_is_retried_later(
    ctx: WorkerContext, twilio: FakeProvider, redis_client: redis.Redis
) -> None:
    ref = accept(ctx)
    twilio.answers = [httpx.Response(503)]
    assert job.fetch(ref, now=NOW) == "retry"
    found = row(ctx, ref)
    assert (found.status, found.attempts, found.last_error) == ("pending", 1, "twilio http 503")
    assert found.next_attempt_at == NOW + recordings.backoff(1)
    queue = Queue(queues.MAINTENANCE, connection=redis_client)
    scheduled = ScheduledJobRegistry(queue=queue)  # type: ignore[no-untyped-call]
    assert len(scheduled.get_job_ids()) == 1
    assert job.fetch(ref, now=NOW) == "nothing"  # not due yet

    later = NOW + timedelta(minutes=1)
    twilio.answers = [httpx.ReadTimeout("slow"), mp3(), httpx.Response(429)]
    assert job.fetch(ref, now=later) == "retry"
    assert job.fetch(ref, now=later + timedelta(hours=1)) == "retry"  # stored; delete was 429
    assert row(ctx, ref).status == "stored"
    twilio.answers = [httpx.Response(404)]  # gone already counts as deleted
    assert job.fetch(ref, now=later + timedelta(hours=2)) == "deleted"


def test_a_file_not_ready_yet_is_tried_again_until_the_attempts_are_used_up(
    ctx: WorkerContext, twilio: FakeProvider
) -> None:
    ref = accept(ctx)
    at = NOW
    outcomes = []
    for _ in range(recordings.MAX_ATTEMPTS):
        twilio.answers = [httpx.Response(404)]
        outcomes.append(job.fetch(ref, now=at))
        at += timedelta(days=1)
    assert outcomes == ["retry"] * (recordings.MAX_ATTEMPTS - 1) + ["failed"]
    assert row(ctx, ref).status == "failed"


def test_a_permanent_failure_is_marked_failed_at_once(
    ctx: WorkerContext, twilio: FakeProvider
) -> None:
    ref = accept(ctx)
    twilio.answers = [httpx.Response(403, text="Authenticate " + TWILIO_URL)]
    assert job.fetch(ref, now=NOW) == "failed"
    found = row(ctx, ref)
    assert (found.status, found.last_error, found.audio_enc) == ("failed", "twilio http 403", None)
    assert job.fetch(ref, now=NOW + timedelta(days=1)) == "nothing"


def test_what_is_not_audio_is_not_kept(ctx: WorkerContext, twilio: FakeProvider) -> None:
    ref = accept(ctx)
    page = httpx.Response(200, text="<html>sign in</html>", headers={"content-type": "text/html"})
    twilio.answers = [page]
    assert job.fetch(ref, now=NOW) == "failed"
    assert (row(ctx, ref).status, row(ctx, ref).last_error) == ("failed", job.NOT_AUDIO)


def test_credentials_go_only_to_the_accounts_own_recordings(
    ctx: WorkerContext, twilio: FakeProvider
) -> None:
    other = TWILIO_URL.replace(ACCOUNT, "AC" + "1" * 32)
    ref = accept(ctx, url=other)
    assert job.fetch(ref, now=NOW) == "failed"
    assert twilio.requests == []
    assert row(ctx, ref).last_error == "twilio recording of another account"


def test_africas_talking_copy_cannot_be_deleted_and_the_row_says_so(
    ctx: WorkerContext, at: FakeProvider
) -> None:
    ref = accept(ctx, provider="africastalking", url=AT_URL)
    wav = b"RIFF\x00\x00\x00\x00WAVEfmt " + b"\x00" * 64
    at.answers = [httpx.Response(200, content=wav)]  # no content type: told by its bytes
    assert job.fetch(ref, now=NOW) == "kept"
    (download,) = at.requests
    assert (download.method, str(download.url)) == ("GET", AT_URL)
    assert "authorization" not in download.headers
    assert "apikey" not in download.headers
    found = row(ctx, ref)
    assert (found.status, found.content_type, found.provider_deleted) == (
        "stored",
        "audio/wav",
        False,
    )
    assert found.provider_note == "africastalking offers no deletion"


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_no_recorder_follows_a_redirect(
    ctx: WorkerContext, twilio: FakeProvider, at: FakeProvider, status: int
) -> None:
    inside = {"location": "http://169.254.169.254/latest/meta-data/"}
    spoken = accept(ctx)
    twilio.answers = [httpx.Response(status, headers=inside)]
    assert job.fetch(spoken, now=NOW) == "failed"  # final: not tried again
    assert len(twilio.requests) == 1
    assert (row(ctx, spoken).status, row(ctx, spoken).last_error) == (
        "failed",
        f"twilio http {status}",
    )

    spoken = accept(ctx, provider="africastalking", url=AT_URL)
    at.answers = [httpx.Response(status, headers=inside)]
    assert job.fetch(spoken, now=NOW) == "failed"
    assert len(at.requests) == 1
    assert row(ctx, spoken).last_error == f"africastalking http {status}"


def test_a_redirect_deleting_twilios_copy_is_not_followed(
    ctx: WorkerContext, twilio: FakeProvider
) -> None:
    spoken = accept(ctx)
    twilio.answers = [mp3(), httpx.Response(302, headers={"location": "https://elsewhere/"})]
    assert job.fetch(spoken, now=NOW) == "failed"  # the audio is kept; the deletion given up
    assert len(twilio.requests) == 2
    found = row(ctx, spoken)
    assert (found.status, found.provider_note) == ("stored", "not deleted: twilio http 302")


def test_the_africas_talking_recorder_checks_the_url_again_before_fetching(
    ctx: WorkerContext, at: FakeProvider
) -> None:
    spoken = accept(ctx, provider="africastalking", url=AT_URL)
    with ctx.sessions.begin() as session:  # a row written before the check, or altered
        session.execute(
            update(CallRecording)
            .where(CallRecording.ref == spoken)
            .values(url_enc=ctx.crypto.encrypt("https://169.254.169.254/latest/meta-data"))
        )
    assert job.fetch(spoken, now=NOW) == "failed"
    assert at.requests == []
    assert row(ctx, spoken).last_error == "africastalking not its recording URL"


def test_a_provider_without_a_recorder_fails_the_recording(
    settings: Settings, redis_client: redis.Redis
) -> None:
    built = context.build(settings, senders=senders(settings))
    context.use(built)
    try:
        with built.sessions.begin() as session:
            ref = recordings.accept(
                session=session,
                crypto=built.crypto,
                provider="africastalking",
                provider_id=None,
                url=AT_URL,
                duration_seconds=None,
                owner=built.crypto.pseudonym("+243990000042"),
                now=NOW,
            )
        assert job.fetch(ref, now=NOW) == "failed"
        assert row(built, ref).last_error == job.NO_RECORDER
    finally:
        context.use(None)


def test_the_registry_builds_a_recorder_for_each_configured_provider(settings: Settings) -> None:
    assert {recorder.name for recorder in recorders(settings)} == {"twilio", "africastalking"}
    bare = settings.model_copy(update={"twilio_account_sid": "", "twilio_auth_token": ""})
    assert {recorder.name for recorder in recorders(bare)} == {"africastalking"}


def test_enqueued_jobs_run_through_rq(
    ctx: WorkerContext, twilio: FakeProvider, redis_client: redis.Redis
) -> None:
    ref = accept(ctx)
    assert job.enqueue_fetch(ref, connection=redis_client)
    twilio.answers = [mp3(), httpx.Response(204)]
    SimpleWorker(
        [queues.queue(queues.MAINTENANCE, connection=redis_client)], connection=redis_client
    ).work(burst=True)
    assert row(ctx, ref).provider_deleted
    assert job.enqueue_due(now=NOW + timedelta(days=1)) == 0  # nothing left to do


# Linking.


def test_a_voice_report_links_the_recordings_its_description_holds(ctx: WorkerContext) -> None:
    ref, other = accept(ctx), accept(ctx, provider="africastalking", url=AT_URL)
    case = voice_case(ctx, spoken_text(ref))
    assert row(ctx, ref).case_id == case.id
    assert row(ctx, other).case_id is None
    # Information added later by voice links its own.
    with ctx.sessions.begin() as session:
        found = session.get_one(Case, case.id)
        add_information(
            session=session, crypto=ctx.crypto, case=found, text=spoken_text(other), channel="voice"
        )
    assert row(ctx, other).case_id == case.id


def test_a_voice_draft_finished_by_ussd_or_sms_keeps_its_recording(ctx: WorkerContext) -> None:
    owner = ctx.crypto.pseudonym(REPORTER)
    by_ussd, by_sms = (
        accept(ctx, owner=owner),
        accept(ctx, provider="africastalking", url=AT_URL, owner=owner),
    )
    assert row(ctx, by_ussd).owner == owner  # the pseudonym cases keep, never the number

    ussd = voice_case(ctx, spoken_text(by_ussd), channel="ussd")
    sms = voice_case(ctx, spoken_text(by_sms), channel="sms")

    assert (row(ctx, by_ussd).case_id, row(ctx, by_sms).case_id) == (ussd.id, sms.id)
    assert ussd.pseudonym == owner
    # Once linked the owner goes: the case holds its reporter (and retention replaces it).
    assert row(ctx, by_ussd).owner is None


def test_a_ref_typed_by_another_number_links_nothing(ctx: WorkerContext) -> None:
    ref = accept(ctx, owner=ctx.crypto.pseudonym(REPORTER))
    for channel in ("voice", "ussd", "sms"):
        voice_case(ctx, spoken_text(ref), channel=channel, number=STRANGER)
    assert row(ctx, ref).case_id is None
    # Nor information someone else adds to the owner's own case.
    case = voice_case(ctx, "typed")
    with ctx.sessions.begin() as session:
        found = session.get_one(Case, case.id)
        add_information(
            session=session,
            crypto=ctx.crypto,
            case=found,
            text=spoken_text(ref),
            channel="voice",
            pseudonym=ctx.crypto.pseudonym(STRANGER),
        )
    assert row(ctx, ref).case_id is None
    # The owner's own information, by USSD, does link it.
    with ctx.sessions.begin() as session:
        found = session.get_one(Case, case.id)
        add_information(
            session=session,
            crypto=ctx.crypto,
            case=found,
            text=spoken_text(ref),
            channel="ussd",
            pseudonym=ctx.crypto.pseudonym(REPORTER),
        )
    assert row(ctx, ref).case_id == case.id


def test_a_recording_linked_to_one_case_is_never_moved_to_another(ctx: WorkerContext) -> None:
    ref = accept(ctx)
    first = voice_case(ctx, spoken_text(ref))
    voice_case(ctx, spoken_text(ref))
    assert row(ctx, ref).case_id == first.id


# Retention.


def stored(ctx: WorkerContext, twilio: FakeProvider, **kw: object) -> str:
    ref = accept(ctx, **kw)  # type: ignore[arg-type]
    twilio.answers = [mp3(), httpx.Response(204)]
    assert job.fetch(ref, now=NOW) == "deleted"
    return ref


def test_retention_erases_a_closed_cases_audio_with_its_description(
    ctx: WorkerContext, twilio: FakeProvider, settings: Settings
) -> None:
    ref = stored(ctx, twilio)
    case = voice_case(ctx, spoken_text(ref))
    with ctx.sessions.begin() as session:
        found = session.get_one(Case, case.id)
        close_case(
            session=session,
            crypto=ctx.crypto,
            case=found,
            actor="system",
            outcome="resolved",
            note=None,
            now=NOW,
        )
    later = NOW + timedelta(days=settings.sauti_retention_days + 1)

    purge_closed_cases(now=later)

    found_row = row(ctx, ref)
    assert (found_row.status, found_row.audio_enc, found_row.url_enc) == ("erased", None, None)
    assert found_row.erased_at == later
    assert found_row.case_id == case.id
    with ctx.sessions() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "retention.purge")
        ).one()
    assert entry.data["recordings"] == 1


def made_at(ctx: WorkerContext, ref: str, when: datetime) -> None:
    with ctx.sessions.begin() as session:
        session.execute(
            update(CallRecording).where(CallRecording.ref == ref).values(created_at=when)
        )


def test_retention_erases_recordings_no_case_took_a_grace_after_the_draft_ttl(
    ctx: WorkerContext, twilio: FakeProvider, settings: Settings
) -> None:
    abandoned = stored(ctx, twilio, owner=ctx.crypto.pseudonym(REPORTER))
    young = accept(ctx, provider="africastalking", url=AT_URL)
    linked = stored(ctx, twilio, url=TWILIO_URL.replace(SID, "RE" + "cd" * 16), provider_id=None)
    voice_case(ctx, spoken_text(linked))
    ttl = timedelta(seconds=settings.sauti_draft_ttl)
    made_at(ctx, young, NOW + timedelta(days=1))
    assert timedelta(days=7) == recordings.UNLINKED_GRACE

    # One draft TTL is not enough: a draft renews on every hop.
    purge_closed_cases(now=NOW + ttl + timedelta(minutes=1))
    assert row(ctx, abandoned).status == RecordingStatus.STORED

    purge_closed_cases(now=NOW + ttl + recordings.UNLINKED_GRACE + timedelta(minutes=1))

    gone = row(ctx, abandoned)
    assert (gone.status, gone.owner, gone.audio_enc, gone.url_enc) == ("erased", None, None, None)
    assert row(ctx, young).status == RecordingStatus.PENDING
    assert row(ctx, linked).status == RecordingStatus.STORED  # its case is open
    with ctx.sessions() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == recordings.ERASE)
        ).one()
    assert entry.data == {"recordings": 1, "unlinked": True}
    # An erased recording is never fetched again.
    assert job.fetch(abandoned, now=NOW + 2 * ttl) == "nothing"


def keep_draft(settings: Settings, crypto: Crypto, pseudonym: str) -> None:
    """A draft of `pseudonym`'s, saved as the gateway saves one."""

    async def save() -> None:
        client = redis.asyncio.Redis.from_url(settings.redis_url)
        try:
            store = SessionStore(client, crypto=crypto)
            change = DraftChange(pseudonym=pseudonym, draft={"answers": {}}, ttl=600)
            await store.save_hop("voice:test", None, 60, draft=change)
        finally:
            await client.aclose()

    asyncio.run(save())


def test_retention_spares_an_unlinked_recording_whose_owner_has_a_live_draft(
    ctx: WorkerContext, twilio: FakeProvider, settings: Settings, redis_client: redis.Redis
) -> None:
    mine, theirs = ctx.crypto.pseudonym(REPORTER), ctx.crypto.pseudonym(STRANGER)
    kept = stored(ctx, twilio, owner=mine)
    gone = accept(ctx, provider="africastalking", url=AT_URL, owner=theirs)
    keep_draft(settings, ctx.crypto, mine)
    later = NOW + timedelta(seconds=settings.sauti_draft_ttl) + recordings.UNLINKED_GRACE
    later += timedelta(hours=1)

    assert retention_job.erase_unlinked_recordings(now=later) == 1

    assert row(ctx, kept).status == RecordingStatus.STORED
    assert row(ctx, gone).status == RecordingStatus.ERASED
    # Once the draft is gone (sent elsewhere, discarded or expired), so is the recording.
    redis_client.delete(draft_key(mine))
    assert retention_job.erase_unlinked_recordings(now=later) == 1
    assert row(ctx, kept).status == RecordingStatus.ERASED


def test_retention_erases_no_unlinked_recording_while_redis_is_out_of_reach(
    ctx: WorkerContext, twilio: FakeProvider, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = stored(ctx, twilio, owner=ctx.crypto.pseudonym(REPORTER))

    def down(*_: object) -> set[str]:
        raise redis.ConnectionError("down")

    monkeypatch.setattr(retention_job, "_with_drafts", down)
    later = NOW + timedelta(seconds=settings.sauti_draft_ttl) + recordings.UNLINKED_GRACE
    assert retention_job.erase_unlinked_recordings(now=later + timedelta(hours=1)) == 0
    assert row(ctx, ref).status == RecordingStatus.STORED


def test_no_reporter_number_anywhere(
    ctx: WorkerContext,
    twilio: FakeProvider,
    settings: Settings,
    redis_client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("DEBUG"):
        ref = stored(ctx, twilio)
        voice_case(ctx, spoken_text(ref))
    assert (
        find_leaks(
            number_forms(REPORTER),
            database_url=settings.db_url,
            redis_client=redis_client,
            logs=caplog.text,
        )
        == []
    )
    assert f"recording {ref} stored" in caplog.text  # logs name the ref, never the URL
    assert TWILIO_URL not in caplog.text
    assert SID not in caplog.text
