"""Places in the console: the tree, the CSV import, renaming and (de)activating a place."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import AuditEntry, Location
from tests.admin.conftest import Browser

GOOD_CSV = b"""code,name,parent_code,level
cd-nk-lubero,Lubero,cd-nk,territory
cd-nk-lubero-manguredjipa,Manguredjipa,cd-nk-lubero,site
cd-nk-walikale,Walikale territory,cd-nk,territory
"""
BAD_CSV = b"""code,name,parent_code,level
cd-nk-lubero,Lubero,cd-nk,territory
cd-nk-lubero-x,X,cd-nk-nowhere,site
Bad Code,Y,cd-nk,village
"""


def _upload(user: Browser, content: bytes) -> Any:
    user._use()
    return user.client.post(
        "/admin/places/import",
        data={"csrf_token": user.csrf},
        files={"file": ("places.csv", io.BytesIO(content), "text/csv")},
        follow_redirects=False,
    )


def _place(db: sessionmaker[Session], code: str) -> Location | None:
    with db() as session:
        return session.scalar(select(Location).where(Location.code == code))


def _actions(db: sessionmaker[Session]) -> list[tuple[str, str | None, dict[str, Any]]]:
    with db() as session:
        return [(e.action, e.target, e.data) for e in session.scalars(select(AuditEntry))]


def test_tree_shows_nesting_and_case_counts(
    browser: Callable[[str], Browser], file_case: Callable[..., str]
) -> None:
    file_case(place="cd-nk-walikale-mpama")
    page = browser("coordinator").get("/admin/places")
    assert page.status_code == 200
    text = page.text
    # Country, then its province, then the territory, then the site: each inside the last.
    positions = [
        text.index(f"<code>{code}</code>")
        for code in ("cd", "cd-nk", "cd-nk-walikale", "cd-nk-walikale-mpama")
    ]
    assert positions == sorted(positions)
    walikale = text.index("<code>cd-nk-walikale</code>")
    end_of_walikale = text.index("</details>", text.index("<code>cd-nk-walikale-omate</code>"))
    assert walikale < text.index("<code>cd-nk-walikale-mpama</code>") < end_of_walikale
    assert text.count("<details") >= 4
    mpama = text.index("<code>cd-nk-walikale-mpama</code>")
    assert "1 case<" in text[mpama : mpama + 300]


def test_good_csv_is_applied_and_audited(
    browser: Callable[[str], Browser], db: sessionmaker[Session], app_client: TestClient
) -> None:
    user = browser("admin")
    done = _upload(user, GOOD_CSV)
    assert done.status_code == 303
    assert "2 places created, 1 updated, 0 unchanged" in user.follow(done).text
    site = _place(db, "cd-nk-lubero-manguredjipa")
    assert site is not None
    assert site.path == "/cd/cd-nk/cd-nk-lubero/cd-nk-lubero-manguredjipa/"
    walikale = _place(db, "cd-nk-walikale")
    assert walikale is not None
    assert walikale.name == "Walikale territory"
    assert ("place.import", None, {"created": 2, "updated": 1, "unchanged": 0}) in _actions(db)
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    assert runtime.places.label("cd-nk-lubero-manguredjipa").startswith("Manguredjipa")


def test_bad_csv_shows_lines_and_changes_nothing(
    browser: Callable[[str], Browser], db: sessionmaker[Session]
) -> None:
    page = _upload(browser("coordinator"), BAD_CSV)
    assert page.status_code == 422
    assert "Nothing was imported" in page.text
    assert "Line 3, parent_code: unknown parent &#39;cd-nk-nowhere&#39;" in page.text
    assert "Line 4, code: use lower-case letters, digits and dashes" in page.text
    assert "Line 4, level: one of country, province, territory, site" in page.text
    assert _place(db, "cd-nk-lubero") is None


def test_bad_files_are_4xx(browser: Callable[[str], Browser]) -> None:
    user = browser("admin")
    header = _upload(user, b"id,label\n1,x\n")
    assert header.status_code == 422
    assert "Line 1, header: expected code,name,parent_code,level" in header.text
    assert _upload(user, b"\xff\xfe\xfa").status_code == 400
    assert _upload(user, b"x" * (5 * 1024 * 1024 + 1)).status_code == 413
    assert user.post("/admin/places/import", {}).status_code == 400


def test_rename_deactivate_and_reactivate_a_place(
    browser: Callable[[str], Browser], db: sessionmaker[Session]
) -> None:
    user = browser("coordinator")
    page = user.get("/admin/places/cd-nk-walikale")
    assert page.status_code == 200
    assert "Rename" in page.text
    renamed = user.post("/admin/places/cd-nk-walikale/rename", {"name": "Walikale (NK)"})
    assert renamed.status_code == 303
    assert _place(db, "cd-nk-walikale").name == "Walikale (NK)"  # type: ignore[union-attr]
    bad = user.post("/admin/places/cd-nk-walikale/rename", {"name": "   "})
    assert "give a name of 1 to 128 characters" in user.follow(bad).text

    off = user.post("/admin/places/cd-nk-walikale/active", {"active": "no"})
    assert "4 place(s) deactivated" in user.follow(off).text
    assert not _place(db, "cd-nk-walikale-bisie").active  # type: ignore[union-attr]
    child = user.post("/admin/places/cd-nk-walikale-bisie/active", {"active": "yes"})
    assert "reactivate &#39;cd-nk-walikale&#39; first" in user.follow(child).text
    user.post("/admin/places/cd-nk-walikale/active", {"active": "yes"})
    assert _place(db, "cd-nk-walikale").active  # type: ignore[union-attr]
    actions = [(a, t) for a, t, _ in _actions(db)]
    assert ("place.rename", "cd-nk-walikale") in actions
    assert ("place.deactivate", "cd-nk-walikale") in actions
    assert ("place.reactivate", "cd-nk-walikale") in actions


def test_unknown_places_and_bad_values_are_4xx(browser: Callable[[str], Browser]) -> None:
    user = browser("admin")
    assert user.get("/admin/places/nowhere").status_code == 404
    assert user.get("/admin/places/NOT%20A%20CODE").status_code == 422
    assert user.post("/admin/places/nowhere/rename", {"name": "x"}).status_code == 404
    assert user.post("/admin/places/cd/active", {"active": "perhaps"}).status_code == 400


def test_analyst_may_not_open_places(browser: Callable[[str], Browser]) -> None:
    analyst = browser("analyst")
    assert analyst.get("/admin/places").status_code == 403
    assert analyst.get("/admin/places/cd").status_code == 403
    assert analyst.post("/admin/places/cd/rename", {"name": "x"}).status_code == 403
