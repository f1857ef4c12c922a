"""Public statistics drawn: a chart per province and category with the dashboard's SVG
charts, months chosen from a list, a captioned table behind the charts, and no count under
the threshold drawn or written anywhere."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient

from gateway.admin.public import CHOICE_MONTHS, MAX_CHOICES, month_choices
from storage.db import utcnow
from storage.stats import SUPPRESS_BELOW


@pytest.fixture
def month(file_case: Callable[..., str]) -> str:
    """Five illegal-tax reports in North Kivu and three mineral-fraud ones in South Kivu."""
    now = utcnow()
    for _ in range(5):
        file_case(category="illegal_tax", place="cd-nk-walikale-mpama", at=now)
    for _ in range(3):
        file_case(category="mineral_fraud", place="cd-sk-uvira-lemera", at=now)
    return f"{now:%Y-%m}"


def _page(client: TestClient, query: str = "") -> str:
    client.cookies.clear()
    response = client.get("/public/stats" + query)
    assert response.status_code == 200, response.text
    return response.text


def _section(page: str, province: str) -> str:
    start = page.index(f"<h2>{province}</h2>")
    return page[start : page.index("</section>", start)]


def test_each_province_has_a_chart_per_category_with_its_table(
    app_client: TestClient, month: str
) -> None:
    page = _page(app_client)
    north = _section(page, "North Kivu")
    assert north.count('<svg class="chart" role="img"') == 1
    assert "<title>Illegal tax in North Kivu: reports each month</title>" in north
    assert f"<title>{month}: 5 reports</title>" in north
    # The table of the same figures follows the charts, captioned.
    assert north.index("<svg") < north.index("<table>")
    assert "<caption>North Kivu: reports each month, by category" in north
    south = _section(page, "South Kivu")
    assert "<title>Mineral fraud in South Kivu: reports each month</title>" in south
    assert "<caption>South Kivu: reports each month, by category" in south
    assert '<link rel="stylesheet" href="/admin/static/dashboard.css">' in page


def test_a_withheld_count_has_no_column_and_says_under_five(
    app_client: TestClient, month: str
) -> None:
    south = _section(_page(app_client), "South Kivu")
    assert f"<title>{month}: &lt;{SUPPRESS_BELOW} reports, withheld</title>" in south
    assert '<text class="value hidden"' in south
    assert "3 reports" not in south
    assert ">3<" not in south


def test_no_chart_or_table_shows_a_count_under_the_threshold(
    app_client: TestClient, month: str
) -> None:
    page = _page(app_client)
    values = [int(v) for v in re.findall(r'<text class="value"[^>]*>(\d+)</text>', page)]
    assert values
    assert all(value == 0 or value >= SUPPRESS_BELOW for value in values)
    titles = re.findall(r"<title>[^<]*: (\d+) reports?</title>", page)
    assert all(int(value) == 0 or int(value) >= SUPPRESS_BELOW for value in titles)
    # Axis ticks name the highest drawn count: never a hidden one nor a sum.
    assert ">8<" not in page


def test_months_are_chosen_from_a_list(app_client: TestClient, month: str) -> None:
    page = _page(app_client)
    for name in ("from", "to"):
        found = re.search(rf'<select name="{name}">(.*?)</select>', page, re.S)
        assert found is not None
        options = re.findall(r'<option value="(\d{4}-\d{2})"', found.group(1))
        assert len(options) == CHOICE_MONTHS
        assert month in options
    assert f'<option value="{month}" selected>{month}</option>' in page
    chosen = _page(app_client, f"?from={month}&to={month}")
    assert f'<option value="{month}" selected>{month}</option>' in chosen
    # One month asked for: one column per chart.
    north = _section(chosen, "North Kivu")
    assert north.count('<g class="column') == 1


def test_a_bad_month_is_a_clear_400_with_the_list_still_there(app_client: TestClient) -> None:
    app_client.cookies.clear()
    response = app_client.get("/public/stats?from=2026-13")
    assert response.status_code == 400
    assert "must be a month written YYYY-MM" in response.text
    assert '<select name="from">' in response.text


def test_month_choices() -> None:
    today = date(2026, 12, 6)
    none_yet = month_choices(None, today)
    assert none_yet[0] == "2026-12"
    assert none_yet[-1] == "2025-01"
    assert len(none_yet) == CHOICE_MONTHS
    early = month_choices(datetime(2023, 3, 9, tzinfo=UTC), today)
    assert (early[0], early[-1], len(early)) == ("2026-12", "2023-03", 46)
    ancient = month_choices(datetime(2001, 1, 1, tzinfo=UTC), today)
    assert len(ancient) == MAX_CHOICES
    assert ancient[-1] == "2017-01"
