"""`GET /api/v1/stats`: the dashboard's figures as JSON, for every role, without free text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from storage.db import utcnow
from storage.performance import Quarter
from storage.settings import Settings
from tests.admin.test_dashboard import ack, backdate, close
from tests.api.conftest import DESCRIPTION, NOTE, PLACE_TEXT

T0 = datetime(2026, 7, 15, 8, 0, tzinfo=UTC)


@pytest.fixture
def seeded(file_case: Callable[..., str], db: sessionmaker[Session], settings: Settings) -> None:
    now = utcnow()
    closed = file_case(category="illegal_tax", at=now - timedelta(days=4))
    waiting = file_case(
        category="mineral_fraud", place="cd-sk-uvira-lemera", at=now - timedelta(days=6)
    )
    backdate(db, closed)
    backdate(db, waiting)
    ack(db, closed, timedelta(minutes=30))
    close(db, settings, closed, timedelta(hours=10))


@pytest.mark.parametrize("role", ["admin", "coordinator", "analyst"])
def test_every_role_gets_the_figures(
    app_client: TestClient,
    headers: Callable[[str], dict[str, str]],
    seeded: None,
    role: str,
) -> None:
    response = app_client.get("/api/v1/stats", headers=headers(role))
    assert response.status_code == 200
    body = response.json()
    assert (body["received"], body["open"], body["overdue"]) == (2, 1, 1)
    assert body["median_ack_seconds"] == 1800
    assert body["median_close_seconds"] == 36000
    assert {c["code"]: c["count"] for c in body["by_category"]} == {
        "illegal_tax": 1,
        "mineral_fraud": 1,
    }
    assert {p["label"] for p in body["by_province"]} == {"North Kivu", "South Kivu"}
    assert len(body["by_week"]) == 12
    assert sum(week["count"] for week in body["by_week"]) == 2
    committees = {c["code"]: c for c in body["committees"]}
    assert committees["uvira-local"]["overdue"] == 1
    assert committees["walikale-local"]["median_close_seconds"] == 36000
    for text in (DESCRIPTION, PLACE_TEXT, NOTE):
        assert text not in response.text


def test_filters_and_range(
    app_client: TestClient, headers: Callable[[str], dict[str, str]], seeded: None
) -> None:
    today = utcnow().date()
    start = (today - timedelta(days=5)).isoformat()
    response = app_client.get(
        f"/api/v1/stats?from={start}&to={today.isoformat()}&province=cd-nk&category=",
        headers=headers("analyst"),
    )
    body = response.json()
    assert (body["start"], body["province"], body["category"]) == (start, "cd-nk", None)
    assert (body["received"], body["open"]) == (1, 0)


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("from=soon", 400),
        ("from=2026-02-01&to=2026-01-01", 400),
        ("category=rain", 400),
        ("committee=nobody", 400),
        ("province=" + "p" * 65, 422),
    ],
)
def test_bad_parameters_get_a_json_error(
    app_client: TestClient, headers: Callable[[str], dict[str, str]], query: str, status: int
) -> None:
    response = app_client.get(f"/api/v1/stats?{query}", headers=headers("analyst"))
    assert response.status_code == status
    assert "detail" in response.json()


def test_a_token_is_needed(app_client: TestClient) -> None:
    assert app_client.get("/api/v1/stats").status_code == 401


def _row(rows: list[dict[str, Any]], code: str, quarter: str) -> dict[str, Any]:
    return next(row for row in rows if (row["code"], row["quarter"]) == (code, quarter))


def test_performance_is_whole_for_staff_and_published_for_analysts(
    app_client: TestClient, headers: Callable[[str], dict[str, str]], seeded: None
) -> None:
    quarter = str(Quarter.of(utcnow() - timedelta(days=4)))
    whole = app_client.get("/api/v1/stats", headers=headers("coordinator")).json()["performance"]
    assert whole["published"] is False
    walikale = _row(whole["committees"], "walikale-local", quarter)
    assert walikale["received"] == 1
    assert (walikale["median_ack_days"], walikale["suppressed"]) == (0.0, [])
    assert _row(whole["provinces"], "cd-nk", quarter)["received"] == 1

    published = app_client.get("/api/v1/stats", headers=headers("analyst")).json()["performance"]
    assert published["published"] is True
    assert "hidden" in published["rule"]
    for row in (
        _row(published["committees"], "walikale-local", quarter),
        _row(published["provinces"], "cd-nk", quarter),
    ):
        assert row["received"] is None
        assert row["median_ack_days"] is None
        assert {"received", "median_ack_days"} <= set(row["suppressed"])
    for row in published["provinces"] + published["committees"]:
        assert row["received"] is None or row["received"] == 0 or row["received"] >= 5


def test_published_performance_shows_what_is_safe(
    app_client: TestClient,
    headers: Callable[[str], dict[str, str]],
    file_case: Callable[..., str],
    db: sessionmaker[Session],
) -> None:
    numbers = [file_case(at=T0 + timedelta(hours=hour)) for hour in range(6)]
    for number in numbers:
        backdate(db, number)
    for number in numbers[:5]:
        ack(db, number, timedelta(minutes=30))
    query = "/api/v1/stats?from=2026-07-01&to=2026-09-30"
    whole = app_client.get(query, headers=headers("admin")).json()["performance"]
    published = app_client.get(query, headers=headers("analyst")).json()["performance"]
    assert (whole["first_quarter"], whole["last_quarter"]) == ("2026Q3", "2026Q3")
    for kind, code in (("provinces", "cd-nk"), ("committees", "walikale-local")):
        full, shown = _row(whole[kind], code, "2026Q3"), _row(published[kind], code, "2026Q3")
        assert (full["received"], shown["received"]) == (6, 6)
        assert (full["median_ack_days"], shown["median_ack_days"]) == (0.0, 0.0)
        # Five of six on time: the one late case is a count under 5, so the share is hidden.
        assert (full["ack_on_time_pct"], shown["ack_on_time_pct"]) == (83, None)
        assert "ack_on_time_pct" in shown["suppressed"]
    filtered = app_client.get(
        query + "&province=cd-nk&committee=walikale-local", headers=headers("analyst")
    ).json()["performance"]
    assert {row["code"] for row in filtered["provinces"]} == {"cd-nk"}
    assert {row["code"] for row in filtered["committees"]} == {"walikale-local"}
