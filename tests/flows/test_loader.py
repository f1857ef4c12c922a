"""Compiling definitions: the shipped ones, and every problem named with its file and node."""

from __future__ import annotations

from collections.abc import Callable
from textwrap import dedent
from typing import Any

import pytest

from flows.loader import BundleError, bundle_version, load_bundle, shipped_bundle, shipped_texts
from flows.model import Change, Menu

Build = Callable[[dict[str, str]], Any]


def problems(bundle_with: Build, **docs: str) -> str:
    with pytest.raises(BundleError) as caught:
        bundle_with(docs)
    return "\n".join(caught.value.problems)


def test_the_shipped_flows_compile_once() -> None:
    texts, version = shipped_texts()
    assert set(texts) >= {"common", "main", "report", "status", "add_info"}
    assert shipped_bundle() is shipped_bundle()
    assert shipped_bundle().version == version


def test_the_version_is_a_hash_of_the_texts() -> None:
    texts, version = shipped_texts()
    assert bundle_version(dict(reversed(texts.items()))) == version
    assert bundle_version({**texts, "main": texts["main"] + "\n"}) != version


def test_report_answers_make_the_draft(bundle: Any) -> None:
    assert {"category", "hazard", "place_code", "place_text", "description"} <= bundle.draft_keys
    assert "case_number" not in bundle.draft_keys


def test_changing_a_field_clears_what_its_questions_can_set(bundle: Any) -> None:
    change_menu = bundle.nodes["report.summary~change"]
    assert isinstance(change_menu, Menu)
    changes = {o.label: o.change for o in change_menu.options}
    assert changes["What happened"] == Change(
        "report.category", "report.country", "report.summary", frozenset({"category", "hazard"})
    )
    place = changes["Place"]
    assert place is not None
    assert place.clears == {"country", "province", "territory", "site", "place_code", "place_text"}
    assert changes["When"] is not None
    assert changes["When"].until == "report.danger"


def test_a_dangling_target_is_named_with_file_and_node(bundle_with: Build) -> None:
    doc = """
        nodes:
          a:
            kind: action
            effect: DiscardDraft
            wait: false
            next: nowhere
    """
    found = problems(bundle_with, extra=dedent(doc))
    assert "extra.yaml: node 'a': target 'nowhere' does not exist" in found


def test_option_keys_may_not_be_navigation_keys_or_repeat(bundle_with: Build) -> None:
    doc = """
        nodes:
          m:
            kind: menu
            text: Pick
            options:
              - {key: "98", label: X, goto: main.menu}
              - {key: "1", label: Y, goto: main.menu}
              - {key: "1", label: Z, goto: main.menu}
    """
    found = problems(bundle_with, extra=dedent(doc))
    assert "extra.yaml: node 'm': option key '98' is a navigation key (0, 00, 98)" in found
    assert "extra.yaml: node 'm': option key '1' is used twice" in found


BROKEN_NODES = [
    ("{kind: teleport}", "'kind' must be one of"),
    ("{kind: end}", "'text' must be a string or a list of strings"),
    ("{kind: action, effect: LookupCase, next: main.menu}", "needs 'on_fail'"),
    ("{kind: action, effect: Launch, next: main.menu}", "'effect' must be one of"),
    ("{kind: text, text: T, answer: x, max_length: 0, next: main.menu}", "'max_length'"),
    ("{kind: list, source: planets}", "'source' must be one of"),
    ("{kind: menu, text: T, options: [{label: X, value: v}], next: main.menu}", "node's 'answer'"),
    ("{kind: menu, text: T, options: [{label: X}]}", "needs the node's 'next'"),
    ("{kind: branch, cases: [{goto: main.menu}], else: main.menu}", "a case needs"),
]


@pytest.mark.parametrize(("node", "message"), BROKEN_NODES)
def test_node_schema_errors_are_explained(bundle_with: Build, node: str, message: str) -> None:
    found = problems(bundle_with, extra=f"nodes:\n  a: {node}\n").splitlines()
    assert any(line.startswith("extra.yaml: node 'a': ") and message in line for line in found)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("nodes: [1, 2]\n", "extra.yaml: 'nodes' must map node ids to nodes"),
        ("flow: other\nnodes: {}\n", "extra.yaml: 'flow' is 'other'"),
        ("nodes:\n  a: [\n", "extra.yaml: not valid YAML"),
        ("nodes: " + "[" * 5000, "extra.yaml: not valid YAML: line 1: nested deeper than 64"),
        ("a: &x {}\nnodes: *x\n", "extra.yaml: not valid YAML: line 2: aliases (*x)"),
        ("nodes: {}\nx: 2024-13-45\n", "extra.yaml: not valid YAML: line 2: '2024-13-45'"),
    ],
)
def test_document_errors_are_explained(bundle_with: Build, doc: str, message: str) -> None:
    assert message in problems(bundle_with, extra=doc)


def test_a_loop_of_nodes_that_show_nothing_is_refused(bundle_with: Build) -> None:
    doc = "nodes:\n  a:\n    kind: branch\n    else: b\n  b:\n    kind: branch\n    else: a\n"
    assert "an endless loop of nodes that show nothing" in problems(bundle_with, extra=doc)


def test_required_nodes_and_texts_must_exist() -> None:
    with pytest.raises(BundleError) as caught:
        load_bundle({"main": "nodes:\n  hello:\n    kind: end\n    text: Hi\n"})
    joined = "\n".join(caught.value.problems)
    assert "main.start: this node is required" in joined
    assert "texts: 'more' is not defined" in joined


def test_targets_resolve_to_nodes_flows_and_other_flows_nodes(bundle: Any) -> None:
    menu = bundle.nodes["main.menu"]
    assert isinstance(menu, Menu)
    assert [o.goto for o in menu.options] == [
        "report.start",
        "status.case_number",
        "add_info.case_number",
        "main.language",
        "main.help",
    ]
    assert bundle.target("status") == "status.case_number"
    with pytest.raises(KeyError):
        bundle.target("nowhere")
