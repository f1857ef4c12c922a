"""Places in the console as each country names them: Rwanda's districts and Burundi's
communes where the tree has the level under the province; and place names translated by
an uploaded catalog (msgctxt "place")."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from flows.i18n import catalog_path
from tests.admin.conftest import Browser

PLACE_ENTRY = (
    '\n#. place cd-nk-walikale (territory)\nmsgctxt "place"\nmsgid "Walikale"\nmsgstr "{}"\n'
)


def _badge_after(text: str, code: str) -> str:
    found = re.search(
        rf"<code>{re.escape(code)}</code>\s*<span class=\"badge\"[^>]*>([^<]+)</span>", text
    )
    assert found is not None, code
    return found.group(1)


def test_the_tree_names_each_level_as_its_country_does(browser: Callable[[str], Browser]) -> None:
    text = browser("coordinator").get("/admin/places").text
    assert _badge_after(text, "cd-nk-walikale") == "territory"
    assert _badge_after(text, "rw-west-ngororero") == "district"
    assert _badge_after(text, "bi-kayanza-kabarore") == "commune"
    assert _badge_after(text, "rw-west") == "province"
    assert _badge_after(text, "rw-west-ngororero-gatumba") == "site"


def test_a_place_page_names_its_level_as_its_country_does(
    browser: Callable[[str], Browser],
) -> None:
    text = browser("coordinator").get("/admin/places/rw-north-rulindo").text
    assert re.search(r"<th scope=\"row\">Level</th><td>district</td>", text)


def test_the_committee_form_names_places_with_their_country_s_level(
    browser: Callable[[str], Browser],
) -> None:
    text = browser("admin").get("/admin/committees/new").text
    assert "Kabarore (commune)" in text
    assert "Ngororero (district)" in text
    assert "Walikale (territory)" in text


def _upload(admin: Browser, entry: str) -> object:
    """The shipped French catalog with `entry` in it: in place of the shipped entry of
    the same place where the catalog has one, appended otherwise."""
    content = catalog_path("fr").read_text(encoding="utf-8")
    head = entry.split('msgstr "', 1)[0].split("\nmsgctxt", 1)[1]
    shipped = "msgctxt" + head + 'msgstr ""\n'
    if shipped in content:
        content = content.replace(shipped, entry.split("\n", 2)[2], 1)
    else:
        content += entry
    return admin.post(
        "/admin/translations/fr",
        files={"file": ("fr.po", content.encode(), "text/x-gettext-translation")},
    )


@pytest.fixture
def admin(browser: Callable[[str], Browser]) -> Browser:
    return browser("admin")


def test_an_uploaded_place_name_is_shown_as_a_change(admin: Browser) -> None:
    response = _upload(admin, PLACE_ENTRY.format("Walikale-centre"))
    assert response.status_code == 200  # type: ignore[attr-defined]
    body = response.text  # type: ignore[attr-defined]
    assert "ready to apply" in body
    assert "Walikale-centre" in body
    assert "place name" in body


def test_a_place_name_that_names_no_place_is_kept_with_a_warning(admin: Browser) -> None:
    entry = PLACE_ENTRY.replace('"Walikale"', '"Atlantis"').format("Atlantide")
    response = _upload(admin, entry)
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert "name no place here" in response.text  # type: ignore[attr-defined]


def test_an_unknown_context_or_an_overlong_place_name_is_refused(admin: Browser) -> None:
    other = PLACE_ENTRY.replace('msgctxt "place"', 'msgctxt "river"').format("Walikale")
    response = _upload(admin, other)
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "msgctxt &#39;river&#39; is not used by Sauti" in response.text  # type: ignore[attr-defined]
    response = _upload(admin, PLACE_ENTRY.format("W" * 129))
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "1 to 128 characters" in response.text  # type: ignore[attr-defined]
