"""The phone simulator: the real engine on any version and language, and nothing filed;
its voice mode, the same through the voice line's hop, with the prompts' texts and audio."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import redis
import soundfile
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from flows.loader import shipped_texts
from flows.voice import PromptText
from gateway import voiceadmin
from gateway.prompts.needed import Sources
from gateway.simulator import PREFIX, TEST_CASE
from gateway.voicesim import PREFIX as VOICE_PREFIX
from storage.models import Case, OutboxMessage
from tests.admin.conftest import Browser
from tests.gateway.conftest import option
from workers import queues

# A report in English and in French: (label to choose, or text to type).
REPORT_EN = [
    "Report a problem",
    "Accident",
    "DR Congo",
    "North Kivu",
    "Walikale",
    "Bisie",
    "Today",
    "Yes",
]
REPORT_FR = [
    "Signaler",
    "Accident",
    "RD Congo",  # place names as the French catalog has them
    "Nord-Kivu",
    "Walikale",
    "Bisie",
    "Aujourd",
    "Oui",
]
DESCRIPTION = "A wall fell in the pit near the river"


class Phone:
    """The page's script: posts each key with the X-CSRF-Token header, reads JSON."""

    def __init__(self, admin: Browser, version: str, language: str) -> None:
        self.admin, self.version, self.language = admin, version, language
        self.screen = ""

    def post(self, action: str, text: str = "") -> dict[str, Any]:
        self.admin._use()
        response = self.admin.client.post(
            "/admin/flows/simulator",
            data={
                "version": self.version,
                "language": self.language,
                "action": action,
                "input": text,
            },
            headers={"X-CSRF-Token": self.admin.csrf, "Accept": "application/json"},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        self.screen = body["screen"]
        return body

    def choose(self, label: str) -> dict[str, Any]:
        return self.post("send", option(self.screen, label))


def walk_report(phone: Phone, labels: list[str]) -> dict[str, Any]:
    first = phone.post("dial")
    assert first["ended"] is False
    assert first["test"] is True
    for label in labels:
        phone.choose(label)
    phone.post("send", DESCRIPTION)
    phone.post("send", "2")  # no SMS updates
    assert DESCRIPTION[:20] in phone.screen
    return phone.post("send", "1")  # send


def nothing_filed(db: sessionmaker[Session], redis_client: redis.Redis) -> None:
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    for name in queues.ALL:
        assert queues.queue(name, connection=redis_client).count == 0


@pytest.fixture
def admin(browser: Callable[[str], Browser]) -> Browser:
    return browser("admin")


def live(client: TestClient) -> str:
    return str(client.app.state.runtime.bundle.version)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("language", "labels"), [("en", REPORT_EN), ("fr", REPORT_FR)])
def test_a_full_report_in_the_simulator_files_nothing(
    admin: Browser,
    app_client: TestClient,
    db: sessionmaker[Session],
    redis_client: redis.Redis,
    run_jobs: Callable[[], None],
    language: str,
    labels: list[str],
) -> None:
    final = walk_report(Phone(admin, live(app_client), language), labels)
    assert final["ended"] is True
    assert final["language"] == language
    assert TEST_CASE in final["screen"]
    assert not re.search(r"\d{3}-\d{3}-\d{4}", final["screen"])
    run_jobs()
    nothing_filed(db, redis_client)


def test_the_simulator_runs_a_draft_version(admin: Browser, app_client: TestClient) -> None:
    text = shipped_texts()[0]["main"].replace("Sauti - anonymous reports", "Draft title", 1)
    saved = admin.post("/admin/flows/drafts", {"name": "main", "text": text})
    version = saved.headers["location"].rsplit("/", 1)[1]
    assert version != live(app_client)
    screen = Phone(admin, version, "en").post("dial")["screen"]
    assert screen.startswith("Draft title")
    assert Phone(admin, live(app_client), "en").post("dial")["screen"].startswith("Sauti")


def test_the_simulator_state_is_kept_in_redis_under_its_prefix_with_a_ttl(
    admin: Browser, app_client: TestClient, redis_client: redis.Redis
) -> None:
    Phone(admin, live(app_client), "sw").post("dial")
    keys = [k.decode() if isinstance(k, bytes) else k for k in redis_client.keys(PREFIX + "*")]
    assert len(keys) == 1
    assert 0 < redis_client.ttl(keys[0]) <= 1800
    assert admin.cookie not in keys[0]
    hung = Phone(admin, live(app_client), "sw").post("hangup")
    assert hung["ended"] is True
    assert redis_client.keys(PREFIX + "*") == []


def test_the_simulator_works_without_javascript(admin: Browser, app_client: TestClient) -> None:
    form = {"version": live(app_client), "language": "en", "return": "/admin/flows"}
    dialled = admin.post("/admin/flows/simulator", {**form, "action": "dial"})
    assert dialled.status_code == 303
    assert dialled.headers["location"] == "/admin/flows#simulator"
    page = admin.follow(dialled)
    assert "Sauti - anonymous reports" in page.text
    admin.post("/admin/flows/simulator", {**form, "action": "send", "input": "2"})
    assert "Type your case number." in admin.get("/admin/flows").text


@pytest.mark.parametrize(
    ("data", "status", "said"),
    [
        ({"version": "0" * 64, "action": "dial"}, 404, "no such version"),
        ({"version": "nope", "action": "dial"}, 404, "no such version"),
        ({"language": "xx", "action": "dial"}, 400, "unknown language"),
        ({"action": "send", "input": "1" * 1001}, 400, "at most"),
    ],
)
def test_bad_simulator_requests_are_refused(
    admin: Browser, data: dict[str, str], status: int, said: str
) -> None:
    admin._use()
    response = admin.client.post(
        "/admin/flows/simulator", data=data, headers={"X-CSRF-Token": admin.csrf}
    )
    assert response.status_code == status
    assert said in response.json()["detail"]
    page = admin.post("/admin/flows/simulator", data)
    assert page.status_code == status
    assert "<html" in page.text


def test_the_simulator_needs_the_csrf_token(admin: Browser) -> None:
    admin._use()
    response = admin.client.post("/admin/flows/simulator", data={"action": "dial"})
    assert response.status_code == 403


# -- voice mode ----------------------------------------------------------------------------

DIGIT_WORDS = {
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}


def spoken_key(screen: str, label: str) -> str:
    """The keys a spoken screen says to press for the option starting with `label`
    (on a later page of a list: 98, the key of "More")."""
    for line in screen.splitlines():
        said, _, key = line.rpartition(" press ")
        if said.startswith(label) and key:
            return "".join(DIGIT_WORDS[word] for word in key.split())
    if "More press nine eight" in screen:
        return "98"
    raise AssertionError(f"no option {label!r} in {screen!r}")


class Call:
    """The voice mode's script: posts each press, reads the spoken screen as JSON."""

    def __init__(self, admin: Browser, version: str, language: str) -> None:
        self.admin, self.version, self.language = admin, version, language
        self.body: dict[str, Any] = {}

    def post(self, action: str, keys: str = "") -> dict[str, Any]:
        self.admin._use()
        response = self.admin.client.post(
            "/admin/flows/simulator/voice",
            data={
                "version": self.version,
                "language": self.language,
                "action": action,
                "keys": keys,
            },
            headers={"X-CSRF-Token": self.admin.csrf, "Accept": "application/json"},
        )
        assert response.status_code == 200, response.text
        self.body = response.json()
        return self.body

    def choose(self, label: str) -> dict[str, Any]:
        while (key := spoken_key(self.body["screen"], label)) == "98":
            self.post("press", key)
        return self.post("press", key)


REPORT_BY_VOICE = [
    "Report a problem",
    "Accident",
    "DR Congo",
    "North Kivu",
    "Walikale",
    "Bisie",
    "Today",
]


def test_a_full_report_by_voice_keys_files_nothing_and_reads_the_test_number(
    admin: Browser,
    app_client: TestClient,
    db: sessionmaker[Session],
    redis_client: redis.Redis,
    run_jobs: Callable[[], None],
) -> None:
    call = Call(admin, live(app_client), "en")
    first = call.post("dial")
    assert first["test"] is True
    assert first["waits"] in ("keys", "key")
    assert first["screen"].splitlines()[0]
    for prompt in first["prompts"]:
        assert prompt.get("pause") or (prompt["file"].endswith(".wav") and prompt["text"])
    for label in REPORT_BY_VOICE:
        call.choose(label)
    # Free text is not asked on a call: the hash key goes on past it.
    steps = 0
    while not call.body["ended"] and steps < 8:
        steps += 1
        screen = call.body["screen"]
        if call.body["waits"] == "go_on":
            call.post("press", "#")
        elif " press " in screen and ("No " in screen or "Send" in screen):
            label = "Send" if "Send" in screen else "No"
            call.post("press", spoken_key(screen, label))
        else:
            raise AssertionError(screen)
    assert call.body["ended"] is True
    # TEST-000-000, digit by digit.
    assert "zero zero zero" in call.body["screen"]
    run_jobs()
    nothing_filed(db, redis_client)


def test_the_voice_mode_plays_published_audio_and_repeats_and_hangs_up(
    admin: Browser, app_client: TestClient, db: sessionmaker[Session], redis_client: redis.Redis
) -> None:
    call = Call(admin, live(app_client), "en")
    first = call.post("dial")
    assert all(p.get("pause") or p["url"] is None for p in first["prompts"])
    # Publish one recording of the first prompt: the next screen plays it.
    file = next(p["file"] for p in first["prompts"] if not p.get("pause"))
    out = io.BytesIO()
    soundfile.write(out, 0.3 * np.sin(np.arange(8000) / 3.0), 8000, format="WAV")
    admin.post(
        "/admin/voice/en/upload",
        {"prompt": file},
        files={"file": ("a.wav", out.getvalue(), "audio/wav")},
    )
    admin.post("/admin/voice/en/publish")
    again = call.post("press", "*")
    assert again["screen"] == first["screen"]
    urls = [p["url"] for p in again["prompts"] if not p.get("pause") and p["file"] == file]
    assert urls == [f"/admin/voice/en/published/{file}"]
    assert admin.get(urls[0]).content.startswith(b"RIFF")
    keys = [
        k.decode() if isinstance(k, bytes) else k for k in redis_client.keys(VOICE_PREFIX + "*")
    ]
    assert len(keys) == 1
    assert 0 < redis_client.ttl(keys[0]) <= 1800
    assert admin.cookie not in keys[0]
    assert call.post("hangup")["ended"] is True
    assert redis_client.keys(VOICE_PREFIX + "*") == []
    assert voiceadmin.TTS_NOTE  # the page's badge text exists


def test_silences_end_the_call_with_the_line_s_goodbye(
    admin: Browser, app_client: TestClient, settings: Any
) -> None:
    call = Call(admin, live(app_client), "en")
    call.post("dial")
    for _ in range(settings.sauti_voice_silences):
        assert call.post("silence")["ended"] is False
    last = call.post("silence")
    assert last["ended"] is True
    assert "did not hear you" in last["screen"]
    # A press on an ended call calls again.
    assert call.post("dial")["ended"] is False


def test_a_press_reads_no_prompt_row_and_reuses_what_the_language_s_prompts_say(
    admin: Browser, app_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    computed: list[str] = []
    needed = Sources.needed

    def counted(self: Sources, lang: str) -> dict[str, PromptText]:
        computed.append(lang)
        return needed(self, lang)

    monkeypatch.setattr(Sources, "needed", counted)
    call = Call(admin, live(app_client), "en")
    first = call.post("dial")
    assert computed == ["en"]
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = app_client.app.state.runtime.sessions.kw["bind"]  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute", record)
    try:
        again = call.post("press", "*")
        call.post("press", "*")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert again["screen"] == first["screen"]
    assert all(p.get("pause") or p["text"] for p in again["prompts"])
    assert computed == ["en"]
    assert not [statement for statement in seen if "voice_prompts" in statement]


def test_the_voice_mode_works_without_javascript_and_refuses_bad_requests(
    admin: Browser, app_client: TestClient
) -> None:
    posted = admin.post(
        "/admin/flows/simulator/voice",
        {"action": "dial", "language": "en", "return": "/admin/flows"},
    )
    assert posted.status_code == 303
    assert posted.headers["location"] == "/admin/flows#voice-simulator"
    page = admin.follow(posted)
    assert "Report a problem press one" in page.text
    assert 'src="/admin/static/voicesim.js"' in page.text
    for data in (
        {"action": "dial", "language": "ln"},  # not a voice language
        {"action": "shout", "language": "en"},
        {"action": "press", "language": "en", "keys": "1" * 65},
        {"action": "dial", "language": "en", "version": "0" * 64},
    ):
        admin._use()
        response = admin.client.post(
            "/admin/flows/simulator/voice",
            data=data,
            headers={"X-CSRF-Token": admin.csrf, "Accept": "application/json"},
        )
        assert 400 <= response.status_code < 500, (data, response.text)
    forged = admin.post("/admin/flows/simulator/voice", {"action": "dial"}, csrf=False)
    assert forged.status_code == 403
