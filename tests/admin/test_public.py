"""The public aggregate: no sign-in, small counts hidden, no totals, cacheable, clear errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from storage.db import utcnow
from tests.api.conftest import DESCRIPTION, NOTE, PLACE_TEXT

FREE_TEXT = (DESCRIPTION, PLACE_TEXT, NOTE)


@pytest.fixture
def month(file_case: Callable[..., str]) -> str:
    """Five illegal-tax reports in North Kivu and three mineral-fraud ones in South Kivu."""
    now = utcnow()
    for _ in range(5):
        file_case(category="illegal_tax", place="cd-nk-walikale-mpama", at=now)
    for _ in range(3):
        file_case(category="mineral_fraud", place="cd-sk-uvira-lemera", at=now)
    return f"{now:%Y-%m}"


def _anonymous(client: TestClient, path: str) -> Any:
    client.cookies.clear()
    return client.get(path)


def test_json_hides_counts_under_five(app_client: TestClient, month: str) -> None:
    response = _anonymous(app_client, "/public/stats.json")
    assert response.status_code == 200
    body = response.json()
    cells = {(c["province"], c["category"], c["month"]): c for c in body["cells"]}
    shown = cells[("cd-nk", "illegal_tax", month)]
    hidden = cells[("cd-sk", "mineral_fraud", month)]
    assert (shown["count"], shown["suppressed"], shown["province_name"]) == (5, False, "North Kivu")
    assert (hidden["count"], hidden["suppressed"]) == (None, True)
    assert len(cells) == 2
    assert body["threshold"] == 5
    assert "No totals" in body["rule"]
    assert body["to"] == month


def test_no_total_is_published_anywhere(app_client: TestClient, month: str) -> None:
    """A total of South Kivu, of mineral fraud or of the month would give away the 3."""
    body = _anonymous(app_client, "/public/stats.json").json()
    assert set(body) == {
        "from",
        "to",
        "threshold",
        "rule",
        "generated_at",
        "categories",
        "cells",
        "performance",
    }
    for cell in body["cells"]:
        assert set(cell) == {
            "province",
            "province_name",
            "category",
            "month",
            "count",
            "suppressed",
        }
    numbers = [cell["count"] for cell in body["cells"] if cell["count"] is not None]
    assert numbers == [5]
    page = _anonymous(app_client, "/public/stats").text
    page = page.lower().replace("no totals of these counts", "")
    assert "total" not in page.replace("no total over provinces or quarters", "")
    assert ">8<" not in page
    assert ">3<" not in page


def test_page_is_plain_html_with_the_rule(app_client: TestClient, month: str) -> None:
    response = _anonymous(app_client, "/public/stats")
    assert response.status_code == 200
    page = response.text
    assert "North Kivu" in page
    assert "South Kivu" in page
    assert "&lt;5" in page
    assert '<td class="num">5</td>' in page
    assert "Every count from 1 to 4 is hidden" in page
    assert "<script" not in page
    assert 'style="' not in page
    for text in FREE_TEXT:
        assert text not in page


def test_answers_are_cacheable_and_carry_security_headers(
    app_client: TestClient, month: str
) -> None:
    for path in ("/public/stats", "/public/stats.json"):
        response = _anonymous(app_client, path)
        assert response.headers["cache-control"] == "public, max-age=300"
        assert "default-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"


def test_a_range_is_served_from_cache_for_a_few_minutes(
    app_client: TestClient, file_case: Callable[..., str], month: str
) -> None:
    first = _anonymous(app_client, "/public/stats.json").json()
    for _ in range(2):
        file_case(category="mineral_fraud", place="cd-sk-uvira-lemera")
    assert _anonymous(app_client, "/public/stats.json").json() == first
    fresh = _anonymous(app_client, f"/public/stats.json?from={month}&to={month}").json()
    counts = {(c["province"], c["category"]): c["count"] for c in fresh["cells"]}
    assert counts[("cd-sk", "mineral_fraud")] == 5


def test_months_can_be_chosen(app_client: TestClient, month: str) -> None:
    body = _anonymous(app_client, "/public/stats.json?from=2020-01&to=2020-12").json()
    assert (body["from"], body["to"], body["cells"]) == ("2020-01", "2020-12", [])
    page = _anonymous(app_client, "/public/stats?from=2020-01&to=2020-03").text
    assert "No reports were received in these months." in page


@pytest.mark.parametrize(
    "query",
    [
        "from=2026",
        "to=2026-13",
        "from=1999-12",
        "from=2026-05&to=2026-01",
        "from=2000-01&to=2026-01",
        "to=%3Cscript%3E",
        "from=" + "9" * 5000,
    ],
)
def test_bad_months_get_a_clear_4xx(app_client: TestClient, query: str) -> None:
    response = _anonymous(app_client, f"/public/stats.json?{query}")
    assert response.status_code == 400
    assert "detail" in response.json()
    page = _anonymous(app_client, f"/public/stats?{query}")
    assert page.status_code == 400
    assert 'role="alert"' in page.text
    assert "<script>" not in page.text


def _performance(client: TestClient) -> dict[str, Any]:
    body = _anonymous(client, "/public/stats.json").json()
    return {row["province"]: row for row in body["performance"]["rows"]}


def test_performance_by_quarter_is_published_suppressed(app_client: TestClient, month: str) -> None:
    rows = _performance(app_client)
    north, south = rows["cd-nk"], rows["cd-sk"]
    assert north["received"] == 5
    assert north["province_name"] == "North Kivu"
    assert north["quarter"][4] == "Q"
    # No case acknowledged yet: nothing to measure, nothing hidden.
    assert (north["median_ack_days"], north["median_close_days"]) == (None, None)
    assert south["received"] is None
    assert "received" in south["suppressed"]
    for row in rows.values():
        for name in ("received", "ack_on_time_pct", "actions_on_time_pct", "solved_pct", "appeals"):
            assert row[name] is None or not 1 <= row[name] <= 4
    page = _anonymous(app_client, "/public/stats").text
    assert "How the mechanism performs" in page
    assert "hidden" in page
    for text in FREE_TEXT:
        assert text not in page


def test_a_quarter_total_never_gives_a_hidden_cell_away(
    app_client: TestClient, file_case: Callable[..., str], month: str
) -> None:
    """One mineral fraud beside the five illegal taxes: a North Kivu total of 6 would tell
    the hidden cell is 1, so the total is hidden too."""
    file_case(category="mineral_fraud", place="cd-nk-walikale-mpama")
    fresh = _anonymous(app_client, f"/public/stats.json?from={month}&to={month}").json()
    north = next(row for row in fresh["performance"]["rows"] if row["province"] == "cd-nk")
    assert north["received"] is None
    assert "received" in north["suppressed"]
