"""Where a conversation stands (`State`) and what a hop is given besides it (`Context`).

`State` is immutable and JSON-serialisable; the engine returns a new one on every hop.
It pins the bundle version it started on, so a session finishes on the flows it began with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from flows.gsm import GSM7, Alphabet
from flows.places import PlaceProvider


class Translator(Protocol):
    """Translates one msgid; returns the English text when there is no translation."""

    def gettext(self, message: str, /) -> str: ...


@dataclass(frozen=True, slots=True)
class Context:
    """What a hop needs from outside: languages, places and the caller's country.

    `lang` is the language a session starts in; after that the session's own language
    (`State.lang`, changed by SetLanguage) picks the translator through `translators`.
    `alphabet` is what screens are spelled in: GSM-7, or plain ASCII for a network that
    cannot show GSM-7's accented letters (the budget, shortening and paging are worked out
    on the text as spelled). `record` says whether a voice caller may answer a free-text
    question by speaking (`flows.voice`).
    """

    lang: str
    translators: Callable[[str], Translator]
    places: PlaceProvider
    channel: str = "ussd"
    country: str | None = None
    languages: Sequence[str] = ("en",)
    service_code: str = ""
    alphabet: Alphabet = GSM7
    # Voice only: free-text questions take a spoken answer (recordings on).
    record: bool = False

    @property
    def translator(self) -> Translator:
        """The translator of the starting language."""
        return self.translators(self.lang)


@dataclass(frozen=True, slots=True)
class Return:
    """While one field of a summary is changed: go back to `to` on reaching `until`."""

    to: str
    until: str


@dataclass(frozen=True, slots=True)
class Entry:
    """One step back: the question, its page, and how to undo what answering it changed."""

    node: str
    offset: int
    undo: tuple[tuple[str, str | None], ...] = ()
    ret: Return | None = None


# An answer the conversation may add to an unfinished report to name it; it travels with
# the draft (see gateway.conversation) and is never shown.
DRAFT_NAME = "_draft_id"


@dataclass(frozen=True, slots=True)
class State:
    """A conversation between two hops.

    `answers` are the report's answers (they make the draft), `extras` the other answers
    of the session (language, case number, added text), `values` what the last effect's
    outcome returned. `node` is the shown node, or an action whose outcome is awaited.
    `offset` is the index of the first item on the shown page; `notice` the error line.
    `trail` (and `trail_ret`) are the back steps of the report as last seen inside it,
    restored when the caller continues the draft.
    """

    version: str
    lang: str
    node: str
    offset: int = 0
    history: tuple[Entry, ...] = ()
    answers: Mapping[str, str] = field(default_factory=dict)
    extras: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, str] = field(default_factory=dict)
    notice: str | None = None
    ret: Return | None = None
    draft_node: str | None = None
    trail: tuple[Entry, ...] = ()
    trail_ret: Return | None = None

    def draft(self) -> dict[str, Any] | None:
        """Return the resumable part of an unfinished report, or None when there is none.

        Besides the question it stands at and the answers, a draft keeps its `trail`: the
        back steps through the report's own questions, so that `0` after "Continue" goes
        to the question before, as it would have in the session that made the draft.
        """
        if self.draft_node is None or not self.answers:
            return None
        return {
            "node": self.draft_node,
            "answers": dict(self.answers),
            "trail": [_entry_to_list(entry) for entry in self.trail],
            "trail_ret": _ret_to_list(self.trail_ret),
        }

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable form; `State.from_dict` reads it back."""
        return {
            "version": self.version,
            "lang": self.lang,
            "node": self.node,
            "offset": self.offset,
            "history": [_entry_to_list(entry) for entry in self.history],
            "answers": dict(self.answers),
            "extras": dict(self.extras),
            "values": dict(self.values),
            "notice": self.notice,
            "ret": _ret_to_list(self.ret),
            "draft_node": self.draft_node,
            "trail": [_entry_to_list(entry) for entry in self.trail],
            "trail_ret": _ret_to_list(self.trail_ret),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> State:
        """Read a state written by `to_dict`; raise ValueError when it is malformed."""
        try:
            return cls(
                version=_str(data["version"]),
                lang=_str(data["lang"]),
                node=_str(data["node"]),
                offset=_int(data.get("offset", 0)),
                history=entries_from_list(data.get("history", [])),
                answers=_strings(data.get("answers", {})),
                extras=_strings(data.get("extras", {})),
                values=_strings(data.get("values", {})),
                notice=_optional_str(data.get("notice")),
                ret=_ret_from_list(data.get("ret")),
                draft_node=_optional_str(data.get("draft_node")),
                trail=entries_from_list(data.get("trail", [])),
                trail_ret=_ret_from_list(data.get("trail_ret")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed state: {exc}") from None


def _entry_to_list(entry: Entry) -> list[Any]:
    return [entry.node, entry.offset, [list(pair) for pair in entry.undo], _ret_to_list(entry.ret)]


def entries_from_list(items: Any) -> tuple[Entry, ...]:
    """Read back steps written by `to_dict`; raise TypeError or ValueError when malformed."""
    if not isinstance(items, list):
        raise TypeError("expected a list of back steps")
    return tuple(_entry_from_list(item) for item in items)


def ret_from_list(item: Any) -> Return | None:
    """Read a summary return written by `to_dict`."""
    return _ret_from_list(item)


def _entry_from_list(item: Any) -> Entry:
    node, offset, undo, ret = item
    pairs = tuple((_str(key), _optional_str(previous)) for key, previous in undo)
    return Entry(_str(node), _int(offset), pairs, _ret_from_list(ret))


def _ret_to_list(ret: Return | None) -> list[str] | None:
    return None if ret is None else [ret.to, ret.until]


def _ret_from_list(item: Any) -> Return | None:
    if item is None:
        return None
    to, until = item
    return Return(_str(to), _str(until))


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _optional_str(value: Any) -> str | None:
    return None if value is None else _str(value)


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError("expected a whole number")
    return value


def _strings(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise TypeError("expected a mapping")
    return {_str(key): _str(item) for key, item in value.items()}
