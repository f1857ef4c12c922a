"""SMS templates: samples in each language, filling, and collecting them from their modules."""

from __future__ import annotations

import pytest

from flows import sms
from flows.i18n import Catalogs, Translator

CATALOGS = Catalogs({"en": {}, "fr": {"Short": "Très très long", "Longer one": "Court"}})


def test_longest_picks_the_longest_translation_in_each_language() -> None:
    pick = sms.longest("Short", ["Longer one"])
    assert pick(CATALOGS.translator("en")) == "Longer one"
    assert pick(CATALOGS.translator("fr")) == "Très très long"


def test_joined_puts_samples_together() -> None:
    sample = sms.joined(sms.longest("Short"), "x", sep=": ")
    assert sms.value(sample, CATALOGS.translator("fr")) == "Très très long: x"


def test_fill_translates_fills_and_transliterates() -> None:
    catalogs = Catalogs({"en": {}, "fr": {"Case {case}": "Dossier {case} reçu"}})
    template = sms.Template("Case {case}", budget=1, samples={"case": sms.CASE})
    assert sms.fill(template, catalogs.translator("fr")) == "Dossier 482-177-3506 recu"


@pytest.mark.parametrize(
    ("translation", "problem"),
    [("Dossier {cas}", "no sample for {cas}"), ("Dossier {0}", "broken placeholder")],
)
def test_fill_names_what_is_wrong(translation: str, problem: str) -> None:
    template = sms.Template("Case {case}", budget=1, samples={"case": sms.CASE})
    with pytest.raises(sms.TemplateError, match=problem):
        sms.fill(template, Translator("fr", {"Case {case}": translation}))
    # Catalogs never hand out such a translation: the English text is filled instead.
    catalogs = Catalogs({"en": {}, "fr": {"Case {case}": translation}})
    assert sms.fill(template, catalogs.translator("fr")) == "Case 482-177-3506"


def test_the_shared_samples_are_as_long_as_the_lint_promises() -> None:
    assert (len(sms.PLACE), len(sms.EXCERPT), len(sms.COMMITTEE)) == (40, 60, 40)
