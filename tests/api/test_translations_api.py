"""`/api/v1/translations`: coverage, the .po in use, and a checked upload with dry_run."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from flows.i18n import catalog_path
from gateway import translationadmin
from storage.models.flows import TranslationCatalog
from tests.conftest import AT_TOKEN
from tests.gateway.conftest import UssdPhone

PO = {"Content-Type": "text/x-gettext-translation"}
MENU_FR = 'msgstr "Sauti - signalement anonyme"'
NEW_MENU_FR = 'msgstr "Sauti - signalements sans nom"'


def french_with(old: str, new: str) -> bytes:
    text = catalog_path("fr").read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1).encode()


@pytest.fixture
def admin(headers: Callable[[str], dict[str, str]]) -> dict[str, str]:
    return headers("admin")


def stored(db: sessionmaker[Session]) -> list[TranslationCatalog]:
    with db() as session:
        return list(session.scalars(select(TranslationCatalog)))


def test_coverage_per_language_and_group(app_client: TestClient, admin: dict[str, str]) -> None:
    body = app_client.get("/api/v1/translations", headers=admin).json()
    by_code = {lang["language"]: lang for lang in body["languages"]}
    assert set(by_code) >= {"sw", "fr", "en", "rw", "rn", "ln"}
    fr = by_code["fr"]
    assert fr["name"] == "Français"
    assert fr["translated"] == sum(group["translated"] for group in fr["groups"])
    assert fr["total"] == sum(group["total"] for group in fr["groups"])
    groups = {group["group"] for group in fr["groups"]}
    assert groups >= {"main", "report", "status", "add_info", "shared", "code"}
    for group in fr["groups"]:
        assert group["translated"] + len(group["missing"]) == group["total"]


def test_download_the_catalog_in_use(app_client: TestClient, admin: dict[str, str]) -> None:
    response = app_client.get("/api/v1/translations/sw.po", headers=admin)
    assert response.status_code == 200
    assert response.text == catalog_path("sw").read_text(encoding="utf-8")
    assert app_client.get("/api/v1/translations/xx.po", headers=admin).status_code == 404


def test_dry_run_tells_the_changes_and_stores_nothing(
    app_client: TestClient, admin: dict[str, str], db: sessionmaker[Session]
) -> None:
    response = app_client.post(
        "/api/v1/translations/fr?dry_run=true",
        content=french_with(MENU_FR, NEW_MENU_FR),
        headers={**admin, **PO},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["applied"] is False
    assert body["problems"] == []
    assert body["changes"] == [
        {
            "msgid": "Sauti - anonymous reports",
            "old": "Sauti - signalement anonyme",
            "new": "Sauti - signalements sans nom",
        }
    ]
    assert stored(db) == []


def test_an_upload_changes_the_screen_and_the_download(
    app_client: TestClient, admin: dict[str, str], db: sessionmaker[Session]
) -> None:
    content = french_with(MENU_FR, NEW_MENU_FR)
    response = app_client.post("/api/v1/translations/fr", content=content, headers={**admin, **PO})
    assert response.status_code == 200, response.text
    assert response.json()["applied"] is True
    [row] = stored(db)
    assert row.po == content.decode()
    phone = UssdPhone(client=app_client, number="+243812340021", token=AT_TOKEN)
    phone.dial()
    assert "Sauti - signalements sans nom" in phone.choose("Fran")
    download = app_client.get("/api/v1/translations/fr.po", headers=admin)
    assert download.text == content.decode()


def test_a_broken_placeholder_is_refused_naming_the_msgid(
    app_client: TestClient, admin: dict[str, str], db: sessionmaker[Session]
) -> None:
    content = french_with("Dossier {case}. Tapez", "Dossier {numero}. Tapez")
    response = app_client.post("/api/v1/translations/fr", content=content, headers={**admin, **PO})
    assert response.status_code == 422
    body = response.json()
    assert body["applied"] is False
    assert any(
        "Case {case}. Type what you want to add." in p and "{numero}" in p for p in body["problems"]
    )
    assert stored(db) == []


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"", 400),
        (b"\xff\xfe", 400),
        (b"hello world", 400),
        (b'msgid "Unknown text"\nmsgstr "Texte"\n', 422),
        (b"#" * (1024 * 1024 + 1), 413),
    ],
)
def test_bad_uploads_are_refused(
    app_client: TestClient, admin: dict[str, str], content: bytes, status: int
) -> None:
    response = app_client.post("/api/v1/translations/fr", content=content, headers={**admin, **PO})
    assert response.status_code == status, response.text


WAIT_ID = 'msgid "Too many case checks from this phone. Please try again in {minutes} min."'
WAIT_FR = "Réessayez dans {minutes} min."


@pytest.mark.parametrize(
    "placeholder",
    ["{minutes:>300000000}", "{minutes:>30000000}", "{minutes!r:>99999999}", "{minutes:{minutes}}"],
)
def test_a_format_spec_in_a_translation_is_refused_by_line_at_once(
    app_client: TestClient, admin: dict[str, str], db: sessionmaker[Session], placeholder: str
) -> None:
    content = french_with(WAIT_FR, f"Réessayez dans {placeholder} min.")
    line = content.decode().splitlines().index(WAIT_ID) + 1
    for dry_run in ("true", "false"):
        started = time.process_time()
        response = app_client.post(
            f"/api/v1/translations/fr?dry_run={dry_run}", content=content, headers={**admin, **PO}
        )
        assert time.process_time() - started < 2
        assert response.status_code == 422, response.text[:500]
        [problem] = response.json()["problems"]
        assert problem.startswith(f"line {line}: the translation of 'Too many case checks")
        assert f"writes {placeholder}: write the placeholder exactly as the msgid has it" in problem
        assert "({minutes})" in problem
    assert stored(db) == []


def test_the_check_of_an_upload_is_time_boxed(
    app_client: TestClient,
    admin: dict[str, str],
    db: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(translationadmin, "CHECK_SECONDS", 0.0)
    content = french_with(MENU_FR, NEW_MENU_FR)
    response = app_client.post("/api/v1/translations/fr", content=content, headers={**admin, **PO})
    assert response.status_code == 422
    assert response.json()["problems"] == [
        "checking this catalog took more than 0 s of CPU time: it is refused "
        "(are some translations very long?)"
    ]
    assert stored(db) == []


def test_an_unknown_language_is_404(app_client: TestClient, admin: dict[str, str]) -> None:
    response = app_client.post("/api/v1/translations/xx", content=b"x", headers={**admin, **PO})
    assert response.status_code == 404


def test_only_admins_may_use_the_translations_api(
    app_client: TestClient, headers: Callable[[str], dict[str, str]]
) -> None:
    for role in ("coordinator", "analyst"):
        auth = headers(role)
        assert app_client.get("/api/v1/translations", headers=auth).status_code == 403
        assert app_client.post("/api/v1/translations/fr", headers=auth).status_code == 403
