"""`sauti flows lint` over the enabled languages, and `sauti i18n update` starting a language."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from flows import i18n
from gateway import cli
from storage.settings import Settings


def test_the_lint_checks_the_six_enabled_languages_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SAUTI_LANGUAGES", raising=False)
    assert Settings().languages == ("sw", "fr", "en", "rw", "rn", "ln")
    result = CliRunner().invoke(cli.main, ["flows", "lint"])
    assert result.exit_code == 0, result.output
    for lang in Settings().languages:
        assert f"translations: {lang} " in result.output
    assert result.output.count("(100%)") == 6


def test_update_starts_the_catalog_of_a_new_language(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shutil.copy(i18n.LOCALES / "sauti.pot", tmp_path / "sauti.pot")
    monkeypatch.setattr(i18n, "LOCALES", tmp_path)
    result = CliRunner().invoke(cli.main, ["i18n", "update", "--languages", "lu"])
    assert result.exit_code == 0, result.output
    created = tmp_path / "lu" / "LC_MESSAGES" / "sauti.po"
    assert f"updated {created}" in result.output
    text = created.read_text(encoding="utf-8")
    assert 'msgid "Report a problem"\nmsgstr ""' in text
    assert "Language: lu" in text
    assert [path.name for path in tmp_path.iterdir() if path.is_dir()] == ["lu"]
