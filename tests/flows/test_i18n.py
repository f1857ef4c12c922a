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


def _pot_ids() -> set[str]:
    with (LOCALES / "sauti.pot").open("rb") as handle:
        return {message.id for message in read_po(handle) if isinstance(message.id, str)} - {""}


def test_the_template_is_up_to_date_with_the_flows_and_the_code() -> None:
    assert {message.id for message in template() if message.id} == _pot_ids()


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
