"""The flows pages: drafts by upload or edit, the lint inline, the diff, publish, roll back."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from flows.loader import shipped_texts
from storage.models import AuditEntry, BundleStatus, FlowBundle
from tests.admin.conftest import Browser
from tests.conftest import AT_TOKEN
from tests.gateway.conftest import UssdPhone

OLD_TITLE = "Sauti - anonymous reports"
NEW_TITLE = "Sauti - safe and anonymous reports"
VERSION_LINK = re.compile(r"/admin/flows/([0-9a-f]{64})")


def main_with(old: str, new: str) -> bytes:
    text = shipped_texts()[0]["main"]
    assert old in text
    return text.replace(old, new, 1).encode()


def upload(admin: Browser, content: bytes, filename: str = "main.yaml", **data: str) -> str:
    """Upload a document as a draft; return the draft's version."""
    response = admin.post(
        "/admin/flows/drafts",
        data,
        files={"file": (filename, content, "application/yaml")},
    )
    assert response.status_code == 303, response.text
    found = VERSION_LINK.search(response.headers["location"])
    assert found is not None
    return found.group(1)


def bundle(db: sessionmaker[Session], version: str) -> FlowBundle:
    with db() as session:
        row = session.scalars(select(FlowBundle).where(FlowBundle.version == version)).one()
        session.expunge(row)
        return row


def audits(db: sessionmaker[Session], action: str) -> list[AuditEntry]:
    with db() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


@pytest.fixture
def admin(browser: Callable[[str], Browser]) -> Browser:
    return browser("admin")


def test_index_lists_the_published_version_and_the_simulator(
    admin: Browser, app_client: TestClient
) -> None:
    page = admin.get("/admin/flows")
    assert page.status_code == 200
    live = app_client.app.state.runtime.bundle.version  # type: ignore[attr-defined]
    assert live[:12] in page.text
    assert "published" in page.text
    assert 'class="phone"' in page.text
    assert "/admin/static/simulator.js" in page.text


def test_a_draft_with_a_broken_target_shows_the_problem_and_cannot_be_published(
    admin: Browser, db: sessionmaker[Session]
) -> None:
    version = upload(admin, main_with("goto: status}", "goto: nowhere}"))
    assert bundle(db, version).status == BundleStatus.DRAFT
    page = admin.get(f"/admin/flows/{version}")
    assert page.status_code == 200
    assert "Structure" in page.text
    assert "nowhere" in page.text
    assert "cannot be published" in page.text
    assert re.search(r"<button type=\"submit\" disabled[^>]*>Publish this version", page.text)
    refused = admin.post(f"/admin/flows/{version}/publish")
    assert refused.status_code == 409
    assert "lint found" in refused.text
    assert bundle(db, version).status == BundleStatus.DRAFT
    assert audits(db, "flows.publish") == []


def test_a_screen_too_long_is_shown_under_each_language(admin: Browser) -> None:
    long_title = "Sauti " + "very long title words " * 8
    version = upload(admin, main_with(OLD_TITLE, long_title))
    page = admin.get(f"/admin/flows/{version}")
    assert "Language sw" in page.text
    assert "Language en" in page.text
    assert "main.yaml: node &#39;menu&#39;" in page.text
    assert admin.post(f"/admin/flows/{version}/publish").status_code == 409


def test_publish_serves_new_sessions_while_a_running_session_keeps_its_version(
    admin: Browser, app_client: TestClient, db: sessionmaker[Session]
) -> None:
    before = UssdPhone(client=app_client, number="+243812340001", token=AT_TOKEN)
    before.dial()
    assert OLD_TITLE in before.choose("English")
    old_version = app_client.app.state.runtime.bundle.version  # type: ignore[attr-defined]

    version = upload(admin, main_with(OLD_TITLE, NEW_TITLE), note="a warmer title")
    page = admin.get(f"/admin/flows/{version}")
    assert "OK:" in page.text
    published = admin.follow(admin.post(f"/admin/flows/{version}/publish"))
    assert "Published version" in published.text
    assert bundle(db, version).status == BundleStatus.PUBLISHED
    assert bundle(db, old_version).status == BundleStatus.RETIRED
    [entry] = audits(db, "flows.publish")
    assert entry.actor == "ada"
    assert entry.data == {"version": version, "previous": old_version}

    # The session begun before stays on its version: a wrong key re-shows its menu.
    assert OLD_TITLE in before.press("9")
    after = UssdPhone(client=app_client, number="+243812340002", token=AT_TOKEN)
    after.dial()
    assert NEW_TITLE in after.choose("English")


def test_rollback_publishes_the_earlier_version_again(
    admin: Browser, app_client: TestClient, db: sessionmaker[Session]
) -> None:
    old_version = app_client.app.state.runtime.bundle.version  # type: ignore[attr-defined]
    version = upload(admin, main_with(OLD_TITLE, NEW_TITLE))
    admin.post(f"/admin/flows/{version}/publish")
    page = admin.get(f"/admin/flows/{old_version}")
    assert "Roll back to this version" in page.text
    rolled = admin.post(f"/admin/flows/{old_version}/rollback")
    assert rolled.status_code == 303
    assert bundle(db, old_version).status == BundleStatus.PUBLISHED
    assert bundle(db, version).status == BundleStatus.RETIRED
    [entry] = audits(db, "flows.rollback")
    assert entry.target == old_version
    phone = UssdPhone(client=app_client, number="+243812340003", token=AT_TOKEN)
    phone.dial()
    assert OLD_TITLE in phone.choose("English")


def test_rollback_of_a_draft_never_published_is_refused(admin: Browser) -> None:
    version = upload(admin, main_with(OLD_TITLE, NEW_TITLE))
    assert "Roll back" not in admin.get(f"/admin/flows/{version}").text
    refused = admin.post(f"/admin/flows/{version}/rollback")
    assert refused.status_code == 409
    assert "published before" in refused.text


def test_the_diff_shows_the_changed_line_side_by_side_and_escaped(admin: Browser) -> None:
    version = upload(admin, main_with(OLD_TITLE, NEW_TITLE + " <b>x</b>"))
    page = admin.get(f"/admin/flows/{version}")
    assert "main.yaml: changed" in page.text
    assert 'class="diff"' in page.text
    assert "<b>x</b>" not in page.text
    assert "&lt;b&gt;x&lt;/b&gt;" in page.text
    published = admin.get(f"/admin/flows/{bundle_version_of(admin)}")
    assert "No difference" in published.text


def bundle_version_of(admin: Browser) -> str:
    runtime = admin.client.app.state.runtime  # type: ignore[attr-defined]
    return str(runtime.bundle.version)


def test_editing_a_document_in_the_browser_makes_a_draft(
    admin: Browser, db: sessionmaker[Session]
) -> None:
    live = bundle_version_of(admin)
    form = admin.get(f"/admin/flows/{live}/documents/main")
    assert form.status_code == 200
    assert "<textarea" in form.text
    assert OLD_TITLE in form.text
    text = main_with(OLD_TITLE, NEW_TITLE).decode()
    saved = admin.post(
        "/admin/flows/drafts", {"base": live, "name": "main", "text": text, "note": "edited"}
    )
    assert saved.status_code == 303
    version = VERSION_LINK.search(saved.headers["location"]).group(1)  # type: ignore[union-attr]
    row = bundle(db, version)
    assert row.status == BundleStatus.DRAFT
    assert NEW_TITLE in row.texts["main"]
    assert row.note == "edited"
    assert row.created_by == "ada"
    assert set(row.texts) == set(shipped_texts()[0])


def test_uploading_a_new_document_adds_it(admin: Browser, db: sessionmaker[Session]) -> None:
    version = upload(admin, b"texts: {}\nlabels: {}\n", filename="extra.yml")
    assert "extra" in bundle(db, version).texts
    assert "extra.yaml" in admin.get(f"/admin/flows/{version}").text


def test_the_same_documents_again_are_not_stored_twice(
    admin: Browser, db: sessionmaker[Session]
) -> None:
    first = upload(admin, main_with(OLD_TITLE, NEW_TITLE))
    second = upload(admin, main_with(OLD_TITLE, NEW_TITLE))
    assert first == second
    with db() as session:
        assert len(session.scalars(select(FlowBundle)).all()) == 2


@pytest.mark.parametrize(
    ("content", "filename", "status", "said"),
    [
        (b"\xff\xfe bad", "main.yaml", 400, "not UTF-8"),
        (b"nodes: [unclosed", "main.yaml", 400, "not valid YAML"),
        (b"- a\n- list\n", "main.yaml", 400, "YAML mapping"),
        (b"", "main.yaml", 400, "the document is empty"),
        (b"nodes: {}\n", "../../etc/Passwd.yaml", 400, "document name"),
        (b"nodes: {}\n", "main.txt", 400, "document name"),
        (b"x: " + b"a" * (257 * 1024), "main.yaml", 413, "too large"),
        (b"nodes: " + b"[" * 5000 + b"]" * 5000, "main.yaml", 400, "nested deeper than 64"),
        (b"a: &x {}\nnodes: *x\n", "main.yaml", 400, "aliases (*x) are not accepted"),
        (b"nodes: {}\nwhen: 2024-13-45\n", "main.yaml", 400, "month must be in 1..12 (line 2)"),
    ],
)
def test_bad_uploads_are_refused_with_a_clear_message(
    admin: Browser, content: bytes, filename: str, status: int, said: str
) -> None:
    response = admin.post(
        "/admin/flows/drafts", files={"file": (filename, content, "application/yaml")}
    )
    assert response.status_code == status, response.text[:300]
    assert said.lower() in response.text.lower()


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"name": "main", "text": ""}, 400),
        ({"name": "Main File", "text": "nodes: {}"}, 400),
        ({"name": "main", "text": "nodes: {}", "base": "nope"}, 404),
        ({"name": "main", "text": "nodes: {}", "base": "0" * 64}, 404),
        ({"name": "main", "text": "nodes: {}", "note": "n" * 501}, 400),
    ],
)
def test_bad_edits_are_refused(admin: Browser, data: dict[str, str], status: int) -> None:
    assert admin.post("/admin/flows/drafts", data).status_code == status


def test_unknown_versions_and_documents_are_404(admin: Browser) -> None:
    live = bundle_version_of(admin)
    assert admin.get("/admin/flows/" + "0" * 64).status_code == 404
    assert admin.get("/admin/flows/not-a-version").status_code == 404
    assert admin.get(f"/admin/flows/{live}/documents/nothing").status_code == 404
    assert admin.post("/admin/flows/" + "a" * 64 + "/publish").status_code == 404
    assert admin.post("/admin/flows/xyz/rollback").status_code == 404


def test_publishing_the_published_version_is_refused(admin: Browser) -> None:
    response = admin.post(f"/admin/flows/{bundle_version_of(admin)}/publish")
    assert response.status_code == 409
    assert "already the published one" in response.text


def test_a_post_without_the_csrf_token_changes_nothing(
    admin: Browser, db: sessionmaker[Session]
) -> None:
    response = admin.post(
        "/admin/flows/drafts",
        {"name": "main", "text": main_with(OLD_TITLE, NEW_TITLE).decode()},
        csrf=False,
    )
    assert response.status_code == 403
    with db() as session:
        assert len(session.scalars(select(FlowBundle)).all()) == 1


def test_other_roles_may_not_open_the_flows(browser: Callable[[str], Browser]) -> None:
    for role in ("coordinator", "analyst"):
        assert browser(role).get("/admin/flows").status_code == 403
