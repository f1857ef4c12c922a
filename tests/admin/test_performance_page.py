"""The console's performance page and the quarterly report it links to: every role, trend
charts that fit a 360-px screen, a PDF download, and no free text of reporters."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from pypdf import PdfReader

from storage.db import utcnow
from storage.performance import Quarter
from storage.users import audit_entries
from tests.admin.conftest import Browser
from tests.api.conftest import DESCRIPTION, NOTE, PLACE_TEXT

FREE_TEXT = (DESCRIPTION, PLACE_TEXT, NOTE)
STATIC = Path(__file__).parents[2] / "gateway" / "admin" / "static"
_FIXED = re.compile(r"(?<![-\w])(?:min-)?width:\s*(\d+)px")


@pytest.fixture
def filed(file_case: Callable[..., str]) -> str:
    for _ in range(3):
        file_case(category="illegal_tax", place="cd-nk-walikale-mpama")
    file_case(category="mineral_fraud", place="cd-nk-walikale-bisie")
    return str(Quarter.of(utcnow()))


@pytest.mark.parametrize("role", ["admin", "coordinator", "analyst"])
def test_every_role_sees_a_committee_by_quarter(
    browser: Callable[[str], Browser], filed: str, role: str
) -> None:
    page = browser(role).get(f"/admin/performance?committee=walikale-local&quarter={filed}")
    assert page.status_code == 200
    html = page.text
    assert 'id="performance"' in html
    assert f'<th scope="row">{filed}</th>' in html
    assert '<td class="num">4</td>' in html  # small counts shown to signed-in users
    assert html.count('<svg class="chart" role="img"') == 2
    for text in FREE_TEXT:
        assert text not in html


def test_the_page_fits_a_360_px_screen(browser: Callable[[str], Browser], filed: str) -> None:
    """No inline style or script, charts that scale (a viewBox; svg.chart is 100% wide), and
    no fixed width over 360 px in the style sheets the page links."""
    html = browser("analyst").get("/admin/performance?committee=walikale-local").text
    assert 'style="' not in html
    # Scripts only from files (the console's own, under its CSP), none inline.
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html))
    assert 'name="viewport" content="width=device-width' in html
    for svg in re.findall(r"<svg [^>]*>", html):
        assert "viewBox=" in svg
        assert 'class="chart"' in svg
    assert "svg.chart { width: 100%; height: auto; }" in (STATIC / "console.css").read_text()
    for sheet in re.findall(r'href="/admin/static/([\w.]+\.css)"', html):
        css = (STATIC / sheet).read_text()
        assert all(int(px) <= 360 for px in _FIXED.findall(css)), sheet


def test_report_as_page_and_pdf(browser: Callable[[str], Browser], filed: str) -> None:
    admin = browser("coordinator")
    query = f"committee=walikale-local&quarter={filed}"
    page = admin.get(f"/admin/performance/report?{query}")
    assert page.status_code == 200
    assert f"quarterly report {filed}" in page.text
    assert "Mpama" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    pdf = admin.get(f"/admin/performance/report?{query}&format=pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert "attachment" in pdf.headers["content-disposition"]
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert f"quarterly report {filed}" in text
    for free in FREE_TEXT:
        assert free not in page.text
        assert free not in text


def test_report_downloads_are_audited(
    browser: Callable[[str], Browser], filed: str, db: object
) -> None:
    browser("analyst").get("/admin/performance/report?committee=walikale-local&format=pdf")
    with db.begin() as session:  # type: ignore[attr-defined]
        actions = [entry.action for entry in audit_entries(session=session)]
    assert "export.report" in actions


@pytest.mark.parametrize(
    "query",
    ["committee=nobody", "committee=walikale-local&quarter=2026Q9", "committee=x&format=doc"],
)
def test_bad_choices_get_a_clear_400(browser: Callable[[str], Browser], query: str) -> None:
    response = browser("admin").get(f"/admin/performance/report?{query}")
    assert response.status_code == 400
