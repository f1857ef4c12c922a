"""A spoken answer end to end, with recordings on: the caller records what happened after
the tone, the report is filed with that recording as its description, the fetch job takes
the audio from Twilio into the encrypted store (and deletes Twilio's copy), and the
recording belongs to the case. With recordings off (the default) no <Record> is offered
and a recording posted anyway is read as nothing pressed: no recording is kept."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from rq import SimpleWorker
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.channels.registry import senders
from gateway.channels.twilio.recordings import TwilioRecorder
from storage.models import CallRecording, Case
from storage.settings import Settings
from tests.conftest import TWILIO_TOKEN
from tests.voice.calls import ACCOUNT, Call, publish_prompts
from tests.voice.test_calls import NUMBER
from workers import context, queues
from workers.recorders import Recorders

SID = "RE" + "cd" * 16
RECORDING = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/{SID}"
AUDIO = b"ID3\x03\x00" + b"a miner's voice, never to be stored in clear " * 30


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"sauti_voice_recording": True})


@pytest.fixture
def twilio_http() -> list[httpx.Request]:
    return []


@pytest.fixture
def jobs(
    settings: Settings, redis_client: redis.Redis, twilio_http: list[httpx.Request]
) -> Iterator[object]:
    def answer(request: httpx.Request) -> httpx.Response:
        twilio_http.append(request)
        if request.method == "GET":
            return httpx.Response(200, content=AUDIO, headers={"content-type": "audio/mpeg"})
        return httpx.Response(204)

    client = httpx.Client(transport=httpx.MockTransport(answer))
    recorder = TwilioRecorder(account_sid=ACCOUNT, auth_token=TWILIO_TOKEN, client=client)
    context.use(
        context.build(
            settings, senders=senders(settings), recorders=Recorders({"twilio": recorder})
        )
    )

    def run() -> None:
        names = [queues.queue(n, connection=redis_client) for n in queues.ALL]
        SimpleWorker(names, connection=redis_client).work(burst=True)

    yield run
    context.use(None)


def to_description(call: Call) -> None:
    call.dial()
    call.choose("English")
    for label in (
        "Report a problem",
        "Accident",
        "North Kivu",
        "Walikale",
        "Bisie",
        "Today",
        "Yes",
    ):
        call.choose(label)


def test_a_recorded_description_is_filed_fetched_encrypted_and_linked(
    app_client: TestClient,
    db: sessionmaker[Session],
    jobs: object,
    twilio_http: list[httpx.Request],
) -> None:
    publish_prompts(app_client)
    call = Call(app_client, NUMBER)
    to_description(call)
    heard = call.heard
    assert heard is not None
    assert heard.record is not None  # <Record> after the question
    assert "Speak after the tone." in call.words()
    status, body = call.post(
        heard.record,
        {"RecordingUrl": RECORDING, "RecordingSid": SID, "RecordingDuration": "7", "Digits": "#"},
    )
    call._heard(status, body)
    assert "Your spoken answer is kept." in call.words() or call.options()
    call.choose("No")
    assert "Your spoken answer is kept." in call.words()
    call.choose("Send")
    assert call.words().startswith("Report sent.")
    jobs()  # type: ignore[operator]
    with db() as session:
        [case] = session.scalars(select(Case)).all()
        [recording] = session.scalars(select(CallRecording)).all()
        assert recording.case_id == case.id
        assert recording.status == "stored"
        assert recording.audio_enc is not None
        assert AUDIO not in recording.audio_enc
    methods = [(r.method, r.url.path) for r in twilio_http]
    assert ("DELETE", f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/{SID}.json") in methods


def test_with_recordings_off_a_posted_recording_is_silence(
    app_client: TestClient, db: sessionmaker[Session], settings: Settings
) -> None:
    app_client.app.state.runtime.settings = settings.model_copy(  # type: ignore[attr-defined]
        update={"sauti_voice_recording": False}
    )
    publish_prompts(app_client)
    call = Call(app_client, NUMBER)
    to_description(call)
    heard = call.heard
    assert heard is not None
    assert heard.record is None
    assert "To go on, press the hash key." in call.words()
    url = heard.gather.replace("t=9", "t=9&r=1") if heard.gather else ""
    status, body = call.post(
        url, {"RecordingUrl": RECORDING, "RecordingSid": SID, "RecordingDuration": "7"}
    )
    call._heard(status, body)
    # Read as the hash key alone: the question, which may be skipped, is passed over.
    assert call.words().startswith("Do you want SMS news about this case?")
    with db() as session:
        assert session.scalars(select(CallRecording)).all() == []
