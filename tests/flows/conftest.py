"""Fixtures for flow tests: the shipped bundle, catalogs, places, contexts, sessions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from flows import effects as fx
from flows.engine import Bundle, Context, Outcome, Screen, State, Step, resume, start, step
from flows.i18n import Catalogs
from flows.loader import load_bundle, shipped_bundle, shipped_texts
from flows.places import StaticPlaces

PLACES = (
    ("cd", "RD Congo", None, "country"),
    ("rw", "Rwanda", None, "country"),
    ("cd-nk", "Nord-Kivu", "cd", "province"),
    ("cd-sk", "Sud-Kivu", "cd", "province"),
    ("cd-nk-walikale", "Walikale", "cd-nk", "territory"),
    ("cd-nk-walikale-bisie", "Bisie", "cd-nk-walikale", "site"),
    ("cd-nk-walikale-omate", "Omate", "cd-nk-walikale", "site"),
    ("cd-sk-lemera", "Lemera", "cd-sk", "territory"),
)
CASE = "482-177-3506"


@dataclass
class Session:
    """Drives one conversation: inputs in, screens and effects out, outcomes on demand."""

    bundle: Bundle
    ctx: Context
    last: Step
    effects: list[fx.Effect] = field(default_factory=list)
    outcome: Callable[[fx.Effect], Outcome] = lambda effect: Outcome(True, {"case": CASE})

    @property
    def state(self) -> State:
        return self.last.state

    @property
    def screen(self) -> Screen:
        assert self.last.screen is not None
        return self.last.screen

    @property
    def text(self) -> str:
        return self.screen.text

    def _settle(self, found: Step) -> Step:
        self.effects.extend(found.effects)
        while found.screen is None:
            found = resume(self.bundle, found.state, self.outcome(found.effects[-1]), self.ctx)
            self.effects.extend(found.effects)
        return found

    def send(self, *inputs: str) -> Session:
        for text in inputs:
            self.last = self._settle(step(self.bundle, self.state, text, self.ctx))
        return self

    def raw(self, text: str) -> Step:
        """Feed one input without resolving a pending effect."""
        self.last = step(self.bundle, self.state, text, self.ctx)
        return self.last

    def kinds(self) -> list[str]:
        return [type(effect).__name__ for effect in self.effects]

    def keys(self) -> list[str]:
        """The item keys shown on the screen, in order (not the 98 and 0 lines)."""
        heads = [line.split(" ", 1)[0] for line in self.text.splitlines()]
        return [head for head in heads if head.isdigit() and head not in ("0", "98")]


@pytest.fixture(scope="session")
def bundle() -> Bundle:
    return shipped_bundle()


@pytest.fixture(scope="session")
def catalogs() -> Catalogs:
    return Catalogs.load(["en", "fr"])


@pytest.fixture(scope="session")
def places() -> StaticPlaces:
    return StaticPlaces(PLACES)


@pytest.fixture
def make_ctx(catalogs: Catalogs, places: StaticPlaces) -> Callable[..., Context]:
    def make(lang: str = "en", **changes: Any) -> Context:
        fields: dict[str, Any] = {
            "lang": lang,
            "translators": catalogs.translator,
            "places": places,
            "country": "cd",
            "languages": ("sw", "fr", "en"),
            "service_code": "*384*123#",
        }
        fields.update(changes)
        return Context(**fields)

    return make


@pytest.fixture
def session(bundle: Bundle, make_ctx: Callable[..., Context]) -> Callable[..., Session]:
    def begin(
        *inputs: str,
        lang: str = "en",
        has_language: bool = True,
        draft: dict[str, Any] | None = None,
        entry: str | None = None,
        target: Bundle | None = None,
        outcome: Callable[[fx.Effect], Outcome] | None = None,
        **ctx_changes: Any,
    ) -> Session:
        chosen = bundle if target is None else target
        ctx = make_ctx(lang, **ctx_changes)
        first = start(chosen, ctx, has_language=has_language, draft=draft, entry=entry)
        found = Session(chosen, ctx, first)
        if outcome is not None:
            found.outcome = outcome
        found.last = found._settle(first)
        return found.send(*inputs)

    return begin


@pytest.fixture
def bundle_with() -> Callable[[Mapping[str, str]], Bundle]:
    """The shipped definitions with some documents replaced or added."""

    def build(changes: Mapping[str, str]) -> Bundle:
        texts = shipped_texts()[0]
        texts.update(changes)
        return load_bundle(texts)

    return build
