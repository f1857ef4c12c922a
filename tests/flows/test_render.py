"""Screens: paging, error lines, shortened values, and the hard limit as a last resort."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from flows import gsm
from flows.engine import State
from flows.places import StaticPlaces
from flows.render import BUDGET, layout, shorten
from flows.state import Entry

LONG = "Kalehe-Nyabibwe cooperative site number "  # 40 characters


def wide_places(count: int) -> StaticPlaces:
    rows = [("cd", "RD Congo", None, "country")]
    rows += [(f"p{n}", f"{LONG[:37]}{n:03d}", "cd", "province") for n in range(1, count + 1)]
    return StaticPlaces(rows)


def at(bundle: Any, node: str, **fields: Any) -> State:
    return replace(State(version=bundle.version, lang="en", node=node), **fields)


def test_a_long_list_pages_with_continuous_numbers(
    bundle: Any, make_ctx: Callable[..., Any]
) -> None:
    ctx = make_ctx(places=wide_places(7))
    state = at(
        bundle, "report.province", answers={"country": "cd"}, history=(Entry("main.menu", 0),)
    )
    offset, pages = 0, []
    while True:
        page = layout(bundle, replace(state, offset=offset), ctx)
        pages.append(page.text.splitlines())
        assert gsm.septets(page.text) <= BUDGET
        if not page.more:
            break
        assert page.text.endswith("98 More\n0 Back")
        offset += page.shown
    keys = [line.split()[0] for lines in pages for line in lines[1:] if line[0].isdigit()]
    assert [key for key in keys if key not in ("98", "0")] == [str(n) for n in range(1, 9)]
    assert pages[-1][-2:] == ["8 Not in the list", "0 Back"]


def test_an_error_line_leaves_room_for_fewer_items(
    bundle: Any, make_ctx: Callable[..., Any]
) -> None:
    ctx = make_ctx(places=wide_places(7))
    state = at(bundle, "report.province", answers={"country": "cd"})
    plain = layout(bundle, state, ctx)
    refused = layout(bundle, replace(state, notice=bundle.texts["invalid_choice"]), ctx)
    assert refused.text.startswith("Wrong choice, try again.\nIn which province?")
    assert refused.shown < plain.shown


def test_a_long_value_is_shortened_with_dots(bundle: Any, make_ctx: Callable[..., Any]) -> None:
    answers = {"category": "other", "when": "today", "danger_now": "no", "description": "x " * 150}
    page = layout(bundle, at(bundle, "report.summary", answers=answers), make_ctx())
    assert not page.cut
    assert '"x x x' in page.text
    assert '..."' in page.text
    assert page.text.endswith("1 Send\n2 Change\n3 Cancel")


def test_the_case_number_is_never_shortened(bundle: Any, make_ctx: Callable[..., Any]) -> None:
    values = {"case": "482-177-3501", "status": "routed", "message": "m" * 400}
    page = layout(bundle, at(bundle, "status.result", values=values), make_ctx())
    assert page.text.startswith("Case 482-177-3501: Sent to the committee\nCommittee: mmm")
    assert page.text.endswith("...")
    assert gsm.septets(page.text) <= BUDGET


def test_a_line_whose_values_are_all_empty_is_left_out(
    bundle: Any, make_ctx: Callable[..., Any]
) -> None:
    answers = {"category": "accident", "place_code": "cd-nk", "when": "today", "danger_now": "no"}
    page = layout(bundle, at(bundle, "report.summary", answers=answers), make_ctx())
    assert page.text.splitlines()[:4] == [
        "Your report:",
        "Accident (injury/death)",
        "Nord-Kivu",
        "Today. Danger now: No",
    ]


def test_values_are_transliterated_and_kept_on_one_line(
    bundle: Any, make_ctx: Callable[..., Any]
) -> None:
    answers = {"category": "other", "description": "l’éboulement\nà «Bisie»…"}
    page = layout(bundle, at(bundle, "report.summary", answers=answers), make_ctx())
    assert '"l\'éboulement à "Bisie"..."' in page.text


def test_text_that_cannot_fit_is_cut_hard_and_reported(
    bundle_with: Callable[..., Any], make_ctx: Callable[..., Any]
) -> None:
    wordy = bundle_with({"extra": f'nodes:\n  long:\n    kind: end\n    text: "{"word " * 60}"\n'})
    page = layout(wordy, at(wordy, "extra.long"), make_ctx())
    assert page.cut
    assert gsm.septets(page.text) == BUDGET


def test_shorten_never_exceeds_the_size_and_respects_escapes() -> None:
    assert shorten("abcdefghij", 8) == "abcde..."
    assert shorten("short", 8) == "short"
    assert gsm.septets(shorten("€€€€€€€€", 8)) <= 8
