"""What a voice caller hears: contexts on the voice channel, the prompts each language has,
and a screen turned back into the texts its prompts say."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.engine import Bundle, Context, Outcome, State, Step, resume, step
from flows.i18n import Catalogs
from flows.places import PlaceProvider, StaticPlaces
from flows.state import Translator
from flows.voice import PAUSE, VOICE, PromptText, Speech, prompt_texts, voice_text

# The languages the voice line speaks, and every language the service has a catalog for.
SPOKEN = ("sw", "fr", "en")
SERVICE_CODE = "*384*123#"
SEED = Path(__file__).resolve().parents[2] / "storage" / "seed" / "locations.csv"


def seed_places() -> StaticPlaces:
    """The place tree the service is seeded with (storage/seed/locations.csv)."""
    with SEED.open(encoding="utf-8", newline="") as source:
        rows = [
            (row["code"], row["name"], row["parent_code"] or None, row["level"])
            for row in csv.DictReader(source)
        ]
    return StaticPlaces(rows)


def voice_ctx(
    catalogs: Catalogs, places: PlaceProvider, lang: str = "en", **changes: Any
) -> Context:
    fields: dict[str, Any] = {
        "lang": lang,
        "translators": catalogs.translator,
        "places": places,
        "channel": VOICE,
        "languages": SPOKEN,
        "service_code": SERVICE_CODE,
    }
    fields.update(changes)
    return Context(**fields)


@dataclass
class Prompts:
    """`prompt_texts` of each language, for one bundle, catalogs and place tree."""

    bundle: Bundle
    catalogs: Catalogs
    places: PlaceProvider
    languages: Sequence[str] = SPOKEN
    _found: dict[str, dict[str, PromptText]] = field(default_factory=dict)

    def of(self, lang: str) -> dict[str, PromptText]:
        if lang not in self._found:
            self._found[lang] = prompt_texts(
                self.bundle, lang, self.catalogs.translator, self.places, self.languages
            )
        return self._found[lang]

    def missing(self, speech: Speech) -> list[str]:
        """The prompts of `speech` its language folder has no file for."""
        return [f"{lang}/{file}" for lang, file in speech.files() if file not in self.of(lang)]

    def heard(self, speech: Speech) -> list[str]:
        """What each prompt says, in order; a pause as `PAUSE`."""
        said = []
        for prompt in speech.prompts:
            if prompt == PAUSE:
                said.append(PAUSE)
                continue
            ((lang, file),) = Speech(speech.lang, speech.input, (prompt,)).files()
            found = self.of(lang).get(file)
            assert found is not None, f"{lang}/{file} is no prompt of {lang}"
            said.append(found.text)
        return said


class Words:
    """What a caller should hear, said in one language's catalog."""

    def __init__(self, bundle: Bundle, tr: Translator) -> None:
        self.bundle, self.tr = bundle, tr

    def text(self, msgid: str) -> str:
        return self.tr.gettext(msgid).strip()

    def opening(self, msgid: str) -> str:
        """What a text says before its first placeholder."""
        return self.tr.gettext(msgid).split("{")[0].strip()

    def role(self, role: str) -> str:
        return self.text(voice_text(self.bundle, role))

    def digits(self, value: str) -> list[str]:
        """A number read digit by digit, a pause where its dashes are."""
        said: list[str] = []
        for char in value:
            if char.isdigit():
                said.append(self.role(f"voice.digit.{char}"))
            elif said and said[-1] != PAUSE:
                said.append(PAUSE)
        return said

    def announced(self, heard: Sequence[str]) -> list[tuple[str, str]]:
        """(label, key) of every option `heard` announces: a label, "press", the key's
        digits, a pause."""
        press = self.role("voice.press")
        digit = {self.role(f"voice.digit.{d}"): str(d) for d in range(10)}
        found = []
        for i in range(1, len(heard)):
            if heard[i] != press:
                continue
            key, j = "", i + 1
            while j < len(heard) and heard[j] in digit:
                key, j = key + digit[heard[j]], j + 1
            if key and j < len(heard) and heard[j] == PAUSE:
                found.append((heard[i - 1], key))
        return found

    def option(self, label: str, key: str) -> list[str]:
        """An option as announced: its label, "press", its key's digits, a pause."""
        return [label, self.role("voice.press"), *self.digits(key), PAUSE]


def runs(heard: Sequence[str], run: Sequence[str]) -> int:
    """How many times `run` occurs in `heard` as consecutive prompts."""
    size = len(run)
    return sum(1 for i in range(len(heard) - size + 1) if list(heard[i : i + size]) == list(run))


def settle(bundle: Bundle, found: Step, ctx: Context, outcome: Outcome) -> Step:
    """Resume with `outcome` until the step has a screen."""
    while found.screen is None:
        found = resume(bundle, found.state, outcome, ctx)
    return found


def speech_of_step(found: Step) -> Speech:
    assert found.screen is not None
    return Speech.parse(found.screen.text)


def at(bundle: Bundle, node: str, lang: str = "en", **fields: Any) -> State:
    return State(version=bundle.version, lang=lang, node=node, **fields)


@dataclass
class Call:
    """One voice call through the engine: keys in, spoken screens out."""

    bundle: Bundle
    ctx: Context
    prompts: Prompts
    last: Step
    outcome: Outcome

    @property
    def state(self) -> State:
        return self.last.state

    @property
    def speech(self) -> Speech:
        return speech_of_step(self.last)

    @property
    def heard(self) -> list[str]:
        return self.prompts.heard(self.speech)

    def send(self, *keys: str) -> Call:
        for key in keys:
            self.last = settle(
                self.bundle, step(self.bundle, self.state, key, self.ctx), self.ctx, self.outcome
            )
        return self
