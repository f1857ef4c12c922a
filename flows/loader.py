"""Compile flow definitions (YAML texts) into a `Bundle`, once, with every problem named.

The schema is described in docs/flows.md. A bundle is a set of documents, name → YAML
text; each document is one flow (or only shared `texts` and `labels`). Targets are a node
of the same flow (``place``), a flow (``report``: its first node) or a node of another
flow (``main.menu``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from flows import effects, safeyaml
from flows.model import (
    DRAFT_TARGET,
    LANGUAGE_NODE,
    MENU_NODE,
    NAVIGATION_KEYS,
    START_NODE,
    TEXT_ROLES,
    Action,
    Branch,
    Bundle,
    Case,
    Change,
    End,
    Flow,
    ListNode,
    Menu,
    Node,
    Option,
    TextInput,
)
from flows.places import LEVEL_WORDS

DEFINITIONS = Path(__file__).parent / "definitions"
KINDS = ("menu", "list", "text", "yesno", "confirm", "action", "branch", "end")
SOURCES = ("places", "languages")
PRESETS = ("country",)
VALIDATORS = ("case_number",)
MAX_TEXT_LENGTH = 1000
_AUTO_HOPS = 64


class BundleError(ValueError):
    """The definitions do not compile; `problems` names each one with its file and node."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("flow definitions refused:\n" + "\n".join(self.problems))


class _Skip(Exception):
    """A node is too broken to compile; its problem has been recorded."""


def bundle_version(texts: Mapping[str, str]) -> str:
    """Return the stable content hash of a set of definition texts."""
    digest = hashlib.sha256()
    for name in sorted(texts):
        digest.update(name.encode() + b"\0" + texts[name].encode() + b"\0")
    return digest.hexdigest()


def shipped_texts() -> tuple[dict[str, str], str]:
    """Return the shipped definitions (file stem → YAML text) and their version."""
    paths = sorted(DEFINITIONS.glob("*.yaml"))
    texts = {path.stem: path.read_text(encoding="utf-8") for path in paths}
    return texts, bundle_version(texts)


@cache
def shipped_bundle() -> Bundle:
    """Return the shipped definitions, compiled once per process."""
    return load_bundle(shipped_texts()[0])


def texts_with(paths: Iterable[Path], base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return `base` (default: the shipped texts) with these files added or replacing by stem."""
    texts = dict(shipped_texts()[0] if base is None else base)
    texts.update({path.stem: path.read_text(encoding="utf-8") for path in paths})
    return texts


@dataclass
class _Where:
    """Where a problem is: the file and node being compiled."""

    doc: str
    node: str | None = None

    def __str__(self) -> str:
        return f"{self.doc}.yaml" + (f": node '{self.node}'" if self.node else "")


@dataclass
class _Compiler:
    """Holds the raw documents and collects problems while compiling them."""

    raw: dict[str, dict[str, Any]]
    problems: list[str] = field(default_factory=list)
    ids: dict[str, list[str]] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    confirms: list[tuple[_Where, str, list[Any]]] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)

    def fail(self, where: _Where, message: str) -> _Skip:
        self.problems.append(f"{where}: {message}")
        return _Skip()

    # -- typed fields --------------------------------------------------------------------

    def string(self, where: _Where, raw: Mapping[str, Any], key: str) -> str:
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"'{key}' must be a non-empty string")
        return value

    def optional_string(self, where: _Where, raw: Mapping[str, Any], key: str) -> str | None:
        return None if raw.get(key) is None else self.string(where, raw, key)

    def lines(self, where: _Where, raw: Mapping[str, Any]) -> tuple[str, ...]:
        value = raw.get("text")
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            raise self.fail(where, "'text' must be a string or a list of strings")
        if not all(isinstance(line, str) and line.strip() for line in items):
            raise self.fail(where, "every line of 'text' must be a non-empty string")
        return tuple(items)

    def choice(
        self, where: _Where, raw: Mapping[str, Any], key: str, allowed: tuple[str, ...]
    ) -> str:
        value = raw.get(key)
        if value not in allowed:
            raise self.fail(where, f"'{key}' must be one of: {', '.join(allowed)}")
        return str(value)

    def names(self, where: _Where, raw: Mapping[str, Any], key: str) -> tuple[str, ...]:
        value = raw.get(key, [])
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise self.fail(where, f"'{key}' must be a name or a list of names")
        return tuple(items)

    # -- targets -------------------------------------------------------------------------

    def target(self, where: _Where, value: object, *, draft_ok: bool = False) -> str:
        if value == DRAFT_TARGET and draft_ok:
            return DRAFT_TARGET
        if not isinstance(value, str) or not value:
            raise self.fail(where, f"target {value!r} must be a node or flow name")
        flow, dot, node = value.partition(".")
        if not dot and value in self.ids.get(where.doc, ()):
            return f"{where.doc}.{value}"
        if not dot and self.ids.get(value):
            return f"{value}.{self.ids[value][0]}"
        if dot and node in self.ids.get(flow, ()):
            return value
        raise self.fail(where, f"target '{value}' does not exist")

    def step_target(self, where: _Where, raw: Mapping[str, Any], key: str) -> str:
        if key not in raw:
            raise self.fail(where, f"'{key}' is required")
        return self.target(where, raw[key])


def _parse(name: str, text: str, problems: list[str]) -> dict[str, Any] | None:
    try:
        data = safeyaml.load(text)
    except yaml.YAMLError as exc:
        problems.append(f"{name}.yaml: not valid YAML: {exc}")
        return None
    if not isinstance(data, dict):
        problems.append(f"{name}.yaml: the document must be a mapping")
        return None
    if data.get("flow", name) != name:
        problems.append(f"{name}.yaml: 'flow' is {data['flow']!r}, the file is named {name!r}")
    nodes = data.get("nodes", {})
    if not isinstance(nodes, dict) or not all(isinstance(key, str) for key in nodes):
        problems.append(f"{name}.yaml: 'nodes' must map node ids to nodes")
        return None
    bad = [key for key in nodes if not key.isidentifier()]
    problems.extend(f"{name}.yaml: node id '{key}' must be a plain identifier" for key in bad)
    return data


# -- nodes ---------------------------------------------------------------------------------


def _options(c: _Compiler, where: _Where, raw: Mapping[str, Any]) -> tuple[Option, ...]:
    items = raw.get("options")
    if not isinstance(items, list) or not items:
        raise c.fail(where, "'options' must be a non-empty list")
    options = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise c.fail(where, f"option {number} must be a mapping")
        goto = c.target(where, item["goto"], draft_ok=True) if "goto" in item else None
        key = str(item.get("key", number))
        value = None if item.get("value") is None else str(item["value"])
        options.append(Option(key, c.string(where, item, "label"), value, goto))
    return tuple(options)


def _keyed(c: _Compiler, where: _Where, options: tuple[Option, ...]) -> Mapping[str, Option]:
    keys: dict[str, Option] = {}
    for option in options:
        if option.key in NAVIGATION_KEYS:
            c.fail(where, f"option key '{option.key}' is a navigation key (0, 00, 98)")
        elif option.key in keys:
            c.fail(where, f"option key '{option.key}' is used twice")
        keys[option.key] = option
    return MappingProxyType(keys)


def _menu(c: _Compiler, where: _Where, raw: Mapping[str, Any], options: tuple[Option, ...]) -> Menu:
    answer = c.optional_string(where, raw, "answer")
    following = c.target(where, raw["next"]) if "next" in raw else None
    if following is None and any(option.goto is None for option in options):
        raise c.fail(where, "an option without 'goto' needs the node's 'next'")
    if answer is None and any(option.value is not None for option in options):
        raise c.fail(where, "options with a 'value' need the node's 'answer'")
    node_id = f"{where.doc}.{where.node}"
    return Menu(node_id, c.lines(where, raw), options, _keyed(c, where, options), answer, following)


def _compile_menu(c: _Compiler, where: _Where, raw: Mapping[str, Any]) -> Node:
    return _menu(c, where, raw, _options(c, where, raw))


def _compile_yesno(c: _Compiler, where: _Where, raw: Mapping[str, Any]) -> Node:
    yes_goto = c.target(where, raw["yes"]) if "yes" in raw else None
    no_goto = c.target(where, raw["no"]) if "no" in raw else None
    options = (
        Option("1", c.texts.get("yes", "yes"), "yes", yes_goto),
        Option("2", c.texts.get("no", "no"), "no", no_goto),
    )
    return _menu(c, where, raw, options)


def _compile_confirm(c: _Compiler, where: _Where, raw: Mapping[str, Any]) -> Node:
    changes = raw.get("change")
    if not isinstance(changes, list) or not changes:
        raise c.fail(where, "'change' must list the fields that can be changed")
    change_id = f"{where.doc}.{where.node}~change"
    c.confirms.append((where, change_id, changes))
    options = (
        Option("1", c.texts.get("send", "send"), None, c.step_target(where, raw, "send")),
        Option("2", c.texts.get("change", "change"), None, change_id),
        Option("3", c.texts.get("cancel", "cancel"), None, c.step_target(where, raw, "cancel")),
    )
    return _menu(c, where, {"text": raw.get("text")}, options)


def _other(c: _Compiler, where: _Where, raw: Mapping[str, Any], key: str) -> Option | None:
    item = raw.get(key)
    if item is None:
        return None
    if not isinstance(item, dict):
        raise c.fail(where, f"'{key}' must be a mapping with 'label' (and 'goto')")
    label = c.string(where, item, "label")
    goto = c.target(where, item["goto"]) if "goto" in item else None
    return Option(str(item.get("key", "1")), label, None, goto)


def _compile_list(c: _Compiler, where: _Where, raw: Mapping[str, Any]) -> Node:
    source = c.choice(where, raw, "source", SOURCES)
    preset = raw.get("preset")
    if preset is not None:
        c.choice(where, raw, "preset", PRESETS)
    other = _other(c, where, raw, "other")
    if other is not None and other.goto is None:
        raise c.fail(where, "'other' needs a 'goto'")
    return ListNode(
        id=f"{where.doc}.{where.node}",
        text=c.lines(where, raw),
        source="places" if source == "places" else "languages",
        answer=c.string(where, raw, "answer"),
        also=c.names(where, raw, "also"),
        parent=c.optional_string(where, raw, "parent"),
        preset=preset,
        other=other,
        next=c.step_target(where, raw, "next"),
        level_text=_level_text(c, where, raw, source),
    )


def _level_text(
    c: _Compiler, where: _Where, raw: Mapping[str, Any], source: str
) -> dict[str, tuple[str, ...]]:
    """The question of a places list for each name its level has in some country."""
    table = raw.get("level_text")
    if table is None:
        return {}
    if source != "places" or not isinstance(table, dict):
        raise c.fail(where, "'level_text' must be a mapping of level names, on a places list")
    unknown = sorted(str(name) for name in table if name not in LEVEL_WORDS)
    if unknown:
        raise c.fail(
            where,
            f"'level_text': no country calls a level {', '.join(map(repr, unknown))} "
            f"(known: {', '.join(sorted(LEVEL_WORDS))})",
        )
    found = {}
    for name, text in table.items():
        lines = [text] if isinstance(text, str) else text
        if not isinstance(lines, list) or not lines:
            raise c.fail(where, f"'level_text.{name}' must be a string or a list of strings")
        if not all(isinstance(line, str) and line.strip() for line in lines):
            raise c.fail(where, f"every line of 'level_text.{name}' must be a non-empty string")
        found[str(name)] = tuple(lines)
    return found


def _compile_text(c: _Compiler, where: _Where, raw: Mapping[str, Any]) -> Node:
    max_length = raw.get("max_length", 160)
    if not isinstance(max_length, int) or not 1 <= max_length <= MAX_TEXT_LENGTH:
        raise c.fail(where, f"'max_length' must be a whole number from 1 to {MAX_TEXT_LENGTH}")
    validator = raw.get("validator")
    if validator is not None:
        c.choice(where, raw, "validator", VALIDATORS)
    skip = _other(c, where, raw, "skip")
    if skip is not None and skip.key in NAVIGATION_KEYS:
        c.fail(where, f"skip key '{skip.key}' is a navigation key (0, 00, 98)")
    return TextInput(
        id=f"{where.doc}.{where.node}",
        text=c.lines(where, raw),
        answer=c.string(where, raw, "answer"),
        max_length=max_length,
        validator=validator,
        skip=skip,
        next=c.step_target(where, raw, "next"),
    )


def _compile_action(c: _Compiler, where: _Where, raw: Mapping[str, Any]) -> Node:
    effect = c.choice(where, raw, "effect", tuple(effects.BUILDERS))
    wait = raw.get("wait", True)
    if not isinstance(wait, bool):
        raise c.fail(where, "'wait' must be true or false")
    on_fail = c.target(where, raw["on_fail"]) if "on_fail" in raw else None
    if wait and on_fail is None:
        raise c.fail(where, "an action that waits for its outcome needs 'on_fail'")
    node_id = f"{where.doc}.{where.node}"
    error = c.optional_string(where, raw, "error")
    return Action(node_id, effect, wait, c.step_target(where, raw, "next"), on_fail, error)


def _case(c: _Compiler, where: _Where, item: object) -> Case:
    if not isinstance(item, dict) or "goto" not in item:
        raise c.fail(where, "each case must be a mapping with 'goto'")
    goto = c.target(where, item["goto"])
    if isinstance(item.get("draft"), bool):
        return Case(goto, draft=item["draft"])
    values = item.get("in")
    if not isinstance(values, list) or not values:
        raise c.fail(where, "a case needs 'draft: true|false' or 'answer' with a list 'in'")
    return Case(goto, c.string(where, item, "answer"), frozenset(map(str, values)))


def _compile_branch(c: _Compiler, where: _Where, raw: Mapping[str, Any]) -> Node:
    cases = raw.get("cases", [])
    if not isinstance(cases, list):
        raise c.fail(where, "'cases' must be a list")
    compiled = tuple(_case(c, where, item) for item in cases)
    return Branch(f"{where.doc}.{where.node}", compiled, c.step_target(where, raw, "else"))


def _compile_end(c: _Compiler, where: _Where, raw: Mapping[str, Any]) -> Node:
    return End(f"{where.doc}.{where.node}", c.lines(where, raw))


_COMPILERS: Mapping[str, Callable[[_Compiler, _Where, Mapping[str, Any]], Node]] = {
    "menu": _compile_menu,
    "yesno": _compile_yesno,
    "confirm": _compile_confirm,
    "list": _compile_list,
    "text": _compile_text,
    "action": _compile_action,
    "branch": _compile_branch,
    "end": _compile_end,
}


def _compile_node(c: _Compiler, where: _Where, raw: object) -> None:
    if not isinstance(raw, dict):
        c.fail(where, "a node must be a mapping")
        return
    try:
        kind = c.choice(where, raw, "kind", KINDS)
        node = _COMPILERS[kind](c, where, raw)
    except _Skip:
        return
    c.nodes[node.id] = node


# -- graph ---------------------------------------------------------------------------------


def successors(node: Node) -> tuple[str, ...]:
    """Return every node id a node can lead to (the draft target excluded)."""
    found: list[str | None]
    match node:
        case Menu():
            found = [option.goto for option in node.options] + [node.next]
        case ListNode():
            found = [node.next, node.other.goto if node.other else None]
        case TextInput():
            found = [node.next, node.skip.goto if node.skip else None]
        case Action():
            found = [node.next, node.on_fail]
        case Branch():
            found = [*(case.goto for case in node.cases), node.otherwise]
        case End():
            found = []
    return tuple(target for target in found if target and target != DRAFT_TARGET)


def answers_set(node: Node) -> tuple[str, ...]:
    """Return the answer names a node can store."""
    match node:
        case Menu(answer=str() as answer) | TextInput(answer=answer):
            return (answer,)
        case ListNode():
            return (node.answer, *node.also)
    return ()


def _segment_answers(
    nodes: Mapping[str, Node], start: str, stops: frozenset[str]
) -> frozenset[str]:
    seen: set[str] = set()
    found: set[str] = set()
    frontier = [start]
    while frontier:
        node_id = frontier.pop()
        if node_id in seen or node_id in stops or node_id not in nodes:
            continue
        seen.add(node_id)
        found.update(answers_set(nodes[node_id]))
        frontier.extend(successors(nodes[node_id]))
    return frozenset(found)


def _change_option(c: _Compiler, where: _Where, number: int, item: object, confirm: str) -> Option:
    if not isinstance(item, dict):
        raise c.fail(where, f"change {number} must be a mapping with 'label' and 'from'")
    start = c.step_target(where, item, "from")
    default_until = getattr(c.nodes.get(start), "next", None)
    until = c.target(where, item["until"]) if "until" in item else default_until
    if not isinstance(until, str):
        raise c.fail(where, f"change {number} needs 'until': its 'from' node has no 'next'")
    clears = _segment_answers(c.nodes, start, frozenset({until, confirm}))
    label = c.string(where, item, "label")
    return Option(str(number), label, None, start, Change(start, until, confirm, clears))


def _compile_changes(c: _Compiler) -> None:
    for where, change_id, items in c.confirms:
        confirm = change_id.removesuffix("~change")
        try:
            options = tuple(
                _change_option(c, where, number, item, confirm)
                for number, item in enumerate(items, start=1)
            )
        except _Skip:
            continue
        text = (c.texts.get("change_prompt", "change_prompt"),)
        c.nodes[change_id] = Menu(change_id, text, options, _keyed(c, where, options), None, None)


def _check_auto_loops(c: _Compiler) -> None:
    """An endless chain of nodes that show nothing would hang a hop; refuse it."""
    auto = {node_id for node_id, node in c.nodes.items() if isinstance(node, Branch | Action)}
    for start in sorted(auto):
        frontier, seen = [start], set()
        while frontier:
            node_id = frontier.pop()
            for target in successors(c.nodes[node_id]):
                if target == start:
                    c.problems.append(f"{start}: an endless loop of nodes that show nothing")
                    return
                if target in auto and target not in seen:
                    seen.add(target)
                    frontier.append(target)


# -- bundle --------------------------------------------------------------------------------


def _shared(c: _Compiler, key: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for name, doc in c.raw.items():
        value = doc.get(key, {})
        if not isinstance(value, dict):
            c.problems.append(f"{name}.yaml: '{key}' must be a mapping")
            continue
        merged.update(value)
    return merged


def _texts(c: _Compiler) -> dict[str, str]:
    texts = _shared(c, "texts")
    c.problems.extend(f"texts: '{role}' is not defined" for role in TEXT_ROLES if role not in texts)
    bad = [role for role, text in texts.items() if not isinstance(text, str) or not text.strip()]
    c.problems.extend(f"texts: '{role}' must be a non-empty string" for role in bad)
    return {role: str(text) for role, text in texts.items()}


def _labels(c: _Compiler) -> dict[str, Mapping[str, str]]:
    labels: dict[str, dict[str, str]] = {}
    for node in c.nodes.values():
        if isinstance(node, Menu) and node.answer:
            table = labels.setdefault(node.answer, {})
            table.update({o.value: o.label for o in node.options if o.value is not None})
    for name, table in _shared(c, "labels").items():
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            c.problems.append(f"labels: '{name}' must map values to texts")
            continue
        labels.setdefault(name, {}).update({str(k): v for k, v in table.items()})
    return {name: MappingProxyType(table) for name, table in labels.items()}


def _flows(c: _Compiler) -> dict[str, Flow]:
    flows = {}
    for name, ids in c.ids.items():
        draft = c.raw[name].get("draft", False)
        if not isinstance(draft, bool):
            c.problems.append(f"{name}.yaml: 'draft' must be true or false")
        if ids:
            flows[name] = Flow(name, f"{name}.{ids[0]}", draft is True)
    return flows


def _required(c: _Compiler) -> None:
    for node_id in (START_NODE, LANGUAGE_NODE, MENU_NODE):
        if node_id not in c.nodes:
            c.problems.append(f"{node_id}: this node is required")


def load_bundle(texts: Mapping[str, str]) -> Bundle:
    """Compile the definitions; raise `BundleError` listing every problem found."""
    problems: list[str] = []
    raw = {name: doc for name, text in texts.items() if (doc := _parse(name, text, problems))}
    c = _Compiler(raw=raw, problems=problems)
    c.texts = _texts(c)
    c.ids = {name: list(doc.get("nodes", {})) for name, doc in raw.items()}
    for name, doc in raw.items():
        for node_name, node in doc.get("nodes", {}).items():
            _compile_node(c, _Where(name, node_name), node)
    _compile_changes(c)
    _check_auto_loops(c)
    _required(c)
    flows, labels = _flows(c), _labels(c)
    if c.problems:
        raise BundleError(c.problems)
    return _bundle(c, texts, flows, labels)


def _bundle(
    c: _Compiler,
    texts: Mapping[str, str],
    flows: dict[str, Flow],
    labels: dict[str, Mapping[str, str]],
) -> Bundle:
    draft_flows = {name for name, flow in flows.items() if flow.draft}
    draft_keys = {
        answer
        for node_id, node in c.nodes.items()
        if node_id.partition(".")[0] in draft_flows
        for answer in answers_set(node)
    }
    places = {
        answer
        for node in c.nodes.values()
        if isinstance(node, ListNode) and node.source == "places"
        for answer in answers_set(node)
    }
    return Bundle(
        version=bundle_version(texts),
        flows=MappingProxyType(flows),
        nodes=MappingProxyType(dict(c.nodes)),
        texts=MappingProxyType(c.texts),
        labels=MappingProxyType(labels),
        place_answers=frozenset(places),
        draft_keys=frozenset(draft_keys),
        sources=MappingProxyType(dict(texts)),
    )
