"""Any input at any point, any effect outcome: a screen that fits, and never an exception."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows import gsm
from flows.engine import Outcome, State, Step, resume, start, step
from flows.render import BUDGET

KEYS = ["0", "00", "98", " 1 ", "", *map(str, range(1, 13))]
ODD = ["😀", "\x00\x1b", "a*b#", "Ç’«»…\u00a0", "482-177-3501", "x" * 400, "\n\n", "99999999999"]
inputs = st.one_of(st.sampled_from(KEYS), st.sampled_from(ODD), st.text(max_size=40))
outcome_values = st.dictionaries(
    st.sampled_from(["case", "status", "message", "other"]),
    st.one_of(st.sampled_from(["routed", "closed", "482-177-3506"]), st.text(max_size=300)),
)
outcomes = st.builds(Outcome, st.booleans(), outcome_values)


def _fits(found: Step) -> None:
    assert found.screen is not None
    assert gsm.is_gsm7(found.screen.text)
    assert gsm.septets(found.screen.text) <= BUDGET
    assert State.from_dict(json.loads(json.dumps(found.state.to_dict()))) == found.state


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lang=st.sampled_from(["en", "fr", "sw"]),
    country=st.sampled_from([None, "cd", "rw"]),
    has_language=st.booleans(),
    typed=st.lists(inputs, max_size=40),
    results=st.lists(outcomes, min_size=1, max_size=10),
)
def test_any_inputs_always_give_a_screen_that_fits(
    bundle: Any,
    make_ctx: Callable[..., Any],
    lang: str,
    country: str | None,
    has_language: bool,
    typed: list[str],
    results: list[Outcome],
) -> None:
    ctx = make_ctx(lang, country=country)
    found = start(bundle, ctx, has_language=has_language)
    _fits(found)
    for number, text in enumerate(typed):
        found = step(bundle, found.state, text, ctx)
        while found.screen is None:
            found = resume(bundle, found.state, results[number % len(results)], ctx)
        _fits(found)
        if found.screen.final:
            found = start(bundle, ctx, has_language=True, draft=found.state.draft())
            _fits(found)
