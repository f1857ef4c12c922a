"""The lint: the shipped flows pass in English and French; broken flows fail clearly."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from flows import lint
from flows.i18n import Catalogs
from flows.loader import shipped_texts


def run(paths: list[Path], languages: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    code = lint.run(paths, languages, out)
    return code, out.getvalue()


def test_the_shipped_flows_pass_in_english_and_french() -> None:
    code, report = run([], ["en", "fr"])
    assert code == 0, report
    assert "error" not in report
    assert report.rstrip().endswith(": ok")


def test_every_node_and_page_is_rendered(catalogs: Catalogs) -> None:
    report = lint.lint(shipped_texts()[0], catalogs, ["en", "fr"])
    assert report.ok, report.format()
    assert report.screens > 300
    assert report.coverage["fr"][0] == report.coverage["fr"][1]


def test_a_language_without_catalog_passes_with_warnings() -> None:
    code, report = run([], ["sw"])
    assert code == 0
    assert "warning: sw: " in report
    assert "message(s) not translated" in report


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
    report = lint.LintReport(errors=["e1"], warnings=["w1"], coverage={"fr": (3, 4)}, screens=9)
    assert report.format().splitlines() == [
        "error: e1",
        "warning: w1",
        "translations: fr 3/4",
        "9 screens checked (at most 156 GSM-7 characters): FAILED with 1 error(s)",
    ]


def test_run_texts_is_what_publishing_calls(capsys: pytest.CaptureFixture[str]) -> None:
    assert lint.run_texts(shipped_texts()[0], ["en"]) == 0
    assert ": ok" in capsys.readouterr().out
