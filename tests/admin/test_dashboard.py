"""The dashboard page: right figures for seeded cases, filters, no free text, clear errors."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.cases import acknowledge, close_case
from storage.db import utcnow
from storage.keys import load_crypto
from storage.models import Case, CaseAssignment, Category
from storage.settings import Settings
from storage.stats import week_start
from storage.users import audit_entries
from tests.admin.conftest import Browser
from tests.api.conftest import DESCRIPTION, NOTE, PLACE_TEXT

FREE_TEXT = (DESCRIPTION, PLACE_TEXT, NOTE)
CATEGORIES = [str(category) for category in Category]


def _case(session: Session, number: str) -> Case:
    return session.scalars(select(Case).where(Case.number == number)).one()


def backdate(db: sessionmaker[Session], number: str) -> None:
    """Put the case's assignments at its filing time, as if routing ran then."""
    with db.begin() as session:
        case = _case(session, number)
        session.execute(
            update(CaseAssignment)
            .where(CaseAssignment.case_id == case.id)
            .values(assigned_at=case.created_at)
        )


def ack(db: sessionmaker[Session], number: str, after: timedelta) -> None:
    with db.begin() as session:
        case = _case(session, number)
        acknowledge(
            session=session,
            case=case,
            actor="user:cora",
            committee_id=None,
            now=case.created_at + after,
        )


def close(db: sessionmaker[Session], settings: Settings, number: str, after: timedelta) -> None:
    with db.begin() as session:
        case = _case(session, number)
        close_case(
            session=session,
            crypto=load_crypto(settings),
            case=case,
            actor="user:cora",
            outcome="resolved",
            note=NOTE,
            now=case.created_at + after,
        )


@pytest.fixture
def seeded(
    file_case: Callable[..., str], db: sessionmaker[Session], settings: Settings
) -> list[datetime]:
    """A closed, an acknowledged and an overdue case in range; an overdue one long before.

    Returns the filing times of the three cases in the default range.
    """
    now = utcnow()
    times = [now - timedelta(days=10), now - timedelta(days=3), now - timedelta(days=5)]
    a = file_case(category="illegal_tax", place="cd-nk-walikale-mpama", at=times[0])
    b = file_case(category="illegal_tax", place="cd-nk-walikale-bisie", at=times[1])
    c = file_case(category="mineral_fraud", place="cd-sk-uvira-lemera", at=times[2])
    d = file_case(category="other", place="cd-nk-walikale-omate", at=now - timedelta(days=200))
    for number in (a, b, c, d):
        backdate(db, number)
    ack(db, a, timedelta(hours=2))
    close(db, settings, a, timedelta(days=2))
    ack(db, b, timedelta(hours=4))
    return times


def tile(page: str, name: str) -> str:
    found = re.search(rf'id="tile-{name}">([^<]*)<', page)
    assert found is not None, name
    return found.group(1)


@pytest.mark.parametrize("role", ["admin", "coordinator", "analyst"])
def test_every_role_sees_the_figures_and_no_free_text(
    browser: Callable[[str], Browser], seeded: list[datetime], role: str
) -> None:
    response = browser(role).get("/admin/")
    assert response.status_code == 200
    page = response.text
    assert tile(page, "open") == "3"
    assert tile(page, "overdue") == "2"
    assert tile(page, "received") == "3"
    assert tile(page, "ack") == "3 h 0 min"
    assert tile(page, "close") == "2 d 0 h"
    monday = datetime.combine(week_start(utcnow().date()), datetime.min.time(), UTC)
    assert tile(page, "week") == str(sum(moment >= monday for moment in seeded))
    for text in FREE_TEXT:
        assert text not in page


def test_charts_are_inline_svg_with_titles(
    browser: Callable[[str], Browser], seeded: list[datetime]
) -> None:
    page = browser("analyst").get("/admin/").text
    assert page.count('<svg class="chart" role="img"') == 4
    assert "<title>Cases by category</title>" in page
    assert "<title>Reports by channel</title>" in page
    assert "USSD: 3 cases" in page
    assert "Illegal tax: 2 cases" in page
    assert "North Kivu: 2 cases" in page
    assert "South Kivu: 1 case<" in page
    # The small map's scripts are files; nothing inline, which the CSP would refuse.
    assert "<script>" not in page
    assert 'style="' not in page


def test_committee_table(browser: Callable[[str], Browser], seeded: list[datetime]) -> None:
    page = browser("analyst").get("/admin/").text
    rows = dict(re.findall(r'<tr data-committee="([^"]+)">(.*?)</tr>', page, re.S))
    assert set(rows) == {"walikale-local", "uvira-local"}
    cells = re.findall(r'<td class="num">(.*?)</td>', rows["walikale-local"], re.S)
    assert cells[0] == "2"
    assert "1 overdue" in cells[1]
    assert cells[2:] == ["3 h 0 min", "2 d 0 h"]
    assert "1 overdue" in rows["uvira-local"]


def test_filters_by_category_province_and_committee(
    browser: Callable[[str], Browser], seeded: list[datetime]
) -> None:
    user = browser("analyst")
    page = user.get("/admin/?category=illegal_tax").text
    assert (tile(page, "received"), tile(page, "open"), tile(page, "overdue")) == ("2", "1", "0")
    page = user.get("/admin/?province=cd-sk").text
    assert (tile(page, "received"), tile(page, "overdue")) == ("1", "1")
    page = user.get("/admin/?committee=uvira-local&category=").text
    assert tile(page, "received") == "1"
    assert '<option value="uvira-local" selected>' in page


def test_the_date_range_decides_what_is_received(
    browser: Callable[[str], Browser], seeded: list[datetime]
) -> None:
    old = (utcnow() - timedelta(days=200)).date().isoformat()
    page = browser("analyst").get(f"/admin/?from={old}&to={old}").text
    assert tile(page, "received") == "1"
    assert tile(page, "open") == "3"
    assert f'name="from" value="{old}"' in page


def test_the_default_range_is_twelve_weeks(browser: Callable[[str], Browser]) -> None:
    page = browser("analyst").get("/admin/").text
    assert page.count('<g class="column">') == 12
    assert "No cases in this range." in page


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("from=yesterday", 400),
        ("to=2026-02-30", 400),
        ("from=2026-05-01&to=2026-04-01", 400),
        ("from=2001-01-01&to=2026-01-01", 400),
        ("from=1500-01-01", 400),
        ("to=9999-12-31", 400),
        ("category=weather", 400),
        ("province=atlantis", 400),
        ("committee=nobody", 400),
        ("province=%3Cscript%3E", 400),
        ("category=" + "x" * 100, 422),
    ],
)
def test_bad_filters_get_a_clear_page(
    browser: Callable[[str], Browser], query: str, status: int
) -> None:
    response = browser("analyst").get(f"/admin/?{query}")
    assert response.status_code == status
    assert "<h1>" in response.text
    assert "<script>" not in response.text


def test_weekly_counts_download_as_csv(
    browser: Callable[[str], Browser], seeded: list[datetime], db: sessionmaker[Session]
) -> None:
    user = browser("analyst")
    assert (
        'href="/admin/dashboard.csv?category=illegal_tax"'
        in user.get("/admin/?category=illegal_tax").text
    )
    response = user.get("/admin/dashboard.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    lines = response.text.splitlines()
    assert lines[0] == "week_start,category,cases"
    assert len(lines) == 1 + 12 * 8
    counted = {tuple(line.split(",")[1:]) for line in lines[1:] if not line.endswith(",0")}
    assert counted <= {("illegal_tax", "1"), ("illegal_tax", "2"), ("mineral_fraud", "1")}
    assert sum(int(line.rsplit(",", 1)[1]) for line in lines[1:]) == 3
    for text in FREE_TEXT:
        assert text not in response.text
    with db() as session:
        [entry] = audit_entries(session=session, action="export.stats")
    assert (entry.actor, entry.data) == ("ana", {"filters": [], "rows": 96})


def test_csv_filters_are_checked_like_the_page(browser: Callable[[str], Browser]) -> None:
    user = browser("analyst")
    assert user.get("/admin/dashboard.csv?province=atlantis").status_code == 400
    assert user.get("/admin/dashboard.csv?from=2026-13-01").status_code == 400
    one = user.get("/admin/dashboard.csv?category=accident&from=2026-11-02&to=2026-11-08")
    assert one.text.splitlines()[1:] == [f"2026-11-02,{c},0" for c in CATEGORIES]


def test_reports_are_counted_by_channel(
    browser: Callable[[str], Browser],
    file_case: Callable[..., str],
    db: sessionmaker[Session],
    headers: Callable[[str], dict[str, str]],
) -> None:
    """The dashboard and the stats API count reports by the channel they came by; test
    reports are left out as everywhere."""
    now = utcnow()
    channels = ["voice", "voice", "sms", "ussd", "whatsapp"]
    numbers = [file_case(at=now - timedelta(days=2)) for _ in range(len(channels) + 1)]
    with db.begin() as session:
        for number, channel in zip(numbers, channels, strict=False):
            _case(session, number).channel = channel
        _case(session, numbers[-1]).is_test = True
    page = browser("analyst").get("/admin/")
    assert page.status_code == 200
    table = page.text.split('id="by-channel"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr><td>([^<]+)</td><td class="num">(\d+)</td></tr>', table)
    assert rows == [("Voice", "2"), ("SMS", "1"), ("USSD", "1"), ("WhatsApp", "1")]
    assert "Reports by channel" in page.text
    client = browser("analyst").client
    client.cookies.clear()
    body = client.get("/api/v1/stats", headers=headers("analyst")).json()
    assert {row["code"]: row["count"] for row in body["by_channel"]} == {
        "voice": 2,
        "sms": 1,
        "ussd": 1,
        "whatsapp": 1,
    }
    assert {row["code"]: row["label"] for row in body["by_channel"]}["voice"] == "Voice"
