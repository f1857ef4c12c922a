"""The bounded YAML reader: deep nesting, aliases and unbuildable values are refused with
the line they are on, never a RecursionError or a ValueError."""

from __future__ import annotations

import time

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from flows import safeyaml
from flows.safeyaml import MAX_DEPTH, YAMLRefused

FLOW_DEEP = "[" * 5000 + "]" * 5000
MAP_DEEP = "a: " + "{b: " * 3000 + "1" + "}" * 3000
BLOCK_DEEP = "\n".join(" " * (2 * i) + "- " for i in range(2000)) + "x\n"


def refusal(text: str) -> YAMLRefused:
    with pytest.raises(YAMLRefused) as caught:
        safeyaml.load(text)
    return caught.value


@pytest.mark.parametrize("text", [FLOW_DEEP, MAP_DEEP])
def test_deep_flow_collections_are_refused_on_their_line(text: str) -> None:
    found = refusal(text)
    assert str(found) == f"line 1: nested deeper than {MAX_DEPTH} levels"
    assert isinstance(found, yaml.MarkedYAMLError)


def test_deep_block_collections_name_the_line_that_goes_too_deep() -> None:
    assert str(refusal(BLOCK_DEEP)) == f"line {MAX_DEPTH + 1}: nested deeper than 64 levels"


def test_nesting_up_to_the_limit_is_read() -> None:
    text = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    value = safeyaml.load(text)
    for _ in range(MAX_DEPTH - 1):
        value = value[0]
    assert value == []
    assert safeyaml.compose(text) is not None


def test_a_huge_deep_document_is_refused_quickly() -> None:
    started = time.process_time()
    refusal("[" * (safeyaml.MAX_CHARS - 1))
    assert time.process_time() - started < 2


def test_a_document_over_the_size_limit_is_refused() -> None:
    assert "larger than 5 MB" in str(refusal("#" * (safeyaml.MAX_CHARS + 1)))


@pytest.mark.parametrize(
    "text",
    [
        "base: &b {x: 1}\ncopy: *b\n",
        "a: &a [*a]\n",
        "base: &b {x: 1}\nother:\n  <<: *b\n",
        'a: &a ["lol", "lol"]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n',
    ],
)
def test_aliases_are_refused(text: str) -> None:
    found = refusal(text)
    assert "aliases" in found.problem
    with pytest.raises(YAMLRefused):
        safeyaml.compose(text)


def test_anchors_without_aliases_and_inline_merges_are_read() -> None:
    assert safeyaml.load("a: &x 1\nb: {<<: {c: 2}, d: 3}\n") == {"a": 1, "b": {"c": 2, "d": 3}}


@pytest.mark.parametrize(
    ("text", "line", "said"),
    [
        ("x: 2024-13-45\n", 1, "month must be in 1..12"),
        ("x: !!int abc\n", 1, "invalid literal"),
        ("x: !!float abc\n", 1, "could not convert"),
        ("y: 1\nx: " + "1" * 5000 + "\n", 2, "a number longer than 100 characters"),
        ("x: 1" + ":1" * 40_000 + "\n", 1, "a number longer than 100 characters"),
    ],
)
def test_values_that_cannot_be_built_are_refused_on_their_line(
    text: str, line: int, said: str
) -> None:
    found = refusal(text)
    assert said in str(found)
    assert found.line == line


def test_plain_documents_read_as_safe_load_reads_them() -> None:
    text = "flow: main\nnodes:\n  a: {text: [Hello], options: [{key: '1', to: b}]}\nn: 12\n"
    assert safeyaml.load(text) == yaml.safe_load(text)


@settings(max_examples=60, deadline=None)
@given(
    depth=st.integers(min_value=0, max_value=2000),
    opener=st.sampled_from(["[", "{a: ", "- "]),
)
def test_any_nesting_is_read_or_refused_never_a_crash(depth: int, opener: str) -> None:
    if opener == "- ":
        text = "\n".join(" " * (2 * i) + "- " for i in range(depth)) + "x"
    else:
        closer = "]" if opener == "[" else "}"
        text = opener * depth + "1" + closer * depth
    if depth <= MAX_DEPTH:
        safeyaml.load(text)
    else:
        with pytest.raises(YAMLRefused, match="nested deeper than 64 levels"):
            safeyaml.load(text)
