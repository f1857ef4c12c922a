"""Voice: the engine's screens as audio prompts and key presses (the third renderer).

A caller hears a screen as a sequence of prompts and answers with the phone's keys. Every
prompt is one audio file, named the same in every language (``t-<hash>.wav``); what it
says differs per language. A screen is spoken, in order, as:

- the error line, when the last key was refused;
- the node's lines (its ``voice:<node>`` text where the bundle has one), each split at its
  placeholders: every literal part is a prompt of its own, a case number or the service
  code is read digit by digit, an answer with a label (a category, a status) is the
  label's prompt, a place is its name's prompt (``p-<hash>.wav``); free text is never
  spoken: a line that holds some says instead that there is written text to read;
- each option as its label, then "press", then its key read digit by digit; a list reads
  `LIST_PAGE` items at a time, then "More: press 98"; "Not in the list" (typing a place
  name) is not offered: a caller chooses from the list;
- "Back: press 0" when there is somewhere to go back to, and how to hear it again (``*``).

What a screen waits for is its `Speech.input`: a key (`KEYS`), a number typed with keys
then ``#`` (`DIGITS`, the case number), a spoken answer (`RECORD`, only with recordings
on), or the hash key to go on past free text (`GO_ON`); `FINAL` hangs up.

The gateway feeds ``*`` (say it again), ``""`` (the hash key alone, or silence) and the
keys pressed; the engine takes them as `flows.engine` documents for the voice channel.
A hop's reply is `Speech` written as one line of text (`Speech.text`, what the session
store keeps for a repeated request); each provider turns it into its own XML.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from string import Formatter

from flows.model import (
    BACK_KEY,
    MAIN_KEY,
    MORE_KEY,
    OPTIONAL_TEXTS,
    TEXT_ROLES,
    Action,
    Bundle,
    End,
    ListNode,
    Menu,
    Screen,
    Shown,
    TextInput,
)
from flows.places import PlaceProvider, place_name
from flows.render import KEPT_VALUES, channel_key, label_of, question_lines
from flows.sources import LANGUAGE_NAMES, list_items
from flows.state import Context, State, Translator

VOICE = "voice"
AUDIO_SUFFIX = ".wav"
LIST_PAGE = 6
REPEAT_KEY = "*"
GO_ON_KEY = ""  # the hash key pressed alone, or silence: what the gateway feeds for either

# What a spoken screen waits for.
KEYS = "keys"  # options some of which take two keys (98 for more)
KEY = "key"  # options of one key each: taken as soon as it is pressed
DIGITS = "digits"
RECORD = "record"
GO_ON = "go_on"
FINAL = "final"
INPUTS = (KEYS, KEY, DIGITS, RECORD, GO_ON, FINAL)

PAUSE = ","
DIGIT_ROLES = {str(d): f"voice.digit.{d}" for d in range(10)} | {
    "*": "voice.star",
    "#": "voice.hash",
}

# Texts only a voice screen speaks (each a role under `texts:`; a bundle published before
# they existed speaks these English texts, translated like any other).
VOICE_TEXTS: Mapping[str, str] = {
    "voice.press": "press",
    "voice.repeat": "To hear this again, press star.",
    "voice.no_key": "We did not hear a key.",
    "voice.go_on": "To go on, press the hash key.",
    "voice.record": "Speak after the tone. When you have finished, press the hash key.",
    "voice.digits": "Press the digits, then the hash key.",
    "voice.needs_words": "This needs words: send them by SMS, or dial {service_code}.",
    "voice.written": "There is a written answer: read it by SMS, or dial {service_code}.",
    "voice.spoken": "Your spoken answer is kept.",
    "voice.goodbye": "Thank you for calling Sauti. Goodbye.",
    "voice.silent": "We did not hear you. Call again when you can: your report is kept.",
    "voice.unavailable": "Sorry, the line is not available now. Please call again later.",
    "voice.report_limit": (
        "This phone has sent many reports today. Your report is kept: call again in"
        " {hours} hours to send it."
    ),
    "voice.status_limit": (
        "Too many case checks from this phone. Please call again in {minutes} minutes."
    ),
    "voice.digit.0": "zero",
    "voice.digit.1": "one",
    "voice.digit.2": "two",
    "voice.digit.3": "three",
    "voice.digit.4": "four",
    "voice.digit.5": "five",
    "voice.digit.6": "six",
    "voice.digit.7": "seven",
    "voice.digit.8": "eight",
    "voice.digit.9": "nine",
    "voice.star": "star",
    "voice.hash": "hash",
}

# Numbers a voice text says (hours, minutes), read digit by digit from the digit clips.
COUNTED_VALUES = frozenset({"days", "hours", "minutes"})

# The free-text answer a spoken one is kept under (``[spoken answer <id>]``).
SPOKEN_PREFIX = "[spoken answer "

_FORMATTER = Formatter()


@dataclass(frozen=True, slots=True)
class PromptText:
    """One prompt of a language: its file, what it is made from, and what it says."""

    file: str
    message_id: str
    context: str  # "text", "place" or "language"
    part: int
    text: str


@dataclass(frozen=True, slots=True)
class Speech:
    """A spoken screen: the prompts in order (file stems; ``<lang>/<stem>`` for one played
    from another language's folder; `PAUSE` for a short silence) and what it waits for."""

    lang: str
    input: str
    prompts: tuple[str, ...]

    @property
    def final(self) -> bool:
        return self.input == FINAL

    @property
    def text(self) -> str:
        """One line: what the session store keeps and `Speech.parse` reads back."""
        return " ".join((self.lang, self.input, *self.prompts))

    @classmethod
    def parse(cls, text: str) -> Speech:
        """Read `Speech.text`; raise ValueError for anything else."""
        parts = text.split()
        if len(parts) < 2 or parts[1] not in INPUTS or not parts[0].isalpha():
            raise ValueError("not a spoken screen")
        return cls(parts[0], parts[1], tuple(parts[2:]))

    def files(self) -> Iterator[tuple[str, str]]:
        """(language folder, file name) of every prompt, pauses left out."""
        for prompt in self.prompts:
            if prompt == PAUSE:
                continue
            lang, _, stem = prompt.rpartition("/")
            yield lang or self.lang, stem + AUDIO_SUFFIX


# -- names ---------------------------------------------------------------------------------


def text_stem(message_id: str, part: int) -> str:
    """The file stem of one literal part of a text (the same in every language)."""
    digest = hashlib.sha256(f"{message_id}\x1f{part}".encode()).hexdigest()[:10]
    return f"t-{digest}"


def place_stem(name: str) -> str:
    """The file stem of a place's name (its name as imported names it)."""
    return "p-" + hashlib.sha256(name.encode()).hexdigest()[:10]


def language_stem(code: str) -> str:
    return f"l-{code}"


def voice_text(bundle: Bundle, role: str) -> str:
    """The msgid of a voice text: the bundle's, else the English one built in."""
    return bundle.texts.get(role) or VOICE_TEXTS.get(role) or OPTIONAL_TEXTS[role]


@lru_cache(maxsize=4096)
def segments(text: str) -> tuple[tuple[int, str, str | None], ...]:
    """(part number, literal, placeholder or None) of a translated text; a literal with no
    letter or digit in it (": ", ".") is spoken as nothing."""
    try:
        parsed = [(literal, name) for literal, name, _, _ in _FORMATTER.parse(text)]
    except ValueError:
        parsed = [(text, None)]
    return tuple(
        (number, literal.strip() if _speakable(literal) else "", name or None)
        for number, (literal, name) in enumerate(parsed)
    )


def _speakable(literal: str) -> bool:
    return any(char.isalnum() for char in literal)


def node_speech_lines(bundle: Bundle, node: Shown, state: State, ctx: Context) -> tuple[str, ...]:
    """The lines a node speaks: its ``voice:<node>`` text (for free text only with
    recordings off), else its lines as on USSD."""
    own = bundle.texts.get(channel_key(VOICE, node.id))
    if isinstance(node, TextInput) and ctx.record and not _digits_node(node):
        return node.text  # the question itself, answered after the tone
    if own:
        return (own,)
    return question_lines(bundle, node, state, ctx)


def _digits_node(node: Shown) -> bool:
    return isinstance(node, TextInput) and node.validator == "case_number"


def expects(bundle: Bundle, node: Shown, ctx: Context) -> str:
    """What a spoken node waits for."""
    if isinstance(node, End):
        return FINAL
    if isinstance(node, TextInput):
        if _digits_node(node):
            return DIGITS
        if ctx.record:
            return RECORD
        return GO_ON if node.skip is not None else KEYS
    return KEYS


def list_page(items: Sequence[object], offset: int) -> tuple[int, int, bool]:
    """(first, end, more) of the list page that starts at `offset`."""
    first = offset if offset < len(items) else 0
    end = min(first + LIST_PAGE, len(items))
    return first, end, end < len(items)


# -- speaking ------------------------------------------------------------------------------


class _Speaker:
    """Collects the prompts of one screen."""

    def __init__(self, bundle: Bundle, state: State, ctx: Context, tr: Translator) -> None:
        self.bundle, self.state, self.ctx, self.tr = bundle, state, ctx, tr
        self.prompts: list[str] = []
        self.keys: list[str] = []  # the keys of the options said

    def raw(self, name: str) -> str:
        state = self.state
        found = state.values.get(name) or state.answers.get(name) or state.extras.get(name)
        if found:
            return found
        if name == "service_code":
            return self.ctx.service_code
        node = self.bundle.nodes[state.node]
        if name == "max_length" and isinstance(node, TextInput):
            return str(node.max_length)
        return ""

    def digits(self, value: str) -> list[str]:
        out: list[str] = []
        for char in value:
            role = DIGIT_ROLES.get(char)
            if role is not None:
                out.extend(self.text_prompts(voice_text(self.bundle, role)))
            elif out and out[-1] != PAUSE:
                out.append(PAUSE)  # the dashes of a case number: a short pause
        return out

    def text_prompts(self, msgid: str) -> list[str]:
        """A text without placeholders (a label, a voice text) as its prompts."""
        return [
            text_stem(msgid, part)
            for part, literal, _ in segments(self.tr.gettext(msgid))
            if literal
        ]

    def value(self, name: str) -> list[str] | None:
        """The prompts of a placeholder's value; None when it is free text."""
        raw = self.raw(name)
        if not raw:
            return []
        if name in KEPT_VALUES or name in COUNTED_VALUES:
            return self.digits(raw)
        if name in self.bundle.place_answers:
            place = self.ctx.places.get(raw)
            return [place_stem(place.name)] if place is not None else None
        label = label_of(self.bundle.labels.get(name, {}), raw)
        if label:
            return self.text_prompts(label)
        return None

    def line(self, msgid: str) -> None:
        spoken: list[str] = []
        named = filled = 0
        for part, literal, name in segments(self.tr.gettext(msgid)):
            if literal:
                spoken.append(text_stem(msgid, part))
            if name is None:
                continue
            named += 1
            found = self.value(name)
            if found is None:  # free text: said to be there, never spoken
                role = "voice.spoken" if self.raw(name).startswith(SPOKEN_PREFIX) else None
                self.line(voice_text(self.bundle, role or "voice.written"))
                return
            filled += bool(found)
            spoken.extend(found)
        if named and not filled:
            return
        self.prompts.extend(spoken)

    def option(self, label: list[str], key: str) -> None:
        self.keys.append(key)
        self.prompts.extend(label)
        self.prompts.extend(self.text_prompts(voice_text(self.bundle, "voice.press")))
        self.prompts.extend(self.digits(key))
        self.prompts.append(PAUSE)


def _items(speaker: _Speaker, node: Menu | ListNode) -> None:
    bundle, state, ctx = speaker.bundle, speaker.state, speaker.ctx
    if isinstance(node, Menu):
        for option in node.options:
            speaker.option(speaker.text_prompts(option.label), option.key)
        return
    found = list_items(node, {**state.extras, **state.answers}, ctx)
    first, end, more = list_page(found, state.offset)
    for number in range(first, end):
        value, name = found[number]
        if node.source == "languages":
            label = [f"{value}/{language_stem(value)}"]
        else:
            label = [place_stem(name)]
        speaker.option(label, str(number - first + 1))  # one key: 1 to LIST_PAGE a page
    if more:
        speaker.option(speaker.text_prompts(bundle.texts["more"]), MORE_KEY)


def _text_hint(speaker: _Speaker, node: TextInput, waits: str) -> None:
    """How a free-text question is answered by phone keys."""
    bundle = speaker.bundle
    own = channel_key(VOICE, node.id) in bundle.texts
    if waits == RECORD:
        speaker.line(voice_text(bundle, "voice.record"))
        if node.skip is not None:
            speaker.option(speaker.text_prompts(node.skip.label), node.skip.key)
    elif waits == GO_ON:
        speaker.line(voice_text(bundle, "voice.go_on"))
    elif not own:
        speaker.line(voice_text(bundle, "voice.digits" if waits == DIGITS else "voice.needs_words"))


def speak(bundle: Bundle, state: State, ctx: Context) -> Speech:
    """The shown node of `state` as a spoken screen."""
    node = bundle.nodes[state.node]
    if not isinstance(node, Menu | ListNode | TextInput | End):
        raise ValueError(f"{state.node} shows nothing")
    tr = ctx.translators(state.lang)
    speaker = _Speaker(bundle, state, ctx, tr)
    if state.notice:
        speaker.line(state.notice)
    for line in node_speech_lines(bundle, node, state, ctx):
        speaker.line(line)
    waits = expects(bundle, node, ctx)
    if isinstance(node, Menu | ListNode):
        if speaker.prompts:
            speaker.prompts.append(PAUSE)  # a breath between the question and its options
        _items(speaker, node)
    elif isinstance(node, TextInput):
        _text_hint(speaker, node, waits)
    if isinstance(node, End):
        speaker.line(voice_text(bundle, "voice.goodbye"))
        return Speech(state.lang, FINAL, tuple(speaker.prompts))
    if state.history:
        speaker.option(speaker.text_prompts(bundle.texts["back"]), BACK_KEY)
    speaker.line(voice_text(bundle, "voice.repeat"))
    if waits == KEYS and all(len(key) == 1 for key in speaker.keys):
        waits = KEY
    return Speech(state.lang, waits, tuple(speaker.prompts))


def render_voice(bundle: Bundle, state: State, ctx: Context) -> Screen:
    """The screen of `state` on the voice channel: `Speech.text`."""
    speech = speak(bundle, state, ctx)
    return Screen(speech.text, speech.final)


def speech_of(bundle: Bundle, ctx: Context, state: State, role: str) -> Speech:
    """One voice text alone, as a final screen (goodbye after silence, an apology, a
    limit reached: its counts, in `state.values`, read digit by digit)."""
    speaker = _Speaker(bundle, state, ctx, ctx.translators(state.lang))
    speaker.line(voice_text(bundle, role))
    speaker.line(voice_text(bundle, "voice.goodbye"))
    return Speech(state.lang, FINAL, tuple(speaker.prompts))


# -- what a language must have ---------------------------------------------------------------


def _node_messages(node: Shown, overridden: bool) -> Iterator[str]:
    """The msgids one shown node may speak (its lines unless a voice text replaces them)."""
    if not overridden or isinstance(node, TextInput):
        yield from node.text
    if isinstance(node, ListNode):
        for lines in node.level_text.values():
            yield from lines
    if isinstance(node, Menu):
        yield from (o.label for o in node.options)
    if isinstance(node, TextInput) and node.skip is not None:
        yield node.skip.label


def spoken_messages(bundle: Bundle) -> list[str]:
    """Every msgid a voice screen of `bundle` may speak, each once, in a stable order."""
    found: dict[str, None] = {}
    overridden = {role.partition(":")[2] for role in bundle.texts if role.startswith(f"{VOICE}:")}
    for role, text in bundle.texts.items():
        channel, colon, _ = role.partition(":")
        if not colon or channel == VOICE:  # not another channel's own text (sms:...)
            found[text] = None
    for role in (*TEXT_ROLES, *OPTIONAL_TEXTS, *VOICE_TEXTS):
        found[voice_text(bundle, role)] = None
    for node in bundle.nodes.values():
        if isinstance(node, Action) and node.error:
            found[node.error] = None
        elif isinstance(node, Menu | ListNode | TextInput | End):
            found.update(dict.fromkeys(_node_messages(node, node.id in overridden)))
    for table in bundle.labels.values():
        found.update(dict.fromkeys(table.values()))
    return list(found)


def _all_places(places: PlaceProvider) -> Iterator[str]:
    seen: set[str] = set()
    frontier: list[str | None] = [None]
    while frontier:
        for place in places.children(frontier.pop()):
            if place.code not in seen:
                seen.add(place.code)
                frontier.append(place.code)
                yield place.name


def prompt_texts(
    bundle: Bundle,
    lang: str,
    translators: Callable[[str], Translator],
    places: PlaceProvider,
    languages: Sequence[str] = (),
) -> dict[str, PromptText]:
    """Every prompt a caller in `lang` may hear, by file name: each literal part of every
    text the flows speak, every place's name, and the language's own name."""
    tr = translators(lang)
    found: dict[str, PromptText] = {}
    for msgid in spoken_messages(bundle):
        for part, literal, _ in segments(tr.gettext(msgid)):
            if literal:
                file = text_stem(msgid, part) + AUDIO_SUFFIX
                found.setdefault(file, PromptText(file, msgid, "text", part, literal))
    for name in _all_places(places):
        file = place_stem(name) + AUDIO_SUFFIX
        found.setdefault(file, PromptText(file, name, "place", 0, place_name(tr, name)))
    if lang in languages or not languages:
        file = language_stem(lang) + AUDIO_SUFFIX
        found[file] = PromptText(file, lang, "language", 0, LANGUAGE_NAMES.get(lang, lang))
    return found


__all__ = [
    "AUDIO_SUFFIX",
    "DIGITS",
    "FINAL",
    "GO_ON",
    "GO_ON_KEY",
    "KEY",
    "KEYS",
    "LIST_PAGE",
    "MAIN_KEY",
    "RECORD",
    "REPEAT_KEY",
    "VOICE",
    "VOICE_TEXTS",
    "PromptText",
    "Speech",
    "expects",
    "list_page",
    "prompt_texts",
    "render_voice",
    "speak",
    "speech_of",
    "spoken_messages",
]
