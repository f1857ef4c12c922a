"""The flow engine: a pure function of (bundle, state, input, context) to the next step.

No I/O, clock or randomness. A hop is `step` (one input) and, while the returned step has
no screen, `resume` with the outcome of its last effect. Effects that need no outcome
(SetLanguage, DiscardDraft) come with a screen in the same step.

Keys: ``0`` goes back to the previous question (its page restored, its answer undone;
on the first screen it stays), ``00`` goes to the main menu (a report in progress stays
as the draft), ``98`` shows the next page of a long menu or list (after the last page,
the first again). Anything else a node cannot take re-shows it with an error line.

On the voice channel (`flows.voice`) a screen is spoken instead of shown, and the keys
differ a little: ``*`` says the screen again; the hash key alone or silence (fed as ``""``)
goes on past a free-text question that may be skipped, and is otherwise "no key heard";
a list is read `flows.voice.LIST_PAGE` items at a time (``98`` for more) and offers no
typed place name; free text is taken only as a spoken answer the gateway names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from flows import effects
from flows.effects import Effect, Outcome
from flows.model import (
    BACK_KEY,
    DRAFT_TARGET,
    LANGUAGE_NODE,
    MAIN_KEY,
    MENU_NODE,
    MORE_KEY,
    OPTIONAL_TEXTS,
    START_NODE,
    Action,
    Branch,
    Bundle,
    Case,
    Change,
    End,
    ListNode,
    Menu,
    Node,
    Option,
    Screen,
    TextInput,
)
from flows.render import layout, render
from flows.sources import list_items
from flows.state import (
    DRAFT_NAME,
    Context,
    Entry,
    Return,
    State,
    entries_from_list,
    ret_from_list,
)
from flows.validators import normalize_case_number
from flows.voice import (
    GO_ON_KEY,
    REPEAT_KEY,
    SPOKEN_PREFIX,
    VOICE,
    VOICE_TEXTS,
    list_page,
    render_voice,
)

__all__ = [
    "Bundle",
    "Context",
    "Effect",
    "FlowError",
    "Outcome",
    "Screen",
    "State",
    "Step",
    "VersionMismatch",
    "expects_text",
    "render",
    "render_step",
    "resume",
    "start",
    "step",
]

_MAX_AUTO = 64
_MAX_VALUE = 1000
_CONTROL = dict.fromkeys(range(32), " ") | {127: " "}


class FlowError(RuntimeError):
    """The engine was asked something that cannot happen in a well-run session."""


class VersionMismatch(FlowError):
    """A state is stepped with a bundle other than the one it started on."""

    def __init__(self, state_version: str, bundle_version: str) -> None:
        self.state_version = state_version
        self.bundle_version = bundle_version
        super().__init__(
            f"the session started on flows {state_version[:12]} but was given "
            f"{bundle_version[:12]}; step it with the bundle of its own version"
        )


@dataclass(frozen=True, slots=True)
class Step:
    """The new state, the effects to run in order, and the screen (None: resume first)."""

    state: State
    effects: tuple[Effect, ...]
    screen: Screen | None


def clean_input(text: str) -> str:
    """Free text as stored: control characters and runs of spaces become single spaces."""
    return " ".join(text.translate(_CONTROL).split())


class _Run:
    """One hop's working copy of a state; `finish` freezes it into a `Step`."""

    def __init__(self, bundle: Bundle, ctx: Context, state: State) -> None:
        self.bundle, self.ctx = bundle, ctx
        self.version, self.lang, self.node = state.version, state.lang, state.node
        self.offset, self.history = state.offset, list(state.history)
        self.answers, self.extras = dict(state.answers), dict(state.extras)
        self.values, self.notice = dict(state.values), state.notice
        self.ret, self.draft_node = state.ret, state.draft_node
        self.trail, self.trail_ret = state.trail, state.trail_ret
        self.effects: list[Effect] = []
        self.pending = isinstance(bundle.nodes[state.node], Action)
        self.voice = ctx.channel == VOICE

    # -- state -----------------------------------------------------------------------------

    def freeze(self) -> State:
        if self.draft_node is not None and self.node == self.draft_node:
            self.trail = tuple(e for e in self.history if self.bundle.in_draft(e.node))
            self.trail_ret = self.ret
        return State(
            version=self.version,
            lang=self.lang,
            node=self.node,
            offset=self.offset,
            history=tuple(self.history),
            answers=dict(self.answers),
            extras=dict(self.extras),
            values=dict(self.values),
            notice=self.notice,
            ret=self.ret,
            draft_node=self.draft_node,
            trail=self.trail,
            trail_ret=self.trail_ret,
        )

    def finish(self) -> Step:
        state = self.freeze()
        found = tuple(self.effects)
        if not self.pending:
            draw = render_voice if self.voice else render
            return Step(state, found, draw(self.bundle, state, self.ctx))
        if not found:
            found = (self.effect_of(self.action()),)
        return Step(state, found, None)

    def action(self) -> Action:
        node = self.bundle.nodes[self.node]
        if not isinstance(node, Action):
            raise FlowError("no effect is pending")
        return node

    def effect_of(self, action: Action) -> Effect:
        return effects.build(action.effect, {**self.extras, **self.answers}, self.answers)

    def store(self, key: str) -> dict[str, str]:
        return self.answers if key in self.bundle.draft_keys else self.extras

    def restore(self, key: str, value: str | None) -> None:
        if value is None:
            self.store(key).pop(key, None)
        else:
            self.store(key)[key] = value

    def set(self, key: str, value: str | None) -> None:
        """Change an answer, remembering in the newest history entry how to undo it."""
        previous = self.store(key).get(key)
        if previous == value:
            return
        if self.history:
            top = self.history[-1]
            self.history[-1] = replace(top, undo=(*top.undo, (key, previous)))
        self.restore(key, value)

    def clear_draft(self) -> None:
        self.answers.clear()
        self.draft_node = None
        self.trail, self.trail_ret = (), None

    # -- moving ----------------------------------------------------------------------------

    def go(self, target: str) -> None:
        """Follow nodes that show nothing until one shows something or awaits an outcome."""
        for _ in range(_MAX_AUTO):
            target = self.returning(self.draft_target() if target == DRAFT_TARGET else target)
            following = self.enter(self.bundle.nodes[target])
            if following is None:
                return
            target = following
        raise FlowError(f"no screen after {_MAX_AUTO} nodes from {target}")

    def draft_target(self) -> str:
        found = self.draft_node
        return found if found is not None and found in self.bundle.nodes else MENU_NODE

    def returning(self, target: str) -> str:
        """While one field of a summary is changed, reaching its end goes back to the summary."""
        if self.ret is not None and target in (self.ret.until, self.ret.to):
            target, self.ret = self.ret.to, None
        return target

    def enter(self, node: Node) -> str | None:
        match node:
            case Branch():
                return next((c.goto for c in node.cases if self.holds(c)), node.otherwise)
            case Action():
                return self.act(node)
            case ListNode():
                return self.enter_list(node)
        self.show(node.id)
        return None

    def holds(self, case: Case) -> bool:
        if case.draft is not None:
            return case.draft == bool(self.answers)
        name = case.answer or ""
        # An answer, an extra, or a value the last effect's outcome gave (``within``).
        value = self.answers.get(name) or self.extras.get(name) or self.values.get(name)
        return value in case.values

    def act(self, node: Action) -> str | None:
        effect = self.effect_of(node)
        self.effects.append(effect)
        if isinstance(effect, effects.SetLanguage) and effect.lang:
            self.lang = effect.lang
        elif isinstance(effect, effects.DiscardDraft):
            self.clear_draft()
        if node.wait:
            self.node, self.pending = node.id, True
            return None
        return node.next

    def enter_list(self, node: ListNode) -> str | None:
        preset = self.ctx.country if node.preset == "country" else None
        if preset:
            self.choose_value(node, preset)
            return node.next
        if not list_items(node, {**self.extras, **self.answers}, self.ctx):
            return node.next
        self.show(node.id)
        return None

    def show(self, node_id: str, offset: int = 0) -> None:
        if self.history and self.history[-1].node == node_id:
            self.history.pop()
        if _offers_draft(self.bundle.nodes[node_id]):
            # The offer to continue a report is no question of its own: nothing to go
            # back to from it, and it is never a step to go back to.
            self.history.clear()
        self.node, self.offset = node_id, offset
        if self.bundle.in_draft(node_id) and not isinstance(self.bundle.nodes[node_id], End):
            self.draft_node = node_id

    def open(self) -> None:
        """An input was accepted at the shown node: it becomes the newest back step."""
        self.history.append(Entry(self.node, self.offset, (), self.ret))
        self.notice = None

    # -- inputs ----------------------------------------------------------------------------

    def feed(self, text: str) -> None:
        node = self.bundle.nodes[self.node]
        key = text.strip()
        if isinstance(node, End):
            return
        if key == MAIN_KEY:
            self.main_menu()
        elif key == BACK_KEY:
            self.back()
        elif self.voice and key == REPEAT_KEY:
            self.notice = None
        elif self.voice and not isinstance(node, TextInput) and key == GO_ON_KEY:
            self.refuse("voice.no_key")
        elif self.voice and isinstance(node, TextInput):
            self.feed_spoken(node, text)
        elif isinstance(node, Menu):
            self.feed_menu(node, key)
        elif isinstance(node, ListNode):
            self.feed_list(node, key)
        elif isinstance(node, TextInput):
            self.feed_text(node, text)

    def refuse(self, role: str) -> None:
        self.notice = self.bundle.texts.get(role) or VOICE_TEXTS.get(role) or OPTIONAL_TEXTS[role]

    def feed_spoken(self, node: TextInput, text: str) -> None:
        """A key (or a spoken answer) at a free-text question on the voice channel: a case
        number is typed with the keys; other free text is only a spoken answer, and the
        hash key alone passes over a question that may be skipped."""
        if node.validator == "case_number":
            if text.strip() == GO_ON_KEY:
                self.refuse("voice.no_key")
            else:
                self.feed_text(node, text)
        elif text.startswith(SPOKEN_PREFIX):
            self.feed_text(node, text)
        elif node.skip is not None and (
            text.strip() == node.skip.key or (text.strip() == GO_ON_KEY and not self.ctx.record)
        ):
            # Silence or the hash key passes a question that may be skipped; where an answer
            # may be spoken, only its skip key does: silence there is asked again.
            self.feed_text(node, node.skip.key)
        else:
            self.refuse("voice.no_key" if not text.strip() else "invalid_choice")

    def feed_menu(self, node: Menu, key: str) -> None:
        option = node.keys.get(key)
        if key == MORE_KEY and option is None:
            self.more()
        elif option is None:
            self.refuse("invalid_choice")
        else:
            self.choose(node, option)

    def choose(self, node: Menu, option: Option) -> None:
        self.open()
        if node.answer is not None and option.value is not None:
            self.set(node.answer, option.value)
        if option.change is not None:
            self.start_change(option.change)
        target = option.goto or node.next
        if target is None:
            raise FlowError(f"{node.id}: option {option.key} leads nowhere")
        if _offers_draft(node):
            # Continuing the report brings back its own back steps; starting again, none.
            self.history = list(self.trail) if target == DRAFT_TARGET else []
            self.ret = self.trail_ret if target == DRAFT_TARGET else None
        self.go(target)

    def start_change(self, change: Change) -> None:
        for key in sorted(change.clears):
            self.set(key, None)
        self.ret = Return(change.summary, change.until)

    def feed_list(self, node: ListNode, key: str) -> None:
        if key == MORE_KEY:
            self.more()
            return
        found = list_items(node, {**self.extras, **self.answers}, self.ctx)
        number = int(key) if key.isascii() and key.isdigit() and len(key) < 6 else 0
        if self.voice:
            # A spoken list numbers each page from 1: one key chooses on any page.
            first, end, _ = list_page(found, self.offset)
            number = first + number if 1 <= number <= end - first else 0
        if 1 <= number <= len(found):
            self.open()
            self.choose_value(node, found[number - 1][0])
            self.go(node.next)
        elif (
            node.other is not None
            and node.other.goto
            and number == len(found) + 1
            and not self.voice  # a caller chooses from the list: no name to type
        ):
            self.open()
            self.go(node.other.goto)
        else:
            self.refuse("invalid_choice")

    def choose_value(self, node: ListNode, value: str) -> None:
        for key in (node.answer, *node.also):
            self.set(key, value)

    def feed_text(self, node: TextInput, raw: str) -> None:
        text = clean_input(raw)
        if node.skip is not None and text == node.skip.key:
            self.open()
            self.set(node.answer, None)
            self.go(node.skip.goto or node.next)
            return
        value = self.checked(node, text)
        if value is not None:
            self.open()
            self.set(node.answer, value)
            self.go(node.next)

    def checked(self, node: TextInput, text: str) -> str | None:
        if not text:
            self.refuse("empty_text")
            return None
        if len(text) > node.max_length:
            self.refuse("too_long")
            return None
        if node.validator == "case_number":
            number = normalize_case_number(text)
            if number is None:
                self.refuse("invalid_case_number")
            return number
        return text

    def more(self) -> None:
        if self.voice:
            self.more_spoken()
            return
        page = layout(self.bundle, self.freeze(), self.ctx)
        if page.more:
            self.offset += max(page.shown, 1)
        elif self.offset:
            self.offset = 0
        else:
            self.refuse("invalid_choice")
            return
        self.notice = None

    def more_spoken(self) -> None:
        """The next list page on the voice channel (after the last, the first again)."""
        node = self.bundle.nodes[self.node]
        items = (
            list_items(node, {**self.extras, **self.answers}, self.ctx)
            if isinstance(node, ListNode)
            else ()
        )
        first, end, more = list_page(items, self.offset)
        if more:
            self.offset = end
        elif first:
            self.offset = 0
        else:
            self.refuse("invalid_choice")
            return
        self.notice = None

    def back(self) -> None:
        self.notice = None
        if not self.history:
            return
        entry = self.history.pop()
        for key, previous in reversed(entry.undo):
            self.restore(key, previous)
        self.ret = entry.ret
        self.show(entry.node, entry.offset)

    def main_menu(self) -> None:
        self.history.clear()
        self.extras.clear()
        self.values.clear()
        self.ret = self.notice = None
        self.go(MENU_NODE)

    # -- outcomes --------------------------------------------------------------------------

    def outcome(self, outcome: Outcome) -> None:
        node = self.action()
        self.pending = False
        self.values = {str(k): str(v)[:_MAX_VALUE] for k, v in outcome.values.items()}
        if outcome.ok:
            if node.effect == "SubmitReport":
                self.clear_draft()
            self.go(node.next)
        else:
            self.notice = node.error
            self.go(node.on_fail or node.next)

    def load_draft(self, draft: Mapping[str, Any] | None) -> None:
        """Keep a saved report as this session's draft (only what this bundle knows)."""
        if not isinstance(draft, Mapping) or not isinstance(draft.get("answers"), Mapping):
            return
        self.answers = {
            key: value[:_MAX_VALUE]
            for key, value in draft["answers"].items()
            if (key in self.bundle.draft_keys or key == DRAFT_NAME) and isinstance(value, str)
        }
        questions = [
            node_id
            for node_id, node in self.bundle.nodes.items()
            if isinstance(node, Menu | ListNode | TextInput) and self.bundle.in_draft(node_id)
        ]
        wanted = draft.get("node")
        self.draft_node = wanted if wanted in questions else next(iter(questions), None)
        self.trail, self.trail_ret = (
            self.draft_trail(draft) if wanted == self.draft_node else ((), None)
        )

    def draft_trail(self, draft: Mapping[str, Any]) -> tuple[tuple[Entry, ...], Return | None]:
        """A draft's back steps, when every one of them still fits this bundle."""
        try:
            trail = entries_from_list(draft.get("trail", []))
            ret = ret_from_list(draft.get("trail_ret"))
        except (TypeError, ValueError):
            return (), None
        nodes = self.bundle.nodes
        known = all(e.node in nodes and self.bundle.in_draft(e.node) for e in trail) and all(
            r is None or (r.to in self.bundle.nodes and r.until in self.bundle.nodes)
            for r in (ret, *(entry.ret for entry in trail))
        )
        return (trail, ret) if known else ((), None)


# -- the public functions ------------------------------------------------------------------


def _offers_draft(node: Node) -> bool:
    """The menu that offers to continue an unfinished report (an option goes to @draft)."""
    return isinstance(node, Menu) and any(o.goto == DRAFT_TARGET for o in node.options)


def _checked(bundle: Bundle, state: State) -> None:
    if state.version != bundle.version:
        raise VersionMismatch(state.version, bundle.version)
    if isinstance(bundle.nodes.get(state.node), Branch | None):
        raise FlowError(f"a state cannot stand at {state.node!r}")


def start(
    bundle: Bundle,
    ctx: Context,
    *,
    has_language: bool = True,
    draft: Mapping[str, Any] | None = None,
    entry: str | None = None,
    restarted: bool = False,
) -> Step:
    """Begin a session: the language list for a number that never picked one, then the
    offer to continue an unfinished report when `draft` is given, else the main menu.

    `entry` (a node id or a flow name, e.g. ``"status"``) starts there instead.
    `restarted` says on the first screen that an interrupted session starts again here.
    """
    first = bundle.target(entry) if entry else START_NODE if has_language else LANGUAGE_NODE
    run = _Run(bundle, ctx, State(version=bundle.version, lang=ctx.lang, node=MENU_NODE))
    run.load_draft(draft)
    run.go(first)
    if restarted:
        role = "session_restarted"
        run.notice = bundle.texts.get(role, OPTIONAL_TEXTS[role])
    return run.finish()


def step(bundle: Bundle, state: State, text: str, ctx: Context) -> Step:
    """Feed one input. While an effect is pending the input is ignored and it is asked again."""
    _checked(bundle, state)
    run = _Run(bundle, ctx, state)
    if not run.pending:
        run.feed(text)
    return run.finish()


def resume(bundle: Bundle, state: State, outcome: Outcome, ctx: Context) -> Step:
    """Feed the outcome of the pending effect; raise `FlowError` when none is pending."""
    _checked(bundle, state)
    run = _Run(bundle, ctx, state)
    run.outcome(outcome)
    return run.finish()


def render_step(bundle: Bundle, state: State, ctx: Context) -> Step:
    """Return the current screen again (or the pending effect again), changing nothing."""
    _checked(bundle, state)
    return _Run(bundle, ctx, state).finish()


def expects_text(bundle: Bundle, state: State) -> bool:
    """Tell whether the shown node takes free text (so a USSD input may contain '*')."""
    return isinstance(bundle.nodes.get(state.node), TextInput)
