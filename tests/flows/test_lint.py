"""The lint: the shipped flows and SMS pass in all six languages; breaches fail clearly."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from flows import lint, sms
from flows.i18n import Catalogs, bundle_messages
from flows.loader import shipped_texts
from flows.render import Page
from gateway.templates import sms_templates

SHIPPED = ["sw", "fr", "en", "rw", "rn", "ln"]


def run(paths: list[Path], languages: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    code = lint.run(paths, languages, out, templates=sms_templates())
    return code, out.getvalue()


def test_the_shipped_flows_pass_in_english_and_french() -> None:
    code, report = run([], ["en", "fr"])
    assert code == 0, report
    assert "error" not in report
    assert report.rstrip().endswith(": ok")


def test_every_node_and_page_is_rendered(catalogs: Catalogs) -> None:
    report = lint.lint(shipped_texts()[0], catalogs, ["en", "fr"], templates=sms_templates())
    assert report.ok, report.format()
    assert report.screens > 300
    assert report.coverage["fr"][0] == report.coverage["fr"][1]


def test_every_screen_and_sms_fits_and_is_translated_in_the_six_languages() -> None:
    """The build fails on any screen or SMS breach, in any shipped language."""
    templates = sms_templates()
    report = lint.lint(shipped_texts()[0], Catalogs.load(SHIPPED), SHIPPED, templates=templates)
    assert report.ok, report.format()
    assert report.warnings == []
    assert {lang: report.percent(lang) for lang in SHIPPED} == dict.fromkeys(SHIPPED, 100)
    assert report.screens > 1000
    assert report.texts == len(templates) * len(SHIPPED)


def test_the_command_prints_coverage_per_language() -> None:
    code, report = run([], SHIPPED)
    assert code == 0, report
    for lang in SHIPPED:
        assert f"translations: {lang} " in report
        assert f"translations: {lang} 0/" not in report


def test_a_language_without_catalog_passes_with_warnings() -> None:
    code, report = run([], ["xx"])
    assert code == 0
    assert "warning: xx: " in report
    assert "message(s) not translated" in report
    assert "translations: xx 0/" in report


def test_a_dangling_target_fails(tmp_path: Path) -> None:
    path = tmp_path / "extra.yaml"
    path.write_text("nodes:\n  a: {kind: menu, text: Hi, options: [{label: Go, goto: nowhere}]}\n")
    code, report = run([path], ["en"])
    assert code == 1
    assert "extra.yaml: node 'a': target 'nowhere' does not exist" in report


def test_an_unreachable_node_fails(tmp_path: Path) -> None:
    path = tmp_path / "extra.yaml"
    path.write_text("nodes:\n  lonely:\n    kind: end\n    text: Nobody comes here\n")
    code, report = run([path], ["en"])
    assert code == 1
    assert "error: extra.yaml: node 'lonely': nothing leads here" in report


def test_a_screen_that_is_too_long_fails_naming_flow_node_language_and_page(tmp_path: Path) -> None:
    help_text = shipped_texts()[0]["main"].replace(
        '"Keep your case number. To follow it, dial {service_code} and choose 2."',
        '"Keep your case number somewhere safe, on paper or in your head: you need it '
        'to follow the case. Dial {service_code} and choose 2."',
    )
    path = tmp_path / "main.yaml"
    path.write_text(help_text)
    code, report = run([path], ["en", "fr"])
    assert code == 1
    assert (
        "error: main.yaml: node 'help' [en, page 1]: screen does not fit 156 characters" in report
    )


def test_every_screen_is_checked_in_gsm7_and_in_plain_ascii(bundle: Any) -> None:
    report = lint.lint(bundle, Catalogs.load(SHIPPED), SHIPPED, templates=[])
    assert report.ok, report.format()
    assert set(report.alphabets) == {"gsm7", "ascii"}
    assert report.alphabets["ascii"] > 1000
    assert report.alphabets["gsm7"] >= report.alphabets["ascii"]
    assert report.screens == sum(report.alphabets.values())
    verdict = report.format().splitlines()[-1]
    assert f"{report.alphabets['gsm7']} in GSM-7, " in verdict
    assert f"{report.alphabets['ascii']} in plain ASCII)" in verdict


def test_a_screen_too_long_only_in_plain_ascii_fails_naming_the_alphabet(bundle: Any) -> None:
    """'ß' is one GSM-7 septet but 'ss' in ASCII: 100 of them fit one alphabet only."""
    catalogs = Catalogs({"en": {}, "fr": {"Report cancelled.": "ß" * 100}})
    report = lint.lint(bundle, catalogs, ["fr"], templates=[], code_messages=[])
    assert [error.splitlines()[0] for error in report.errors] == [
        "report.yaml: node 'cancelled' [fr, ascii, page 1]: "
        "screen does not fit 156 characters even with values shortened:"
    ]


def test_a_screen_outside_its_alphabet_is_named() -> None:
    page = Page("Sécurité\n1 Oui", shown=1, more=False, cut=False)
    assert lint._problem(page, "gsm7") is None
    assert lint._problem(page, "ascii") == "has characters outside printable ASCII"
    assert lint._problem(replace(page, text="l’eau"), "gsm7") == "has characters outside GSM-7"


def test_a_placeholder_nothing_fills_fails(tmp_path: Path) -> None:
    path = tmp_path / "extra.yaml"
    path.write_text("nodes:\n  a:\n    kind: end\n    text: Hello {name}\n")
    code, report = run([path], ["en"])
    assert code == 1
    assert "'{name}' is never filled" in report


def test_a_translation_with_a_foreign_placeholder_fails(bundle: Any) -> None:
    catalogs = Catalogs({"en": {}, "fr": {"Report cancelled.": "Signalement {case} annulé."}})
    report = lint.lint(bundle, catalogs, ["fr"])
    assert "fr: the translation of 'Report cancelled.' uses {case}" in report.errors


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_representative_places_are_long_and_many(
    lang: str, catalogs: Catalogs, bundle: Any
) -> None:
    places = lint.representative_places()
    children = places.children("p1")
    assert len(children) == lint.PLACE_CHILDREN
    assert {len(place.name) for place in children} == {lint.PLACE_NAME_LENGTH}
    answers = lint.representative_answers(bundle, catalogs, lang)
    assert answers["province"] == "p1-1"
    assert len(answers["description"]) >= 290


def test_the_report_format_lists_errors_warnings_and_coverage() -> None:
    report = lint.LintReport(
        errors=["e1"],
        warnings=["w1"],
        coverage={"fr": (3, 4), "sw": (4, 4)},
        screens=9,
        texts=2,
        alphabets={"gsm7": 5, "ascii": 4},
    )
    assert report.format().splitlines() == [
        "error: e1",
        "warning: w1",
        "translations: fr 3/4 (75%)",
        "translations: sw 4/4 (100%)",
        "9 screens (at most 156 characters: 5 in GSM-7, 4 in plain ASCII) and 2 SMS (within "
        "their segment budgets) checked: FAILED with 1 error(s)",
    ]


def test_run_texts_is_what_publishing_calls(capsys: pytest.CaptureFixture[str]) -> None:
    assert lint.run_texts(shipped_texts()[0], ["en"], templates=sms_templates()) == 0
    assert ": ok" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("translation", "problem"),
    [
        ("Dossier annulé.", "leaves out {case}"),
        ("Dossier {case} {status} annulé.", "uses {status}"),
        ("Dossier {case annulé.", "has broken braces"),
        ("Dossier {case:>300000000} annulé.", "writes {case:>300000000}"),
        ("Dossier {case!r} annulé.", "writes {case!r}"),
    ],
)
def test_a_translation_that_breaks_a_placeholder_fails(
    bundle: Any, translation: str, problem: str
) -> None:
    msgid = "Thank you. Added to case {case}."
    catalogs = Catalogs({"en": {}, "fr": {msgid: translation}})
    report = lint.lint(bundle, catalogs, ["fr"], templates=[], code_messages=[])
    assert any(
        error.startswith(f"fr: the translation of {msgid!r} {problem}") for error in report.errors
    ), report.errors


def test_code_messages_count_in_the_coverage(bundle: Any) -> None:
    catalogs = Catalogs({"en": {}, "fr": {"Busy.": "Occupé."}})
    report = lint.lint(bundle, catalogs, ["fr"], templates=[], code_messages=["Busy.", "Later."])
    done, total = report.coverage["fr"]
    assert (done, total) == (1, len(bundle_messages(bundle)) + 2)
    assert report.warnings[0].startswith(f"fr: {total - 1} message(s) not translated")


def test_an_sms_over_its_budget_fails_naming_the_language(bundle: Any) -> None:
    msgid = "Case {case}: {text}"
    template = sms.Template(msgid, budget=1, samples={"case": sms.CASE, "text": "x" * 150})
    catalogs = Catalogs({"en": {}, "fr": {msgid: "Dossier {case} : {text}"}})
    report = lint.lint(bundle, catalogs, ["en", "fr"], templates=[template], code_messages=[])
    assert not report.ok
    assert any(
        error.startswith("SMS 'Case {case}: {text}' [fr]: takes 2 segments, more than its 1")
        for error in report.errors
    ), report.errors
    assert report.texts == 2


def test_an_sms_placeholder_without_a_sample_fails(bundle: Any) -> None:
    template = sms.Template("Case {case} by {who}", budget=1, samples={"case": sms.CASE})
    catalogs = Catalogs({"en": {}})
    report = lint.lint(bundle, catalogs, ["en"], templates=[template], code_messages=[])
    assert report.errors == ["SMS 'Case {case} by {who}' [en]: no sample for {who}"]


def test_a_message_shown_on_ussd_must_fit_a_screen_in_plain_ascii_too(bundle: Any) -> None:
    template = sms.Template("Busy: {why}", budget=1, samples={"why": "€" * 60}, screen=True)
    catalogs = Catalogs({"en": {}})
    report = lint.lint(bundle, catalogs, ["en"], templates=[template], code_messages=[])
    assert "does not fit a USSD screen of 156 characters in plain ASCII" in report.errors[0]


def test_a_message_shown_on_ussd_must_fit_a_screen(bundle: Any) -> None:
    template = sms.Template("Busy: {why}", budget=1, samples={"why": "y" * 152}, screen=True)
    catalogs = Catalogs({"en": {}})
    report = lint.lint(bundle, catalogs, ["en"], templates=[template], code_messages=[])
    assert "does not fit a USSD screen of 156 characters" in report.errors[0]
