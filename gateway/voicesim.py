"""The phone simulator's voice mode: a test call through the voice line's own hop.

Each press goes the way a provider's request goes: `voicecall.call_message` makes the hop
(under the provider name `PROVIDER`; the simulated caller's number is withheld, so its
pseudonym is one of this call alone and no number exists anywhere), and
`voicecall.answer` answers it, with the line's goodbye after too many silences and its
apology when a hop fails. The hop itself is the simulator's: the real engine and the
voice renderer on any stored version, with effects answered as the USSD simulator answers
them (`gateway.simulator`): a report is not filed (its number is `TEST_CASE`, read digit
by digit), nothing is routed or sent, no language preference is kept.

Each spoken screen comes back as its prompts in order, each with the text it says (from
the language's prompt texts, so a reviewer who cannot hear can follow) and the console
address of the published audio the line would play (its own language's, else the
fallback language's the admin configured, else none). The call's state lives in Redis
under `PREFIX`, keyed by a hash of its owner, for `simulator.TTL` seconds.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flows import engine
from flows.engine import Bundle, Context, Screen, State
from flows.voice import AUDIO_SUFFIX, FINAL, PAUSE, PromptText, Speech
from gateway import simulator
from gateway.channels import voicecall
from gateway.flowadmin import FlowAdminError
from gateway.inbound import InboundMessage
from gateway.prompts.needed import Sources
from gateway.runtime import Runtime

PREFIX = "sauti:sim-voice:"
PROVIDER = "simulator"
MAX_KEYS = 64


@dataclass(frozen=True, slots=True)
class Spoken:
    """One prompt of a spoken screen: a pause, or a file with its text and audio."""

    pause: bool
    file: str = ""
    lang: str = ""
    text: str = ""
    url: str | None = None

    def to_json(self) -> dict[str, Any]:
        if self.pause:
            return {"pause": True}
        return {"file": self.file, "lang": self.lang, "text": self.text, "url": self.url}


@dataclass(frozen=True, slots=True)
class VoiceScreen:
    """What the simulated call says, and what it waits for."""

    language: str
    waits: str  # flows.voice: keys, digits, record, go_on, final
    prompts: tuple[Spoken, ...]
    version: str
    test: bool = True

    @property
    def ended(self) -> bool:
        return self.waits == FINAL

    @property
    def text(self) -> str:
        """The screen as words: each prompt's text, pauses as line breaks."""
        lines: list[str] = []
        words: list[str] = []
        for prompt in self.prompts:
            if prompt.pause:
                if words:
                    lines.append(" ".join(words))
                words = []
            else:
                words.append(prompt.text or f"[{prompt.file}]")
        if words:
            lines.append(" ".join(words))
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "screen": self.text,
            "ended": self.ended,
            "waits": self.waits,
            "language": self.language,
            "version": self.version,
            "prompts": [prompt.to_json() for prompt in self.prompts],
            "test": True,
        }


def owner_key(*parts: str) -> str:
    return PREFIX + simulator.owner_key(*parts).removeprefix(simulator.PREFIX)


def _context(runtime: Runtime, lang: str, country: str | None = None) -> Context:
    settings = runtime.settings
    return Context(
        lang=lang,
        translators=runtime.catalogs.translator,
        places=runtime.places,
        country=country,
        channel="voice",
        languages=settings.voice_languages,
        service_code=settings.sauti_service_code,
    )


def _language(runtime: Runtime, language: str) -> str:
    if language not in runtime.settings.voice_languages:
        raise FlowAdminError(f"unknown language {language[:16]!r}: use one the voice line offers")
    return language


@dataclass
class _Call:
    """What Redis keeps of a simulated call between presses."""

    call_id: str
    version: str
    state: State | None
    turn: int
    silences: int
    lang: str
    speech: str
    ended: bool
    country: str | None = None

    def dumps(self) -> str:
        return json.dumps(
            {
                "c": self.call_id,
                "v": self.version,
                "s": None if self.state is None else self.state.to_dict(),
                "t": self.turn,
                "q": self.silences,
                "l": self.lang,
                "sp": self.speech,
                "end": self.ended,
                "cc": self.country,
            }
        )

    @classmethod
    def loads(cls, raw: str | bytes) -> _Call | None:
        try:
            data = json.loads(raw)
            state = None if data["s"] is None else State.from_dict(data["s"])
            return cls(
                call_id=str(data["c"]),
                version=str(data["v"]),
                state=state,
                turn=int(data["t"]),
                silences=int(data["q"]),
                lang=str(data["l"]),
                speech=str(data["sp"]),
                ended=bool(data["end"]),
                country=str(data["cc"]) if data.get("cc") else None,
            )
        except (KeyError, TypeError, ValueError):
            return None


class _TestHop:
    """The simulator's side of `voicecall.answer`: one hop through the engine, its
    effects answered as tests (gateway.simulator), nothing filed or sent."""

    def __init__(self, runtime: Runtime, bundle: Bundle, call: _Call) -> None:
        self.runtime, self.bundle, self.call = runtime, bundle, call

    async def hop(self, msg: InboundMessage) -> Screen:
        call = self.call
        lang = call.state.lang if call.state is not None else call.lang
        ctx = _context(self.runtime, lang, call.country)
        if call.state is None or not msg.inputs:
            step = engine.start(self.bundle, ctx, has_language=True)
        else:
            step = engine.step(self.bundle, call.state, msg.inputs[0], ctx)
        state, screen = simulator._settle(self.bundle, step, ctx)
        call.state = state
        return screen

    async def sms(self, msg: InboundMessage) -> str | None:
        return None


async def _saved(runtime: Runtime, key: str) -> _Call | None:
    raw = await runtime.aredis.get(key)
    return None if raw is None else _Call.loads(raw)


async def run(
    runtime: Runtime,
    *,
    key: str,
    version: str,
    language: str,
    action: str,
    pressed: str = "",
    country: str | None = None,
) -> VoiceScreen:
    """Dial (`action` "dial", or any action on no open call), press keys ("press"), or
    let the line hear nothing ("silence"); return what the call says next."""
    if len(pressed) > MAX_KEYS:
        raise FlowAdminError(f"at most {MAX_KEYS} keys at a time")
    saved = None if action == "dial" else await _saved(runtime, key)
    if saved is not None and (saved.ended or saved.state is None):
        saved = None
    if saved is None:
        lang = _language(runtime, language)
        bundle = await simulator.compiled(runtime, version)
        call = _Call(
            secrets.token_hex(16),
            version,
            None,
            0,
            0,
            lang,
            "",
            False,
            simulator.checked_country(country),
        )
        turn = voicecall.Turn(number=0, silences=0, lang=lang)
        keys: str | None = None
    else:
        call = saved
        bundle = await simulator.compiled(runtime, call.version)
        silent = action == "silence"
        call.turn = min(call.turn + 1, voicecall.MAX_TURN)
        call.silences = call.silences + 1 if silent else 0
        turn = voicecall.Turn(number=call.turn, silences=call.silences, lang=call.lang)
        keys = "" if silent else pressed
    msg = voicecall.call_message(
        runtime, provider=PROVIDER, call_id=call.call_id, number="", turn=turn, pressed=keys
    )
    speech = await voicecall.answer(runtime, _TestHop(runtime, bundle, call), msg, turn)
    call.lang = speech.lang
    call.speech = speech.text
    call.ended = speech.final
    await runtime.aredis.set(key, call.dumps(), ex=simulator.TTL)
    return await spoken(runtime, bundle, speech, call.version)


async def hang_up(runtime: Runtime, key: str) -> None:
    await runtime.aredis.delete(key)


async def last_screen(runtime: Runtime, key: str) -> VoiceScreen | None:
    """What the simulated call said last (for the page without JavaScript)."""
    call = await _saved(runtime, key)
    if call is None or not call.speech:
        return None
    try:
        bundle = await simulator.compiled(runtime, call.version)
        speech = Speech.parse(call.speech)
    except (FlowAdminError, ValueError):
        return None
    return await spoken(runtime, bundle, speech, call.version)


# -- what a spoken screen says and plays ---------------------------------------------------


def _texts(runtime: Runtime, bundle: Bundle, lang: str) -> Mapping[str, PromptText]:
    """What each prompt of `lang` says in `bundle`: kept by the prompt index per flow
    version and language (`PromptIndex.needed`), so a press computes nothing again."""
    sources = Sources(bundle, runtime.catalogs, runtime.places)
    return runtime.voice_prompts.needed(sources, lang)


async def spoken(runtime: Runtime, bundle: Bundle, speech: Speech, version: str) -> VoiceScreen:
    index = runtime.voice_prompts
    texts: dict[str, Mapping[str, PromptText]] = {}
    prompts: list[Spoken] = []
    for prompt in speech.prompts:
        if prompt == PAUSE:
            prompts.append(Spoken(pause=True))
            continue
        lang, _, stem = prompt.rpartition("/")
        lang = lang or speech.lang
        file = stem + AUDIO_SUFFIX
        if lang not in texts:
            texts[lang] = await asyncio.to_thread(_texts, runtime, bundle, lang)
        said = texts[lang].get(file)
        folder = index.where(lang, file)
        url = None if folder is None else f"/admin/voice/{folder}/published/{file}"
        prompts.append(
            Spoken(pause=False, file=file, lang=lang, text=said.text if said else "", url=url)
        )
    return VoiceScreen(speech.lang, speech.input, tuple(prompts), version)
