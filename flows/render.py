"""Screens: translate, fill, spell in GSM-7 (or ASCII), page, and fit the screen budget.

A screen is, top to bottom: the error line (when the last input was refused), the
node's text lines, the numbered items of this page, ``98 More`` when items follow, and
``0 Back`` when there is somewhere to go back to. It never exceeds `BUDGET` septets, so
``CON ``/``END `` plus the screen stays within one 160-character message.

A screen is spelled in the context's alphabet (`Context.alphabet`): GSM-7, or plain ASCII
for a network that cannot show GSM-7's accented letters (`flows.gsm.to_ascii`). Every
measure below (the budget, the shortening of values, what a page holds) is taken on the
text as spelled, so an ASCII screen fits as surely as a GSM-7 one.

Items are numbered continuously across pages. A page takes as many whole items as fit,
so an error line leaves room for fewer. Values filled into texts (place names, a
description, a committee's message) are shortened with ``...``, longest first, when the
screen would overflow; a line whose placeholders are all empty is left out. Only if that
is not enough is the screen cut hard, which `Page.cut` reports and the lint forbids.

A places list asks for its level as the country of its places names it: its
``level_text`` for "district" in Rwanda, "commune" in Burundi (`question_lines`). Place
names are shown in the reader's language where the catalog has them (msgctxt "place",
`flows.places.place_name`), else as imported.

A node may read differently on one channel: a shared text keyed ``<channel>:<node id>``
(``sms:main.help``) replaces the node's lines there, e.g. to name the SMS keywords where
USSD names the keys to dial. A label value refined with a dot (``closed.resolved``) that
its table does not list shows the label of its first part (``closed``), so flows that
predate a refinement still read right.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from string import Formatter
from typing import overload

from flows import gsm
from flows.model import MORE_KEY, Bundle, End, ListNode, Menu, Screen, Shown, TextInput
from flows.places import place_name
from flows.sources import list_items, list_level
from flows.state import Context, State, Translator

BUDGET = 156
# The channels a conversation runs on (`Context.channel`); voice screens are spoken
# (`flows.voice`), the others shown as text.
CHANNELS = ("ussd", "sms", "voice")
TEXT_CHANNELS = CHANNELS[:2]
MIN_VALUE = 8
ELLIPSIS = "..."
RESERVED_ITEMS = 3
# Values never shortened; the others go free text first, then place names, then labels.
KEPT_VALUES = frozenset({"case", "service_code", "max_length"})
_LIMIT = BUDGET + 1  # every line costs its septets plus a line feed; the last has none
_FORMATTER = Formatter()


class RenderError(RuntimeError):
    """Asked to render a node that shows nothing (an action awaiting its outcome)."""


@dataclass(frozen=True, slots=True)
class Page:
    """One rendered screen, how many items it shows, and whether it had to be cut hard."""

    text: str
    shown: int
    more: bool
    cut: bool


def cost(line: str) -> int:
    """Septets a line takes on a screen, with its line feed."""
    return gsm.septets(line) + 1


def shorten(text: str, size: int) -> str:
    """Cut `text` to at most `size` septets, ending with '...' when it was cut."""
    if gsm.septets(text) <= size:
        return text
    keep = max(size - len(ELLIPSIS), 0)
    while keep and gsm.septets(text[:keep]) > keep:
        keep -= 1
    return (text[:keep].rstrip() + ELLIPSIS)[: max(size, 0)]


def clean_value(text: str, alphabet: gsm.Alphabet = gsm.GSM7) -> str:
    """A value as a screen shows it: in `alphabet`, on one line, without repeated spaces."""
    return " ".join(gsm.spell(text, alphabet).split())


@lru_cache(maxsize=4096)
def parse_template(
    text: str, alphabet: gsm.Alphabet = gsm.GSM7
) -> tuple[tuple[str, str | None], ...]:
    """Split a translated text into (literal in `alphabet`, placeholder name or None) parts."""
    try:
        parts = [(literal, name) for literal, name, _, _ in _FORMATTER.parse(text)]
    except ValueError:
        return ((gsm.spell(text, alphabet), None),)
    return tuple((gsm.spell(literal, alphabet), name or None) for literal, name in parts)


def label_of(table: Mapping[str, str], value: str) -> str | None:
    """The label of a value; for ``head.detail`` not in the table, the label of ``head``."""
    found = table.get(value)
    if found is None and "." in value:
        found = table.get(value.partition(".")[0])
    return found


def channel_key(channel: str, node_id: str) -> str:
    """The shared text that replaces a node's lines on one channel (``sms:main.help``)."""
    return f"{channel}:{node_id}"


def node_lines(bundle: Bundle, node: Shown, channel: str) -> tuple[str, ...]:
    """The lines a node shows on `channel`: its channel's own text when the bundle has one."""
    own = bundle.texts.get(channel_key(channel, node.id))
    return (own,) if own else node.text


def question_lines(bundle: Bundle, node: Shown, state: State, ctx: Context) -> tuple[str, ...]:
    """The lines a node shows: for a places list whose level its country names otherwise,
    the list's `level_text` for that name (on every channel); else `node_lines`."""
    if isinstance(node, ListNode) and node.level_text:
        level = list_level(node, {**state.extras, **state.answers}, ctx)
        own = node.level_text.get(level) if level is not None else None
        if own:
            return own
    return node_lines(bundle, node, ctx.channel)


class _Line:
    """A line being fitted: its parts, and (rank, index) of the values that may be shortened."""

    __slots__ = ("parts", "values")

    def __init__(self, parts: list[str], values: list[tuple[int, int]]) -> None:
        self.parts = parts
        self.values = values

    def text(self) -> str:
        return "".join(self.parts).strip()


class _Filler:
    """Resolves placeholders for one screen: outcome values, answers, then context."""

    __slots__ = ("bundle", "ctx", "node", "state", "tr")

    def __init__(
        self, bundle: Bundle, state: State, ctx: Context, node: Shown, tr: Translator
    ) -> None:
        self.bundle, self.state, self.ctx, self.node, self.tr = bundle, state, ctx, node, tr

    def raw(self, name: str) -> str:
        state = self.state
        found = state.values.get(name) or state.answers.get(name) or state.extras.get(name)
        if found:
            return found
        if name == "service_code":
            return self.ctx.service_code
        if name == "max_length" and isinstance(self.node, TextInput):
            return str(self.node.max_length)
        return ""

    def value(self, name: str) -> str:
        raw = self.raw(name)
        if not raw:
            return ""
        alphabet = self.ctx.alphabet
        if name in self.bundle.place_answers:
            place = self.ctx.places.get(raw)
            shown = place_name(self.tr, place.name) if place is not None else raw
            return clean_value(shown, alphabet)
        label = label_of(self.bundle.labels.get(name, {}), raw)
        return clean_value(self.tr.gettext(label) if label else raw, alphabet)

    def rank(self, name: str) -> int | None:
        """In which order values are shortened: lower first; None never."""
        if name in KEPT_VALUES:
            return None
        if name in self.bundle.place_answers:
            return 1
        return 2 if name in self.bundle.labels else 0

    def line(self, msgid: str) -> _Line | None:
        parts: list[str] = []
        values: list[tuple[int, int]] = []
        named = filled = 0
        for literal, name in parse_template(self.tr.gettext(msgid), self.ctx.alphabet):
            parts.append(literal)
            if name is not None:
                value = self.value(name)
                named, filled = named + 1, filled + bool(value)
                rank = self.rank(name)
                if rank is not None:
                    values.append((rank, len(parts)))
                parts.append(value)
        if named and not filled:
            return None
        return _Line(parts, values)


def _next_cut(lines: list[_Line]) -> tuple[_Line, int] | None:
    """The longest value of the lowest rank that can still be shortened."""
    candidates = [
        (rank, -len(line.parts[index]), number, index)
        for number, line in enumerate(lines)
        for rank, index in line.values
        if len(line.parts[index]) > MIN_VALUE
    ]
    if not candidates:
        return None
    _, _, number, index = min(candidates)
    return lines[number], index


def _fit(lines: list[_Line], limit: int) -> list[str]:
    """Shorten the longest values until the lines cost at most `limit` (or cannot shrink)."""
    while True:
        texts = [line.text() for line in lines]
        over = sum(map(cost, texts)) - limit
        if over <= 0:
            return texts
        found = _next_cut(lines)
        if found is None:
            return texts
        line, index = found
        size = len(line.parts[index])
        line.parts[index] = shorten(line.parts[index], max(MIN_VALUE, size - over))


class _Numbered(Sequence[str]):
    """List items numbered 1..n, each cleaned only when a page asks for it."""

    __slots__ = ("_alphabet", "_names")

    def __init__(self, names: Sequence[str], alphabet: gsm.Alphabet) -> None:
        self._names = names
        self._alphabet = alphabet

    def __len__(self) -> int:
        return len(self._names)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return f"{index + 1} {clean_value(self._names[index], self._alphabet)}"


def _items(node: Shown, state: State, ctx: Context, tr: Translator) -> Sequence[str]:
    """The node's item lines, unshortened; a place list is only read as far as shown."""
    alphabet = ctx.alphabet
    match node:
        case Menu():
            return [f"{o.key} {clean_value(tr.gettext(o.label), alphabet)}" for o in node.options]
        case TextInput(skip=skip) if skip is not None:
            return [f"{skip.key} {clean_value(tr.gettext(skip.label), alphabet)}"]
        case ListNode():
            found = list_items(node, {**state.extras, **state.answers}, ctx)
            if node.source == "places":
                names = [place_name(tr, name) for _, name in found]
            else:
                names = [name for _, name in found]
            if node.other is not None:
                names.append(tr.gettext(node.other.label))
            return _Numbered(names, alphabet)
    return []


def _page_items(
    items: Sequence[str], offset: int, room: int, more_line: str
) -> tuple[list[str], bool]:
    """Take whole items from `offset` while they fit, keeping room for '98 More' if needed."""
    count = len(items)
    taken: list[str] = []
    used, index = 0, offset
    while index < count and used + cost(items[index]) <= room:
        taken.append(items[index])
        used, index = used + cost(taken[-1]), index + 1
    if index < count:
        while taken and used + cost(more_line) > room:
            used -= cost(taken.pop())
    if taken or count == 0:
        more = offset + len(taken) < count
        return ([*taken, more_line] if more else taken), more
    more = offset + 1 < count
    room -= cost(more_line) if more else 0
    first = shorten(items[offset], max(room - 1, 1))
    return ([first, more_line] if more else [first]), more


def _reserve(items: Sequence[str], offset: int) -> int:
    """Room kept for the first items when values in the text lines are shortened."""
    first = [items[i] for i in range(offset, min(offset + RESERVED_ITEMS, len(items)))]
    return min(sum(map(cost, first)), BUDGET // 2)


def _hard_cut(text: str) -> str:
    while gsm.septets(text) > BUDGET:
        text = text[:-1]
    return text


def layout(bundle: Bundle, state: State, ctx: Context) -> Page:
    """Render the shown node of `state` as one page."""
    node = bundle.nodes[state.node]
    if not isinstance(node, Menu | ListNode | TextInput | End):
        raise RenderError(f"{state.node} shows nothing")
    tr = ctx.translators(state.lang)
    filler = _Filler(bundle, state, ctx, node, tr)
    head = [filler.line(state.notice)] if state.notice else []
    head.extend(filler.line(text) for text in question_lines(bundle, node, state, ctx))
    items = _items(node, state, ctx, tr)
    offset = state.offset if state.offset < len(items) else 0
    footer = []
    if state.history and not isinstance(node, End):
        footer.append(f"0 {clean_value(tr.gettext(bundle.texts['back']), ctx.alphabet)}")
    fixed = sum(map(cost, footer))
    lines = _fit(
        [line for line in head if line is not None], _LIMIT - fixed - _reserve(items, offset)
    )
    room = _LIMIT - fixed - sum(map(cost, lines))
    more_line = f"{MORE_KEY} {clean_value(tr.gettext(bundle.texts['more']), ctx.alphabet)}"
    shown, more = _page_items(items, offset, room, more_line)
    text = "\n".join([*lines, *shown, *footer])
    fits = gsm.septets(text) <= BUDGET
    return Page(text if fits else _hard_cut(text), len(shown) - more, more, not fits)


def render(bundle: Bundle, state: State, ctx: Context) -> Screen:
    """Return the screen of `state`: translated, filled, in the context's alphabet (GSM-7 or
    ASCII), within `BUDGET`."""
    page = layout(bundle, state, ctx)
    return Screen(page.text, isinstance(bundle.nodes[state.node], End))
