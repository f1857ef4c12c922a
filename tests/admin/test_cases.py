"""The case list and the case page: filters, search, pages, the timeline, free text only
for admins and coordinators (audited), and bad query values answered with 4xx pages."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from storage.casenumber import display
from storage.casequery import InvalidSearch, number_prefix
from storage.cases import create_report
from storage.keys import load_crypto
from storage.settings import Settings
from storage.users import audit_entries
from tests.admin.conftest import Browser
from tests.api.conftest import DESCRIPTION, NOTE, PLACE_TEXT

T0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
FREE_TEXT = (DESCRIPTION, PLACE_TEXT, NOTE)
_LISTED = re.compile(r'href="/admin/cases/(\d{10})"')


def listed(page: str) -> list[str]:
    """The case numbers in the list's table, in order."""
    return _LISTED.findall(page)


@pytest.fixture
def bulk(settings: Settings, db: sessionmaker[Session]) -> Callable[[int], list[str]]:
    """File `n` unrouted reports an hour apart from T0; return their numbers, oldest first."""
    crypto = load_crypto(settings)
    rng = random.Random(23)

    def make(n: int) -> list[str]:
        numbers = []
        with db.begin() as session:
            for hour in range(n):
                case = create_report(
                    session=session,
                    crypto=crypto,
                    pseudonym=crypto.pseudonym("+243990000043"),
                    channel="sms",
                    language="fr",
                    answers={"category": "other", "when": "week"},
                    contact_e164=None,
                    flow_version="v1",
                    rng=rng,
                    now=T0 + timedelta(hours=hour),
                )
                numbers.append(case.number)
        return numbers

    return make


def test_list_shows_each_case_with_its_fields(
    browser: Callable[[str], Browser], file_case: Callable[..., str]
) -> None:
    number = file_case(at=T0)
    page = browser("analyst").get("/admin/cases")
    assert page.status_code == 200
    assert listed(page.text) == [number]
    # Times in the console's zone (Africa/Lubumbashi, UTC+2), words for codes.
    for shown in (display(number), "Illegal tax", "Routed", "walikale-local", "2026-10-01 10:00"):
        assert shown in page.text
    assert "1 case," in page.text
    for text in FREE_TEXT:
        assert text not in page.text


def test_filters(browser: Callable[[str], Browser], file_case: Callable[..., str]) -> None:
    walikale = file_case(category="illegal_tax", at=T0)
    lemera = file_case(category="accident", place="cd-sk-uvira-lemera", at=T0 + timedelta(days=2))
    danger = file_case(category="violence", danger_now="yes", at=T0 + timedelta(days=4))
    user = browser("coordinator")

    def found(query: str) -> list[str]:
        response = user.get(f"/admin/cases?{query}")
        assert response.status_code == 200, response.text
        return listed(response.text)

    assert found("") == [danger, lemera, walikale]
    assert found("category=accident") == [lemera]
    assert found("province=cd-nk") == [danger, walikale]
    assert found("province=cd-sk&status=&severity=") == [lemera]
    assert found("committee=uvira-local") == [lemera]
    assert found("severity=critical") == [danger]
    assert found("status=routed&category=violence") == [danger]
    assert found("status=closed") == []
    assert found("created_from=2026-10-02&created_to=2026-10-03") == [lemera]
    assert found("created_to=2026-10-01") == [walikale]
    assert found("created_from=2026-10-05") == [danger]


def test_export_link_keeps_the_filters(
    browser: Callable[[str], Browser], file_case: Callable[..., str]
) -> None:
    file_case()
    page = browser("analyst").get("/admin/cases?category=accident&province=cd-nk&status=")
    assert 'href="/admin/cases/export.csv?category=accident&amp;province=cd-nk"' in page.text


@pytest.mark.parametrize("form", ["plain", "dashes", "spaces", "dots", "padded", "prefix"])
def test_search_finds_a_number_however_it_is_typed(
    browser: Callable[[str], Browser], file_case: Callable[..., str], form: str
) -> None:
    number = file_case(at=T0)
    other = file_case(at=T0 + timedelta(hours=1))
    typed = {
        "plain": number,
        "dashes": display(number),
        "spaces": display(number).replace("-", " "),
        "dots": display(number).replace("-", "."),
        "padded": f"  {display(number)} ",
        "prefix": display(number)[:6] if number[:5] != other[:5] else number,
    }[form]
    page = browser("analyst").get("/admin/cases", params={"q": typed})
    assert page.status_code == 200, page.text
    assert listed(page.text) == [number]


def test_search_for_an_unknown_number_finds_nothing(
    browser: Callable[[str], Browser], file_case: Callable[..., str]
) -> None:
    file_case()
    page = browser("analyst").get("/admin/cases", params={"q": "482-177-3506"})
    assert page.status_code == 200
    assert listed(page.text) == []
    assert "No case matches" in page.text


def test_pages_of_25_with_next_and_previous(
    browser: Callable[[str], Browser], bulk: Callable[[int], list[str]]
) -> None:
    numbers = bulk(27)
    user = browser("analyst")
    first = user.get("/admin/cases")
    assert listed(first.text) == numbers[::-1][:25]
    assert "27 cases, page 1 of 2" in first.text
    assert 'rel="next" href="/admin/cases?page=2"' in first.text
    assert 'rel="prev"' not in first.text
    second = user.get("/admin/cases?page=2")
    assert listed(second.text) == numbers[1::-1]
    assert 'rel="prev" href="/admin/cases?page=1"' in second.text
    assert 'rel="next"' not in second.text
    assert listed(user.get("/admin/cases?page=3").text) == []
    filtered = user.get("/admin/cases?category=other")
    assert 'href="/admin/cases?category=other&amp;page=2"' in filtered.text


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("page=0", 422),
        ("page=-1", 422),
        ("page=x", 422),
        (f"page={10**30}", 422),
        ("status=lost", 400),
        ("category=theft", 400),
        ("severity=extreme", 400),
        ("province=CD%20NK", 400),
        ("committee=a%00b", 400),
        ("created_from=yesterday", 400),
        ("created_to=2026-13-01", 400),
        ("q=abc", 400),
        ("q=48217735061", 400),
        ("q=" + "1" * 100, 422),
    ],
)
def test_bad_list_parameters_get_a_clear_4xx_page(
    browser: Callable[[str], Browser], query: str, status: int
) -> None:
    response = browser("admin").get(f"/admin/cases?{query}")
    assert response.status_code == status, response.text[:300]
    assert "<h1>" in response.text
    assert "Traceback" not in response.text


def test_case_page_shows_the_timeline_and_committees(
    browser: Callable[[str], Browser], file_case: Callable[..., str]
) -> None:
    number = file_case(at=T0)
    page = browser("coordinator").get(f"/admin/cases/{number}")
    assert page.status_code == 200
    assert f"Case {display(number)}" in page.text
    timeline = page.text[page.text.index('class="timeline"') :]
    kinds = re.findall(r'<span class="kind">([^<]+)</span>', timeline)
    assert kinds[0] == "Received"
    assert "Routed" in kinds
    assert "Internal note" in kinds
    assert "cora (console or API)" in timeline
    assert "Walikale" in page.text
    assert "walikale-local" in page.text
    assert "Deadline" in page.text


@pytest.mark.parametrize("typed", ["dashes", "spaces"])
def test_case_page_takes_the_number_with_separators(
    browser: Callable[[str], Browser], file_case: Callable[..., str], typed: str
) -> None:
    number = file_case()
    shown = display(number) if typed == "dashes" else display(number).replace("-", " ")
    assert browser("analyst").get(f"/admin/cases/{shown}").status_code == 200


@pytest.mark.parametrize("role", ["admin", "coordinator"])
def test_staff_read_the_free_text_and_the_visit_is_audited(
    browser: Callable[[str], Browser],
    file_case: Callable[..., str],
    db: sessionmaker[Session],
    role: str,
) -> None:
    """A reload within the audit's view window is covered by the first view's entry."""
    number = file_case()
    user = browser(role)
    for _ in range(2):
        page = user.get(f"/admin/cases/{number}")
        for text in FREE_TEXT:
            assert text in page.text
    with db() as session:
        entries = audit_entries(session=session, action="case.view_text")
    assert [(e.target, e.actor) for e in entries] == [(number, user_name(role))]
    assert all(DESCRIPTION not in str(e.data) for e in entries)


def user_name(role: str) -> str:
    return {"admin": "ada", "coordinator": "cora", "analyst": "ana"}[role]


def test_analyst_sees_no_free_text_no_actions_and_no_audit(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    number = file_case()
    page = browser("analyst").get(f"/admin/cases/{number}")
    assert page.status_code == 200
    for text in FREE_TEXT:
        assert text not in page.text
    assert "What the reporter wrote" not in page.text
    assert "/acknowledge" not in page.text
    assert 'class="kind">Internal note' in page.text
    with db() as session:
        assert audit_entries(session=session, action="case.view_text") == []


@pytest.mark.parametrize("typed", ["4821773506", "123", "abc", "482-177-350x"])
def test_unknown_or_malformed_case_is_a_404_page(
    browser: Callable[[str], Browser], file_case: Callable[..., str], typed: str
) -> None:
    file_case()
    response = browser("admin").get(f"/admin/cases/{typed}")
    assert response.status_code == 404
    assert "No case has this number." in response.text


@given(st.text(max_size=40))
def test_any_search_text_is_digits_nothing_or_refused(typed: str) -> None:
    try:
        digits = number_prefix(typed)
    except InvalidSearch:
        return
    assert digits is None or (digits.isdigit() and len(digits) <= 10)


@given(st.from_regex(r"[1-9][0-9]{9}", fullmatch=True), st.sampled_from(["", " ", "-", ".", " - "]))
def test_a_number_with_any_separators_searches_for_itself(number: str, sep: str) -> None:
    typed = sep.join((number[:3], number[3:6], number[6:]))
    assert number_prefix(typed.upper()) == number


def test_list_and_case_page_show_the_channel_and_the_list_filters_by_it(
    browser: Callable[[str], Browser], settings: Settings, db: sessionmaker[Session]
) -> None:
    crypto = load_crypto(settings)
    rng = random.Random(31)
    numbers = {}
    with db.begin() as session:
        for channel in ("ussd", "voice", "whatsapp"):
            case = create_report(
                session=session,
                crypto=crypto,
                pseudonym=crypto.pseudonym("+243990000044"),
                channel=channel,
                language="sw",
                answers={"category": "other", "when": "week"},
                contact_e164=None,
                flow_version="v1",
                rng=rng,
                now=T0,
            )
            numbers[channel] = case.number
    analyst = browser("analyst")
    page = analyst.get("/admin/cases")
    assert page.status_code == 200
    assert '"/admin/cases?sort=channel&amp;dir=asc">Channel</a></th>' in page.text
    assert '<span class="badge channel voice">Voice</span>' in page.text
    assert '<span class="badge channel whatsapp">WhatsApp</span>' in page.text
    assert '<option value="voice">Voice</option>' in page.text
    only_voice = analyst.get("/admin/cases?channel=voice")
    assert listed(only_voice.text) == [numbers["voice"]]
    assert '<option value="voice" selected>Voice</option>' in only_voice.text
    assert analyst.get("/admin/cases?channel=fax").status_code == 400
    case_page = analyst.get(f"/admin/cases/{numbers['voice']}")
    shown = '<span class="badge channel voice">Voice</span> Reported by Voice in Kiswahili'
    assert shown in case_page.text
