"""Catalogs: English fallback, coverage, and the extract / update / compile round."""

from __future__ import annotations

import gettext
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po

from flows.i18n import (
    LOCALES,
    Catalogs,
    bundle_messages,
    catalog_path,
    compile_catalogs,
    extract_pot,
    placeholder_problem,
    read_catalog,
    template,
    translatable,
    update_catalogs,
)


def test_a_translated_message_is_looked_up(catalogs: Catalogs) -> None:
    assert catalogs.translator("fr").gettext("Report cancelled.") == "Signalement annulé."


def test_a_missing_message_falls_back_to_english_then_to_the_msgid() -> None:
    catalogs = Catalogs({"en": {"Hello": "Hello there"}, "fr": {"Bye": "Salut"}})
    fr = catalogs.translator("fr")
    assert fr.gettext("Bye") == "Salut"
    assert fr.gettext("Hello") == "Hello there"
    assert fr.gettext("Unknown") == "Unknown"


def test_an_unknown_language_gets_english(catalogs: Catalogs) -> None:
    assert catalogs.translator("xx").gettext("Back") == "Back"
    assert catalogs.translator("xx") is catalogs.translator("en")


def test_empty_and_fuzzy_translations_are_not_used(tmp_path: Path) -> None:
    path = tmp_path / "fr" / "LC_MESSAGES" / "sauti.po"
    path.parent.mkdir(parents=True)
    path.write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Back"\nmsgstr ""\n\n'
        '#, fuzzy\nmsgid "More"\nmsgstr "Plus"\n\n'
        'msgid "Yes"\nmsgstr "Oui"\n',
        encoding="utf-8",
    )
    assert read_catalog(path) == {"Yes": "Oui"}
    fr = Catalogs.load(["fr"], tmp_path).translator("fr")
    assert (fr.gettext("Back"), fr.gettext("More"), fr.gettext("Yes")) == ("Back", "More", "Oui")


WAIT = "Please try again in {minutes} min."


@pytest.mark.parametrize(
    ("translation", "problem"),
    [
        ("Réessayez dans {minutes} min.", None),
        ("{minutes} min : réessayez.", None),
        (
            "Réessayez dans {minutes:>300000000} min.",
            "writes {minutes:>300000000}: write the placeholder exactly as the msgid has it "
            "({minutes})",
        ),
        ("Réessayez dans {minutes!r} min.", "writes {minutes!r}"),
        ("Réessayez dans {minutes:{minutes}} min.", "writes {minutes:{minutes}}"),
        ("Réessayez dans {minutes:d} min.", "writes {minutes:d}"),
        ("Réessayez dans {minutes.real} min.", "uses {minutes.real}"),
        ("Réessayez dans {minutes[0]} min.", "uses {minutes[0]}"),
        ("Réessayez dans {0} {minutes} min.", "uses {0}"),
        ("Réessayez dans {minutes} {} min.", "has an empty placeholder {}"),
        ("Réessayez dans {} min.", "has an empty placeholder {}"),
        ("Réessayez plus tard.", "leaves out {minutes}"),
        ("Réessayez dans {minutes min.", "has broken braces"),
        ("x" * 1601, "is longer than 1600 characters"),
    ],
)
def test_a_translated_placeholder_is_exactly_the_msgids(
    translation: str, problem: str | None
) -> None:
    found = placeholder_problem(WAIT, translation)
    assert found == problem if problem is None else found is not None and found.startswith(problem)


def test_a_format_spec_the_msgid_has_is_kept_and_bounded() -> None:
    assert placeholder_problem("{n:>3} left", "{n:>3} restants") is None
    assert placeholder_problem("{n:>3} left", "{n} restants") == (
        "writes {n}: write the placeholder exactly as the msgid has it ({n:>3})"
    )
    assert placeholder_problem("{n:>999} left", "{n:>999} restants") == (
        "asks for a width of 999 in {n:>999}"
    )


def test_a_translation_with_a_bad_placeholder_is_never_used() -> None:
    bad = {WAIT: "Réessayez dans {minutes:>300000000} min.", "Yes": "Oui"}
    catalogs = Catalogs({"en": {}, "fr": bad})
    fr = catalogs.translator("fr")
    assert fr.gettext(WAIT) == WAIT
    assert fr.gettext(WAIT).format(minutes=5) == "Please try again in 5 min."
    assert fr.gettext("Yes") == "Oui"
    assert catalogs.refused("fr") == [WAIT]
    assert catalogs.translated("fr") == bad  # the lint still reads and reports it
    replaced = catalogs.replaced({"sw": {WAIT: "Jaribu tena baada ya {minutes!r}."}})
    assert replaced.translator("sw").gettext(WAIT) == WAIT
    assert replaced.refused("sw") == [WAIT]


def test_a_checked_catalog_calls_its_check_before_each_lookup() -> None:
    calls: list[int] = []
    catalogs = Catalogs({"en": {}, "fr": {"Yes": "Oui"}})
    watched = catalogs.with_check(lambda: calls.append(1))
    assert watched.translator("fr").gettext("Yes") == "Oui"
    assert watched.translator("xx").gettext("Yes") == "Yes"
    assert len(calls) == 2
    assert catalogs.translator("fr").gettext("Yes") == "Oui"
    assert len(calls) == 2


def test_coverage_counts_the_bundle_messages(catalogs: Catalogs, bundle: Any) -> None:
    messages = bundle_messages(bundle)
    assert catalogs.coverage("fr", messages) == (len(messages), len(messages))
    assert catalogs.coverage("sw", messages) == (0, len(messages))


def test_the_shipped_catalogs_cover_every_flow_text(catalogs: Catalogs, bundle: Any) -> None:
    with (LOCALES / "sauti.pot").open("rb") as handle:
        template = {message.id for message in read_po(handle) if message.id}
    for msgid in bundle_messages(bundle):
        assert msgid in template
        assert msgid in catalogs.translated("en")
        assert msgid in catalogs.translated("fr")


def test_extraction_takes_flow_texts_labels_and_marked_code(tmp_path: Path, bundle: Any) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "texts.py").write_text('BUSY = N_("Please wait.")\nOTHER = "not marked"\n')
    pot = extract_pot(bundle, tmp_path / "sauti.pot", packages=[code])
    with pot.open("rb") as handle:
        found = {message.id: message for message in read_po(handle) if message.id}
    assert "Please wait." in found
    assert "not marked" not in found
    assert "Received, waiting for the committee" in found
    assert "Wrong choice, try again." in found
    assert "Danger in the pit" in found
    assert "{category}" not in found
    assert "python-brace-format" in found["Thank you. Added to case {case}."].flags


def test_update_then_compile_makes_catalogs_gettext_reads(tmp_path: Path, bundle: Any) -> None:
    pot = extract_pot(bundle, tmp_path / "sauti.pot", packages=[])
    (updated,) = update_catalogs(pot, tmp_path, ["rn"])
    assert updated == tmp_path / "rn" / "LC_MESSAGES" / "sauti.po"
    text = updated.read_text(encoding="utf-8").replace(
        'msgid "Back"\nmsgstr ""', 'msgid "Back"\nmsgstr "Inyuma"'
    )
    updated.write_text(text, encoding="utf-8")
    (compiled,) = compile_catalogs(tmp_path / "mo", tmp_path, ["rn"])
    with compiled.open("rb") as handle:
        assert gettext.GNUTranslations(handle).gettext("Back") == "Inyuma"
    again = update_catalogs(pot, tmp_path, ["rn"])
    assert 'msgstr "Inyuma"' in again[0].read_text(encoding="utf-8")


def test_only_texts_with_words_are_messages() -> None:
    assert translatable("Case {case}")
    assert not translatable('"{description}"')
    assert not translatable("{place_code} {place_text}")


SHIPPED = ("sw", "fr", "en", "rw", "rn", "ln")


def _pot_keys() -> set[tuple[str, str | None]]:
    with (LOCALES / "sauti.pot").open("rb") as handle:
        return {
            (message.id, message.context)
            for message in read_po(handle)
            if isinstance(message.id, str) and message.id
        }


def _pot_ids() -> set[str]:
    """The messages of the template; place names (msgctxt "place") are translated only
    where a language names a place otherwise, so they are not among them."""
    return {msgid for msgid, context in _pot_keys() if context is None}


def test_the_template_is_up_to_date_with_the_flows_the_code_and_the_demo_places() -> None:
    from storage.seed import place_names

    built = template(places=place_names())
    assert {(message.id, message.context) for message in built if message.id} == _pot_keys()


@pytest.mark.parametrize("lang", SHIPPED)
def test_each_shipped_catalog_translates_the_whole_template(lang: str) -> None:
    translated = read_catalog(catalog_path(lang))
    assert sorted(_pot_ids() - set(translated)) == []


@pytest.mark.parametrize("lang", SHIPPED)
def test_drafts_are_marked_by_comments_never_by_the_fuzzy_flag(lang: str) -> None:
    """A fuzzy entry is not used (the English text is shown), so it cannot mark a draft."""
    with catalog_path(lang).open("rb") as handle:
        catalog = read_po(handle)
    assert [message.id for message in catalog if message.id and message.fuzzy] == []
