"""The compiled form of the flow definitions: immutable nodes the engine walks.

`flows.loader` turns YAML into these once; a hop only reads them. Node ids are qualified
by their flow (``report.category``). Every text is an English msgid; a node's `text` is a
tuple of lines, each translated and filled on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

DRAFT_TARGET = "@draft"
BACK_KEY = "0"
MAIN_KEY = "00"
MORE_KEY = "98"
NAVIGATION_KEYS = frozenset({BACK_KEY, MAIN_KEY, MORE_KEY})

# Nodes the main flow must have: where a session starts, where a number without a language
# starts, and where "00" leads.
START_NODE = "main.start"
LANGUAGE_NODE = "main.language"
MENU_NODE = "main.menu"

# Texts the engine itself shows; each must be defined under `texts:` in a definition.
TEXT_ROLES = (
    "invalid_choice",
    "empty_text",
    "too_long",
    "invalid_case_number",
    "more",
    "back",
    "yes",
    "no",
    "send",
    "change",
    "cancel",
    "change_prompt",
)

# Texts the engine shows that a bundle may leave out (flows published before they existed,
# which stay loadable): the English text here is then shown, translated like any other.
OPTIONAL_TEXTS = {
    "session_restarted": "Session cut off. Please go on from here.",
}

Source = Literal["places", "languages"]


@dataclass(frozen=True, slots=True)
class Change:
    """Re-answer one field: run from `start` until `until`, then come back to `summary`.

    `clears` are the answers the segment can set; they are emptied first so that a branch
    not taken this time (a hazard type after the category changed) leaves nothing behind.
    """

    start: str
    until: str
    summary: str
    clears: frozenset[str]


@dataclass(frozen=True, slots=True)
class Option:
    """One numbered choice. `goto` None means the node's `next`."""

    key: str
    label: str
    value: str | None = None
    goto: str | None = None
    change: Change | None = None


@dataclass(frozen=True, slots=True)
class Menu:
    """Fixed options; the chosen option's `value` is stored under `answer` when given."""

    id: str
    text: tuple[str, ...]
    options: tuple[Option, ...]
    keys: Mapping[str, Option]
    answer: str | None
    next: str | None


@dataclass(frozen=True, slots=True)
class ListNode:
    """Options read at run time from a source, numbered across pages.

    `places` lists the children of the place named by the answer `parent` (the countries
    when `parent` is None); `preset` takes the answer from the context instead of asking
    when the context knows it. A list with nothing to show moves on to `next`.
    `level_text` replaces `text` where the country of the listed places names their level
    otherwise ("district" in Rwanda: ``In which district?``, see `flows.places`).
    """

    id: str
    text: tuple[str, ...]
    source: Source
    answer: str
    also: tuple[str, ...]
    parent: str | None
    preset: str | None
    other: Option | None
    next: str
    level_text: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TextInput:
    """Free text up to `max_length` characters, optionally checked by a validator."""

    id: str
    text: tuple[str, ...]
    answer: str
    max_length: int
    validator: str | None
    skip: Option | None
    next: str


@dataclass(frozen=True, slots=True)
class End:
    """A final screen."""

    id: str
    text: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Action:
    """Emit an effect. With `wait`, go on only once the caller reports the outcome."""

    id: str
    effect: str
    wait: bool
    next: str
    on_fail: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class Case:
    """One branch condition: an answer among `values`, or (with `draft`) a kept report."""

    goto: str
    answer: str | None = None
    values: frozenset[str] = frozenset()
    draft: bool | None = None


@dataclass(frozen=True, slots=True)
class Branch:
    """Go to the first case that holds, else to `otherwise`; shows nothing."""

    id: str
    cases: tuple[Case, ...]
    otherwise: str


Question = Menu | ListNode | TextInput
Shown = Menu | ListNode | TextInput | End
Node = Menu | ListNode | TextInput | End | Action | Branch


@dataclass(frozen=True, slots=True)
class Flow:
    """One definition document. A `draft` flow's answers are kept as a resumable report."""

    name: str
    entry: str
    draft: bool


@dataclass(frozen=True, slots=True)
class Bundle:
    """Every flow of a release, compiled; `version` is a hash of the source texts."""

    version: str
    flows: Mapping[str, Flow]
    nodes: Mapping[str, Node]
    texts: Mapping[str, str]
    labels: Mapping[str, Mapping[str, str]]
    place_answers: frozenset[str]
    draft_keys: frozenset[str]
    sources: Mapping[str, str]

    def flow_of(self, node_id: str) -> Flow:
        """Return the flow a node belongs to."""
        return self.flows[node_id.partition(".")[0]]

    def target(self, name: str) -> str:
        """Resolve a node id (``main.help``) or a flow name (``report``) to a node id."""
        if name in self.nodes:
            return name
        if name in self.flows:
            return self.flows[name].entry
        raise KeyError(f"no node or flow named {name!r}")

    def in_draft(self, node_id: str) -> bool:
        """Tell whether a node belongs to a flow whose answers make a draft report."""
        return self.flow_of(node_id).draft


@dataclass(frozen=True, slots=True)
class Screen:
    """What the phone shows: translated, filled, GSM-7 and within the screen budget."""

    text: str
    final: bool
