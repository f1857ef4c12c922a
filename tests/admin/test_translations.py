"""The translations pages: coverage, download, a checked upload shown before it is applied."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from flows.i18n import catalog_path
from storage.models import AuditEntry
from storage.models.flows import TranslationCatalog
from tests.admin.conftest import Browser
from tests.conftest import AT_TOKEN
from tests.gateway.conftest import UssdPhone

MENU_FR = 'msgstr "Sauti - signalement anonyme"'
NEW_MENU_FR = 'msgstr "Sauti - vos signalements anonymes"'


def shipped_po(language: str) -> str:
    return catalog_path(language).read_text(encoding="utf-8")


def french_with(old: str, new: str) -> bytes:
    text = shipped_po("fr")
    assert old in text, old
    return text.replace(old, new, 1).encode()


def check(admin: Browser, content: bytes, language: str = "fr") -> object:
    return admin.post(
        f"/admin/translations/{language}",
        files={"file": (f"{language}.po", content, "text/x-gettext-translation")},
    )


@pytest.fixture
def admin(browser: Callable[[str], Browser]) -> Browser:
    return browser("admin")


def test_coverage_per_language_and_flow(admin: Browser) -> None:
    page = admin.get("/admin/translations")
    assert page.status_code == 200
    assert "Français (fr)" in page.text
    assert "Lingala (ln)" in page.text
    # Each flow by its name, not its file or id.
    for part in ("Main menu", "Report a problem", "Check a report", "Add information"):
        assert f">{part}</th>" in page.text
    for part in ("Texts on every screen", "SMS and replies"):
        assert f">{part}</th>" in page.text
    assert ">main</th>" not in page.text
    assert ">add_info</th>" not in page.text
    detail = admin.get("/admin/translations/fr")
    assert detail.status_code == 200
    assert "Coverage per flow" in detail.text


def french_counts(admin: Browser) -> tuple[int, int]:
    page = admin.get("/admin/translations").text
    row = page[page.index("Français (fr)") :]
    found = re.search(r'class="num">(\d+) / (\d+)<', row)
    assert found is not None
    return int(found.group(1)), int(found.group(2))


def test_coverage_counts_and_lists_missing_messages(admin: Browser) -> None:
    done, total = french_counts(admin)
    assert 0 < done <= total
    response = check(admin, french_with(MENU_FR, 'msgstr ""'))
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert admin.post("/admin/translations/fr/apply").status_code == 303
    assert french_counts(admin) == (done - 1, total)
    detail = admin.get("/admin/translations/fr")
    assert "<li>Sauti - anonymous reports</li>" in detail.text


def test_download_gives_the_catalog_in_use(admin: Browser) -> None:
    response = admin.get("/admin/translations/fr.po")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/x-gettext-translation")
    assert "attachment" in response.headers["content-disposition"]
    assert response.text == shipped_po("fr")
    assert admin.get("/admin/translations/xx.po").status_code == 404


def test_a_broken_placeholder_is_refused_naming_the_msgid(
    admin: Browser, db: sessionmaker[Session]
) -> None:
    response = check(admin, french_with("Dossier {case}. Tapez", "Dossier {cas}. Tapez"))
    assert response.status_code == 422  # type: ignore[attr-defined]
    body = response.text  # type: ignore[attr-defined]
    assert "refused" in body
    assert "the translation of &#39;Case {case}. Type what you want to add.&#39; uses {cas}" in body
    assert "Apply this upload" not in body
    assert admin.post("/admin/translations/fr/apply").status_code == 409
    with db() as session:
        assert session.scalars(select(TranslationCatalog)).all() == []


def test_a_format_spec_in_a_translation_is_refused_by_line_at_once(
    admin: Browser, db: sessionmaker[Session]
) -> None:
    wait = 'msgid "Too many case checks from this phone. Please try again in {minutes} min."'
    content = french_with("Réessayez dans {minutes} min.", "Réessayez dans {minutes:>300000000}.")
    line = content.decode().splitlines().index(wait) + 1
    started = time.process_time()
    response = check(admin, content)
    assert time.process_time() - started < 2
    assert response.status_code == 422  # type: ignore[attr-defined]
    body = response.text  # type: ignore[attr-defined]
    assert f"line {line}: the translation of &#39;Too many case checks" in body
    assert (
        "writes {minutes:&gt;300000000}: write the placeholder exactly as the msgid has it" in body
    )
    assert "Apply this upload" not in body
    assert admin.post("/admin/translations/fr/apply").status_code == 409
    with db() as session:
        assert session.scalars(select(TranslationCatalog)).all() == []


def test_a_good_upload_shows_its_changes_then_changes_the_screen(
    admin: Browser, app_client: TestClient, db: sessionmaker[Session]
) -> None:
    response = check(admin, french_with(MENU_FR, NEW_MENU_FR))
    assert response.status_code == 200  # type: ignore[attr-defined]
    body = response.text  # type: ignore[attr-defined]
    assert "ready to apply" in body
    assert "Sauti - signalement anonyme" in body
    assert "Sauti - vos signalements anonymes" in body
    assert "1 message(s)" in body
    with db() as session:
        assert session.scalars(select(TranslationCatalog)).all() == []

    applied = admin.post("/admin/translations/fr/apply")
    assert applied.status_code == 303
    assert "in use now" in admin.follow(applied).text
    with db() as session:
        [row] = session.scalars(select(TranslationCatalog)).all()
        assert row.language == "fr"
        assert row.uploaded_by == "ada"
        assert "# Draft" in row.po or "#. " in row.po  # comments kept as uploaded
        [entry] = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "translations.upload")
        ).all()
        assert entry.target == "fr"
        assert entry.data["changed"] == 1

    phone = UssdPhone(client=app_client, number="+243812340009", token=AT_TOKEN)
    phone.dial()
    assert "Sauti - vos signalements anonymes" in phone.choose("Fran")
    assert admin.get("/admin/translations/fr.po").text == row.po


def test_a_screen_that_no_longer_fits_is_refused(admin: Browser) -> None:
    long = 'msgstr "Sauti - ' + "des signalements vraiment anonymes " * 5 + '"'
    response = check(admin, french_with(MENU_FR, long))
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "main.yaml: node &#39;menu&#39; [fr" in response.text  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("content", "status", "said"),
    [
        (b"\xff\xfe\x00bad", 400, "not UTF-8"),
        (b"hello world\n", 400, "not a .po file"),
        (b'msgid "a"\n', 400, "missing msgstr"),
        (b'msgid "No such text anywhere"\nmsgstr "Rien"\n', 422, "unknown msgid"),
        (b"", 400, "the file is empty"),
        (b"#" * (1024 * 1024 + 10), 413, "too large"),
    ],
)
def test_bad_uploads_are_refused(admin: Browser, content: bytes, status: int, said: str) -> None:
    response = check(admin, content)
    assert response.status_code == status  # type: ignore[attr-defined]
    assert said in response.text  # type: ignore[attr-defined]


def test_unknown_languages_and_missing_files_are_refused(admin: Browser) -> None:
    assert admin.get("/admin/translations/xx").status_code == 404
    assert check(admin, b'msgid ""\nmsgstr ""\n', "xx").status_code == 404  # type: ignore[attr-defined]
    assert admin.post("/admin/translations/fr").status_code == 400
    assert admin.post("/admin/translations/fr/apply").status_code == 409


def test_other_roles_may_not_manage_translations(browser: Callable[[str], Browser]) -> None:
    for role in ("coordinator", "analyst"):
        assert browser(role).get("/admin/translations").status_code == 403
        assert browser(role).get("/admin/translations/fr.po").status_code == 403
