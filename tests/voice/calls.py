"""Phones that call the voice line as Twilio and Africa's Talking do, and hear what it says.

A call posts what the provider posts (Twilio signed with `X-Twilio-Signature`, Africa's
Talking with `?token=`), follows the addresses the answer names (the `<Gather>` action
or `<GetDigits>` callbackUrl after a key press, the `<Redirect>` after silence), and reads
the answer back as prompts: each `<Play>` address names a language folder and a file, and
the manifest of that language (what the line publishes for a checker) says what it says.
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from fastapi.testclient import TestClient
from twilio.request_validator import RequestValidator

from flows.voice import PAUSE, VOICE_TEXTS, text_stem
from tests.conftest import AT_TOKEN, TWILIO_TOKEN
from tests.gateway.conftest import settle

PUBLIC = "https://sauti.example.org"
ACCOUNT = "AC" + "0" * 32
LINE = "+243800000100"
PRESS = text_stem(VOICE_TEXTS["voice.press"], 0) + ".wav"
KEY_FILES = {text_stem(VOICE_TEXTS[f"voice.digit.{d}"], 0) + ".wav": str(d) for d in range(10)}
KEY_FILES[text_stem(VOICE_TEXTS["voice.star"], 0) + ".wav"] = "*"
KEY_FILES[text_stem(VOICE_TEXTS["voice.hash"], 0) + ".wav"] = "#"


@dataclass(frozen=True)
class Heard:
    """One answer: the document, the prompts played (language, file) with pauses as None,
    and what the caller can do next."""

    xml: ET.Element
    prompts: tuple[tuple[str, str] | None, ...]
    gather: str | None  # where keys go
    record: str | None  # where a recording goes
    redirect: str | None  # where silence goes
    final: bool


@dataclass
class Manifests:
    """What each file of each language says (from GET /voice/prompts/<lang>/manifest.json)."""

    client: TestClient
    texts: dict[str, dict[str, str]] = field(default_factory=dict)

    def text(self, lang: str, file: str) -> str:
        if lang not in self.texts:
            response = self.client.get(f"/voice/prompts/{lang}/manifest.json")
            assert response.status_code == 200, response.text
            self.texts[lang] = {row["file"]: row["text"] for row in response.json()["prompts"]}
        assert file in self.texts[lang], f"{lang}/{file} is played but not in the manifest"
        return self.texts[lang][file]


def _prompt(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == PUBLIC, url
    _, voice, prompts, lang, file = parts.path.split("/")
    assert (voice, prompts) == ("voice", "prompts"), url
    return lang, file


@dataclass
class Call:
    """One call; `provider` is "twilio" or "africastalking"."""

    client: TestClient
    number: str
    provider: str = "twilio"
    call_id: str = ""
    heard: Heard | None = None
    manifests: Manifests | None = None
    history: list[Heard] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.manifests is None:
            self.manifests = Manifests(self.client)

    # -- what the provider posts --------------------------------------------------------

    def _fields(self, extra: dict[str, str]) -> dict[str, str]:
        if self.provider == "twilio":
            form = {
                "CallSid": self.call_id,
                "AccountSid": ACCOUNT,
                "From": self.number,
                "To": LINE,
                "CallStatus": "in-progress",
                "Direction": "inbound",
                "ApiVersion": "2010-04-01",
            }
        else:
            form = {
                "sessionId": self.call_id,
                "isActive": "1",
                "direction": "Inbound",
                "callerNumber": self.number,
                "destinationNumber": LINE,
            }
        return {**form, **extra}

    def post(self, url: str, extra: dict[str, str] | None = None) -> tuple[int, str]:
        form = self._fields(extra or {})
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {}
        if self.provider == "twilio":
            full = PUBLIC + path
            headers["X-Twilio-Signature"] = RequestValidator(TWILIO_TOKEN).compute_signature(
                full, form
            )
        response = self.client.post(path, data=form, headers=headers)
        settle(self.client)
        return response.status_code, response.text

    def _heard(self, status: int, body: str) -> Heard:
        assert status == 200, body
        root = ET.fromstring(body)  # noqa: S314 (the service's own answer)
        assert root.tag == "Response"
        prompts: list[tuple[str, str] | None] = []
        gather = record = redirect = None
        for element in root.iter():
            if element.tag == "Play":
                prompts.append(_prompt(element.text or element.get("url", "")))
            elif element.tag == "Pause":
                prompts.append(None)
            elif element.tag == "Gather":
                gather = element.get("action")
            elif element.tag == "GetDigits":
                gather = element.get("callbackUrl")
            elif element.tag == "Record":
                record = element.get("action") or element.get("callbackUrl")
            elif element.tag == "Redirect":
                redirect = element.text
        final = gather is None and record is None and redirect is None
        heard = Heard(root, tuple(prompts), gather, record, redirect, final)
        self.heard = heard
        self.history.append(heard)
        return heard

    def _path(self) -> str:
        return (
            "/voice/twilio"
            if self.provider == "twilio"
            else f"/voice/africastalking?token={AT_TOKEN}"
        )

    # -- what the caller does -------------------------------------------------------------

    def dial(self) -> Heard:
        prefix = "CA" if self.provider == "twilio" else "ATVId_"
        self.call_id = prefix + secrets.token_hex(16)
        return self._heard(*self.post(self._path()))

    def press(self, keys: str) -> Heard:
        assert self.heard is not None, "nothing waits for keys"
        assert self.heard.gather, "nothing waits for keys"
        name = "Digits" if self.provider == "twilio" else "dtmfDigits"
        return self._heard(*self.post(self.heard.gather, {name: keys}))

    def silence(self) -> Heard:
        assert self.heard is not None, "nothing waits"
        assert self.heard.redirect, "nothing waits"
        return self._heard(*self.post(self.heard.redirect))

    def hang_up(self) -> int:
        if self.provider == "twilio":
            status, _ = self.post(
                "/voice/twilio/status", {"CallStatus": "completed", "CallDuration": "42"}
            )
        else:
            status, _ = self.post(self._path(), {"isActive": "0", "durationInSeconds": "42"})
        return status

    # -- what the caller hears -------------------------------------------------------------

    def words(self, heard: Heard | None = None) -> str:
        """What was said, prompt by prompt, pauses as " | "."""
        heard = heard or self.heard
        assert heard is not None
        assert self.manifests is not None
        spoken = [
            " | " if prompt is None else self.manifests.text(*prompt) for prompt in heard.prompts
        ]
        return " ".join(spoken).replace("  ", " ")

    def options(self, heard: Heard | None = None) -> dict[str, str]:
        """Each option's label (as said) and the key it is pressed with."""
        heard = heard or self.heard
        assert heard is not None
        assert self.manifests is not None
        found: dict[str, str] = {}
        label: list[tuple[str, str]] = []
        key: list[str] | None = None  # the key clips after "press"
        for prompt in (*heard.prompts, None):
            file = prompt[1] if prompt is not None else None
            if key is not None and file in KEY_FILES:
                key.append(KEY_FILES[file])
                continue
            if key is not None:  # the option ended: a pause, or the next words (AT)
                found[" ".join(self.manifests.text(*p) for p in label)] = "".join(key)
                label, key = [], None
            if prompt is None:
                label = []
            elif file == PRESS:
                key = []
            else:
                label.append(prompt)
        return found

    def offers(self, label: str) -> bool:
        """Whether the screen has an option of that label (AT's XML has no pause between
        the question and the first option: the label ends what was said before it)."""
        return any(said == label or said.endswith(" " + label) for said in self.options())

    def key_for(self, label: str) -> str:
        return self.key_for_in(None, label)

    def key_for_in(self, heard: Heard | None, label: str) -> str:
        for said, key in self.options(heard).items():
            if said.startswith(label) or said.endswith(label):
                return key
        raise AssertionError(f"no option {label!r} in: {self.options(heard)}")

    def choose(self, label: str) -> Heard:
        return self.press(self.key_for(label))

    def digits_said(self, heard: Heard | None = None) -> str:
        """The keys the screen names, digit clips in a row, pauses kept as "-"."""
        heard = heard or self.heard
        assert heard is not None
        out = []
        for prompt in heard.prompts:
            if prompt is None:
                out.append(" ")
            elif prompt[1] in KEY_FILES:
                out.append(KEY_FILES[prompt[1]])
            elif prompt[1] != PRESS:
                out.append(" ")
        return " ".join("".join(out).split())


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


__all__ = ["PAUSE", "Call", "Heard", "Manifests", "query_of"]


def publish_prompts(client: TestClient, languages: tuple[str, ...] = ("sw", "fr", "en")) -> int:
    """Publish a short tone as every prompt the running app's languages need (a recording
    stands in for each, as an admin's upload would), and let the app see them."""
    import hashlib
    import io

    import numpy as np
    import soundfile

    from gateway.prompts.needed import Sources
    from storage import voiceprompts
    from storage.db import utcnow
    from storage.models import PromptSource, PromptStatus
    from storage.voiceprompts import Audio

    samples = (0.2 * np.sin(np.linspace(0, 2 * np.pi * 44, 800))).astype("float32")
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, 8000, format="WAV", subtype="PCM_16")
    wav = buffer.getvalue()
    audio = Audio(wav, hashlib.sha256(wav).hexdigest(), 100, None)
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    sources = Sources(runtime.bundle, runtime.catalogs, runtime.places)
    count = 0
    with runtime.sessions() as session:
        for lang in languages:
            for prompt in sources.needed(lang).values():
                voiceprompts.save(
                    session=session,
                    language=lang,
                    prompt=prompt,
                    audio=audio,
                    source=PromptSource.RECORDED,
                    status=PromptStatus.PUBLISHED,
                    now=utcnow(),
                )
                count += 1
        session.commit()
    runtime.refresh_prompts()
    return count
