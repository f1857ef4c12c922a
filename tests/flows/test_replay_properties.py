"""The engine's result is a function of the input sequence alone.

A model of the report flow draws a reporter's answers, the keys that enter them (with
refused keys, pages and changes on the way), and a split into hops; the engine, fed hop by
hop with the state saved and read back between hops as Redis keeps it, files exactly the
answers the model expects, whatever the split. Random sequences through every flow give the
same state and screen however they are split. One rule ties an input to its hop: at a
free-text question the rest of the hop is the text (a typed '*' cannot be told from the
separator), so the splits compared end a hop after each free-text answer.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows import effects as fx
from flows.engine import (
    Bundle,
    Context,
    Outcome,
    State,
    Step,
    expects_text,
    resume,
    start,
    step,
)
from flows.state import DRAFT_NAME

CATEGORIES = [
    "ohs_hazard",
    "accident",
    "violence",
    "illegal_tax",
    "child_labour",
    "sexual_violence",
    "mineral_fraud",
    "other",
]
HAZARDS = ["collapse", "flooding", "bad_air", "explosives", "no_protection", "landslide", "other"]
WHEN = ["today", "week", "month", "earlier"]
# The test places (tests/flows/conftest.py): the caller's country is the DRC.
PROVINCES = {"cd-nk": ["cd-nk-walikale"], "cd-sk": ["cd-sk-lemera"]}
SITES = {"cd-nk-walikale": ["cd-nk-walikale-bisie", "cd-nk-walikale-omate"], "cd-sk-lemera": []}
TEXTS = (
    st.text(alphabet=st.characters(codec="ascii", categories=["L", "N", "Zs"]), max_size=30)
    .map(str.strip)
    .filter(lambda text: text not in {"", "0", "00", "98", "1"})
)
REFUSED = st.sampled_from(["77", "", "abc"])


def _outcome(effect: fx.Effect) -> Outcome:
    """What the world answers, the same every time it is asked."""
    if isinstance(effect, fx.LookupCase):
        return Outcome(effect.number == "4821773506", {"case": "482-177-3506", "status": "routed"})
    if isinstance(effect, fx.SetLanguage | fx.DiscardDraft):
        return Outcome(True, {})
    return Outcome(True, {"case": "482-177-3506"})


@dataclass
class Drive:
    """Feeds hops the way the gateway does: each hop's inputs one step each (at a free-text
    question the rest of the hop as one text), the state written to JSON and read back
    between hops, inputs after an END ignored. `texts` collects the positions of the
    inputs that answered a free-text question."""

    bundle: Bundle
    ctx: Context
    submitted: list[dict[str, str]] = field(default_factory=list)
    texts: list[int] = field(default_factory=list)

    def settle(self, found: Step) -> Step:
        while True:
            outcome = None
            for effect in found.effects:
                outcome = _outcome(effect)
                if isinstance(effect, fx.SubmitReport):
                    self.submitted.append(dict(effect.answers))
            if found.screen is not None:
                return found
            found = resume(self.bundle, found.state, outcome or Outcome(False, {}), self.ctx)

    def run(self, hops: list[list[str]], **begin: Any) -> Step:
        found = self.settle(start(self.bundle, self.ctx, **begin))
        position = 0
        for hop in hops:
            state = State.from_dict(json.loads(json.dumps(found.state.to_dict())))
            found = Step(state, (), found.screen)
            pending = list(hop)
            while pending:
                assert found.screen is not None
                if found.screen.final:
                    break
                if expects_text(self.bundle, found.state):
                    self.texts.append(position)
                    if len(pending) > 1:
                        pending = ["*".join(pending)]
                position += 1
                found = self.settle(step(self.bundle, found.state, pending.pop(0), self.ctx))
            position += len(pending)
        return found


def _splits(inputs: list[str], cuts: list[int], texts: list[int]) -> list[list[str]]:
    """`inputs` cut at `cuts`, and after each free-text answer (positions `texts`)."""
    ends = {position + 1 for position in texts}
    bounds = sorted({c % (len(inputs) + 1) for c in cuts} | ends | {0, len(inputs)})
    return [inputs[a:b] for a, b in itertools.pairwise(bounds) if a < b]


@st.composite
def reports(draw: Callable[..., Any]) -> tuple[list[str], dict[str, str]]:
    """Keys that file a report from the main menu, and the answers they must file."""
    keys: list[str] = ["1"]
    answers: dict[str, str] = {}

    def press(key: str, *, menu: bool = True) -> None:
        if menu and draw(st.integers(0, 5)) == 0:
            keys.append(draw(REFUSED))  # refused: the same question again
        keys.append(key)

    category = draw(st.integers(0, 7))
    press(str(category + 1))
    answers["category"] = CATEGORIES[category]
    if category == 0:
        hazard = draw(st.integers(0, 6))
        press(str(hazard + 1))
        answers["hazard"] = HAZARDS[hazard]
    answers["country"] = answers["place_code"] = "cd"
    province = draw(st.sampled_from([*PROVINCES, None]))
    if province is None:
        press("3")  # not in the list
        typed = draw(TEXTS)
        press(typed, menu=False)
        answers["place_text"] = " ".join(typed.split())
    else:
        press(str(list(PROVINCES).index(province) + 1))
        answers["province"] = answers["place_code"] = province
        territory = PROVINCES[province][0]
        press("1")
        answers["territory"] = answers["place_code"] = territory
        if SITES[territory]:
            site = draw(st.sampled_from(SITES[territory]))
            press(str(SITES[territory].index(site) + 1))
            answers["site"] = answers["place_code"] = site
    when = draw(st.integers(0, 3))
    press(str(when + 1))
    answers["when"] = WHEN[when]
    danger = draw(st.booleans())
    press("1" if danger else "2")
    answers["danger_now"] = "yes" if danger else "no"
    description = draw(st.one_of(st.none(), TEXTS))
    if description is None:
        press("1", menu=False)
    else:
        press(description, menu=False)
        answers["description"] = " ".join(description.split())
    news = draw(st.booleans())
    press("1" if news else "2")
    answers["sms_updates"] = "yes" if news else "no"
    if draw(st.booleans()):  # change "When" on the summary, then back to it
        when = draw(st.integers(0, 3))
        keys += ["2", "3", str(when + 1)]
        answers["when"] = WHEN[when]
    keys.append("1")  # Send
    return keys, answers


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(report=reports(), cuts=st.lists(st.integers(0, 40), max_size=5))
def test_a_filed_report_holds_exactly_the_answers_entered(
    bundle: Bundle,
    make_ctx: Callable[..., Context],
    report: tuple[list[str], dict[str, str]],
    cuts: list[int],
) -> None:
    keys, expected = report
    ctx = make_ctx("en", country="cd")
    one_by_one = Drive(bundle, ctx)
    one_by_one.run([[key] for key in keys])
    texts = one_by_one.texts
    for hops in ([[key] for key in keys], _splits(keys, [], texts), _splits(keys, cuts, texts)):
        drive = Drive(bundle, make_ctx("en", country="cd"))
        found = drive.run(hops)
        assert found.screen is not None
        assert found.screen.text.startswith("Report sent."), (hops, found.screen.text)
        [filed] = drive.submitted
        filed.pop(DRAFT_NAME, None)
        assert filed == expected


KEYS = ["0", "00", "98", "1", "2", "3", "4", "5", "6", "8", "77", ""]
WORDS = ["Gifurwe", "Pit owner took the ore", "4821773506", "4821773501"]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    inputs=st.lists(st.one_of(st.sampled_from(KEYS), st.sampled_from(WORDS)), max_size=30),
    cuts=st.lists(st.integers(0, 40), max_size=6),
    has_language=st.booleans(),
    with_draft=st.booleans(),
)
def test_any_split_of_any_inputs_gives_the_same_state_and_screen(
    bundle: Bundle,
    make_ctx: Callable[..., Context],
    inputs: list[str],
    cuts: list[int],
    has_language: bool,
    with_draft: bool,
) -> None:
    ctx = make_ctx("en", country="cd")
    draft = None
    if with_draft:
        first = Drive(bundle, ctx).run([["1", "3", "1", "00"]])
        draft = first.state.draft()
    begin = {"has_language": has_language, "draft": draft}
    one_by_one = Drive(bundle, ctx)
    expected = one_by_one.run([[key] for key in inputs], **begin)
    texts = one_by_one.texts
    for hops in (_splits(inputs, [], texts), _splits(inputs, cuts, texts)):
        drive = Drive(bundle, ctx)
        found = drive.run(hops, **begin)
        assert found.state == expected.state
        assert found.screen == expected.screen
        assert drive.submitted == one_by_one.submitted


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    inputs=st.lists(st.one_of(st.sampled_from(KEYS), st.sampled_from(WORDS)), max_size=30),
    has_language=st.booleans(),
)
def test_what_follows_a_free_text_answer_in_its_hop_answers_nothing(
    bundle: Bundle, make_ctx: Callable[..., Context], inputs: list[str], has_language: bool
) -> None:
    """Typed ahead whole, the inputs after the first free-text answer are part of that
    text: nothing after it is taken as an answer, so nothing is sent or consented to (every
    way to Send passes the description, a free-text question)."""
    whole = Drive(bundle, make_ctx("en", country="cd"))
    whole.run([inputs], has_language=has_language)
    assert len(whole.texts) <= 1
    assert whole.submitted == []
