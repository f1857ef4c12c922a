"""Places as each country names them: the question of a level in the country's own word
(Rwanda's districts, Burundi's communes, the DRC's territories) in every language, and
place names translated where a catalog has them (msgctxt "place"), else as imported."""

from __future__ import annotations

import ast
import io
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from flows import lint
from flows.engine import State
from flows.i18n import Catalogs, bundle_messages, catalog_messages, template, update_catalogs
from flows.loader import BundleError, shipped_texts
from flows.places import LEVEL_NAMES, StaticPlaces, level_name, place_key, place_name
from flows.render import layout
from flows.state import Entry

LANGUAGES = ("sw", "fr", "en", "rw", "rn", "ln")
FLOWS = Path(__file__).resolve().parents[2] / "flows"
SEED = (
    ("cd", "DR Congo", None, "country"),
    ("rw", "Rwanda", None, "country"),
    ("bi", "Burundi", None, "country"),
    ("cd-nk", "North Kivu", "cd", "province"),
    ("cd-nk-walikale", "Walikale", "cd-nk", "territory"),
    ("cd-nk-walikale-bisie", "Bisie", "cd-nk-walikale", "site"),
    ("rw-west", "Western Province", "rw", "province"),
    ("rw-west-ngororero", "Ngororero", "rw-west", "territory"),
    ("rw-west-ngororero-gatumba", "Gatumba", "rw-west-ngororero", "site"),
    ("bi-kayanza", "Kayanza", "bi", "province"),
    ("bi-kayanza-kabarore", "Kabarore", "bi-kayanza", "territory"),
    ("bi-kayanza-kabarore-kivuvu", "Kivuvu", "bi-kayanza-kabarore", "site"),
)
# The question of the level under the province, as each country names that level.
SECOND_LEVEL = {
    "cd-nk": "In which territory?",
    "rw-west": "In which district?",
    "bi-kayanza": "In which commune?",
}


@pytest.fixture(scope="module")
def every_catalog() -> Catalogs:
    return Catalogs.load(LANGUAGES)


@pytest.fixture
def seed_places() -> StaticPlaces:
    return StaticPlaces(SEED)


def screen(bundle: Any, ctx: Any, node: str, lang: str, **answers: str) -> str:
    state = State(
        version=bundle.version,
        lang=lang,
        node=node,
        answers=answers,
        history=(Entry("main.menu", 0),),
    )
    return layout(bundle, state, ctx).text


# -- levels ---------------------------------------------------------------------------------


def test_each_country_names_its_levels() -> None:
    assert level_name("rw", "territory") == "district"
    assert level_name("bi", "territory") == "commune"
    assert level_name("cd", "territory") == "territory"
    assert level_name("rw", "province") == "province"
    assert level_name(None, "site") == "site"
    assert level_name("xx", "territory") == "territory"


def test_a_place_knows_its_country(seed_places: StaticPlaces) -> None:
    assert seed_places.country_of("rw-west-ngororero-gatumba") == "rw"
    assert seed_places.country_of("bi-kayanza") == "bi"
    assert seed_places.country_of("cd") == "cd"
    assert seed_places.country_of("nowhere") is None


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("province", "question"), sorted(SECOND_LEVEL.items()))
def test_the_question_names_the_country_s_own_level_in_every_language(
    bundle: Any,
    make_ctx: Callable[..., Any],
    every_catalog: Catalogs,
    seed_places: StaticPlaces,
    lang: str,
    province: str,
    question: str,
) -> None:
    ctx = make_ctx(lang, places=seed_places, translators=every_catalog.translator)
    text = screen(bundle, ctx, "report.territory", lang, country=province[:2], province=province)
    tr = every_catalog.translator(lang)
    assert text.splitlines()[0] == tr.gettext(question)
    if lang != "en":
        assert question in every_catalog.translated(lang), f"{question!r} has no {lang} entry"


def test_the_three_second_level_questions_differ_in_every_language(
    every_catalog: Catalogs,
) -> None:
    for lang in LANGUAGES:
        tr = every_catalog.translator(lang)
        assert len({tr.gettext(question) for question in SECOND_LEVEL.values()}) == 3, lang


def test_the_level_questions_are_messages_of_the_flows(bundle: Any) -> None:
    messages = bundle_messages(bundle)
    assert messages["In which district?"] == ["report.territory (district)"]
    assert messages["In which commune?"] == ["report.territory (commune)"]
    assert "report.territory" in messages["In which territory?"]


def test_a_level_text_for_a_level_nobody_has_is_refused(
    bundle_with: Callable[[dict[str, str]], Any],
) -> None:
    text = shipped_texts()[0]["report"].replace(
        '      commune: "In which commune?"\n',
        '      commune: "In which commune?"\n      parish: "In which parish?"\n',
    )
    assert "parish" in text
    with pytest.raises(BundleError, match="level_text"):
        bundle_with({"report": text})


def test_the_lint_renders_each_country_s_question(
    bundle_with: Callable[[dict[str, str]], Any], every_catalog: Catalogs
) -> None:
    long = "In which district of the country, as the local authorities divide it?" * 2
    text = shipped_texts()[0]["report"].replace(
        '      district: "In which district?"\n', f'      district: "{long}"\n'
    )
    assert long in text
    report = lint.lint(bundle_with({"report": text}), every_catalog, ["en"])
    assert any("node 'territory'" in error and "district" in error for error in report.errors)


def test_the_lint_warns_of_a_country_s_level_without_its_own_question(
    bundle_with: Callable[[dict[str, str]], Any], every_catalog: Catalogs
) -> None:
    text = shipped_texts()[0]["report"].replace('      commune: "In which commune?"\n', "")
    report = lint.lint(bundle_with({"report": text}), every_catalog, ["en"])
    assert report.ok
    assert any("commune" in warning and "bi" in warning for warning in report.warnings)


# -- place names ----------------------------------------------------------------------------


def test_place_names_are_translated_where_the_catalog_has_them(
    bundle: Any, make_ctx: Callable[..., Any], every_catalog: Catalogs, seed_places: StaticPlaces
) -> None:
    fr = make_ctx("fr", places=seed_places, translators=every_catalog.translator)
    assert "1 RD Congo" in screen(bundle, fr, "report.country", "fr")
    sw = make_ctx("sw", places=seed_places, translators=every_catalog.translator)
    assert "1 Kivu Kaskazini" in screen(bundle, sw, "report.province", "sw", country="cd")
    # No entry: the name as imported.
    assert "1 Walikale" in screen(
        bundle, sw, "report.territory", "sw", country="cd", province="cd-nk"
    )
    en = make_ctx("en", places=seed_places, translators=every_catalog.translator)
    assert "1 DR Congo" in screen(bundle, en, "report.country", "en")


def test_a_place_filled_into_a_text_is_translated_too(
    bundle: Any, make_ctx: Callable[..., Any], every_catalog: Catalogs, seed_places: StaticPlaces
) -> None:
    ctx = make_ctx("sw", places=seed_places, translators=every_catalog.translator)
    answers = {"category": "accident", "when": "today", "danger_now": "no", "place_code": "cd-nk"}
    state = State(version=bundle.version, lang="sw", node="report.summary", answers=answers)
    assert "Kivu Kaskazini" in layout(bundle, replace(state), ctx).text


def test_a_place_entry_translates_only_places() -> None:
    catalog = Catalog(locale="fr")
    catalog.add("North Kivu", "Nord-Kivu", context="place")
    catalog.add("Rwanda", "le Rwanda")  # a message, not a place
    messages = catalog_messages(catalog)
    assert messages == {place_key("North Kivu"): "Nord-Kivu", "Rwanda": "le Rwanda"}
    tr = Catalogs({"fr": messages}).translator("fr")
    assert place_name(tr, "North Kivu") == "Nord-Kivu"
    assert tr.gettext("North Kivu") == "North Kivu"
    assert place_name(tr, "Rwanda") == "Rwanda"
    assert place_name(tr, "Nowhere") == "Nowhere"


def test_the_template_holds_the_place_names_given(bundle: Any) -> None:
    catalog = template(bundle, packages=[], places={"North Kivu": ["place cd-nk (province)"]})
    found = catalog.get("North Kivu", context="place")
    assert found is not None
    assert found.auto_comments == ["place cd-nk (province)"]
    assert catalog.get("North Kivu") is None


def test_an_update_keeps_the_place_entries_of_a_catalog(tmp_path: Path, bundle: Any) -> None:
    pot = tmp_path / "sauti.pot"
    with pot.open("wb") as handle:
        write_po(handle, template(bundle, packages=[]))
    po = tmp_path / "sw" / "LC_MESSAGES" / "sauti.po"
    po.parent.mkdir(parents=True)
    catalog = Catalog(locale="sw")
    catalog.add("Rubaya cooperative", "Ushirika wa Rubaya", context="place")
    catalog.add("In which country?", "Nchi gani?")
    with po.open("wb") as handle:
        write_po(handle, catalog)
    update_catalogs(pot=pot, locales_dir=tmp_path, languages=["sw"])
    updated = read_po(io.BytesIO(po.read_bytes()))
    kept = updated.get("Rubaya cooperative", context="place")
    assert kept is not None
    assert kept.string == "Ushirika wa Rubaya"
    assert updated.get("In which country?").string == "Nchi gani?"


def test_the_shipped_template_has_the_demo_place_names() -> None:
    with (FLOWS / "locales" / "sauti.pot").open("rb") as handle:
        pot = read_po(handle)
    for name in ("DR Congo", "North Kivu", "Western Province", "Kabarore"):
        assert pot.get(name, context="place") is not None, name


def test_the_shipped_catalogs_name_the_places_in_their_language(
    every_catalog: Catalogs,
) -> None:
    assert place_name(every_catalog.translator("fr"), "DR Congo") == "RD Congo"
    assert place_name(every_catalog.translator("sw"), "North Kivu") == "Kivu Kaskazini"
    assert place_name(every_catalog.translator("en"), "North Kivu") == "North Kivu"


# -- purity ---------------------------------------------------------------------------------


def test_the_flows_import_nothing_outside_flows() -> None:
    for path in sorted(FLOWS.glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            for name in names:
                top = name.partition(".")[0]
                assert top not in {"gateway", "storage", "workers"}, f"{path.name}: {name}"


def test_every_country_with_its_own_level_names_is_rendered_by_the_lint() -> None:
    places = lint.representative_places()
    for country in LEVEL_NAMES:
        assert places.get(country) is not None
