"""The console's CSV export of cases: the list's filters, anonymised columns for everyone,
free text only for staff who ask (audited), never a phone number, no spreadsheet formulas."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from storage import exports
from storage.casenumber import display
from storage.cases import create_report
from storage.exports import COLUMNS, TEXT_COLUMNS, safe_cell
from storage.keys import load_crypto
from storage.settings import Settings
from storage.users import audit_entries
from tests.admin.conftest import Browser
from tests.api.conftest import DESCRIPTION, NOTE, PLACE_TEXT

T0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
REPORTER = "+243990000088"


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_export_has_the_anonymised_columns(
    browser: Callable[[str], Browser], file_case: Callable[..., str]
) -> None:
    number = file_case(at=T0)
    response = browser("analyst").get("/admin/cases/export.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.text.splitlines()[0] == ",".join(COLUMNS)
    [row] = rows(response.text)
    assert row == {
        "number": display(number),
        "category": "illegal_tax",
        "severity": row["severity"],
        "itsci_level": "2",  # an illegal tax
        "status": "routed",
        "outcome": "",
        "province": "cd-nk",
        "place_code": "cd-nk-walikale-mpama",
        "committees": "walikale-local",
        "created_at": "2026-10-01T08:00:00Z",
        "acknowledged_at": "",
        "closed_at": "",
        "incident": "",
        "incident_link": "",
        "duplicate_of": "",
        "signals": "",
        "occurred": "today",  # fixed at submission: 10:00 in Walikale that day
        "occurred_from": "2026-10-01",
        "occurred_to": "2026-10-01",
    }


def test_export_follows_the_list_filters(
    browser: Callable[[str], Browser], file_case: Callable[..., str]
) -> None:
    walikale = display(file_case(category="illegal_tax", at=T0))
    lemera = display(
        file_case(category="accident", place="cd-sk-uvira-lemera", at=T0 + timedelta(days=2))
    )
    user = browser("coordinator")

    def numbers(query: str) -> list[str]:
        response = user.get(f"/admin/cases/export.csv?{query}")
        assert response.status_code == 200, response.text
        return sorted(row["number"] for row in rows(response.text))

    assert numbers("") == sorted([walikale, lemera])
    assert numbers("province=cd-sk") == [lemera]
    assert numbers("category=illegal_tax&status=") == [walikale]
    assert numbers("created_from=2026-10-02") == [lemera]
    assert numbers(f"q={walikale}") == [walikale]
    assert numbers("committee=kalehe-local") == []


@pytest.mark.parametrize("role", ["analyst", "coordinator", "admin"])
def test_no_free_text_unless_asked(
    browser: Callable[[str], Browser], file_case: Callable[..., str], role: str
) -> None:
    file_case()
    text = browser(role).get("/admin/cases/export.csv").text
    for free in (DESCRIPTION, PLACE_TEXT, NOTE, "description"):
        assert free not in text


def test_analyst_asking_for_free_text_is_refused(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    file_case()
    response = browser("analyst").get("/admin/cases/export.csv?include_text=1")
    assert response.status_code == 403
    for free in (DESCRIPTION, PLACE_TEXT, NOTE):
        assert free not in response.text
    with db() as session:
        assert audit_entries(session=session, action="export.cases") == []


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_staff_get_free_text_when_asked_and_it_is_audited(
    browser: Callable[[str], Browser],
    file_case: Callable[..., str],
    db: sessionmaker[Session],
    role: str,
) -> None:
    file_case()
    file_case(category="accident")
    response = browser(role).get("/admin/cases/export.csv?include_text=1&category=illegal_tax")
    assert response.status_code == 200
    assert response.text.splitlines()[0] == ",".join((*COLUMNS, *TEXT_COLUMNS))
    [row] = rows(response.text)
    assert (row["description"], row["place_text"]) == (DESCRIPTION, PLACE_TEXT)
    with db() as session:
        [entry] = audit_entries(session=session, action="export.cases")
    assert entry.data == {
        "filters": {"category": "illegal_tax"},
        "rows": 1,
        "include_text": True,
    }
    assert DESCRIPTION not in str(entry.data)


def test_every_export_is_audited_with_its_filters_and_count(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    file_case(at=T0)
    browser("analyst").get("/admin/cases/export.csv?created_from=2026-09-01&province=cd-nk")
    with db() as session:
        [entry] = audit_entries(session=session, action="export.cases")
    assert entry.actor == "ana"
    assert entry.data == {
        "filters": {"province": "cd-nk", "created_from": "2026-09-01T00:00:00+00:00"},
        "rows": 1,
        "include_text": False,
    }


def test_never_a_phone_number(
    browser: Callable[[str], Browser],
    settings: Settings,
    db: sessionmaker[Session],
) -> None:
    crypto = load_crypto(settings)
    with db.begin() as session:
        create_report(
            session=session,
            crypto=crypto,
            pseudonym=crypto.pseudonym(REPORTER),
            channel="sms",
            language="en",
            answers={
                "category": "violence",
                "when": "today",
                "description": "Call me",
                "sms_updates": "yes",
            },
            contact_e164=REPORTER,
            flow_version="v1",
            rng=random.Random(3),
            now=T0,
        )
    text = browser("admin").get("/admin/cases/export.csv?include_text=1").text
    assert "Call me" in text
    assert REPORTER not in text
    assert REPORTER[1:] not in text
    assert crypto.pseudonym(REPORTER) not in text


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM", "'@SUM"),
        ("\tx", "'\tx"),
        ("plain", "plain"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_cells_that_look_like_formulas_are_quoted(cell: str, safe: str) -> None:
    assert safe_cell(cell) == safe


def test_free_text_formulas_are_defused(
    browser: Callable[[str], Browser], settings: Settings, db: sessionmaker[Session]
) -> None:
    crypto = load_crypto(settings)
    with db.begin() as session:
        create_report(
            session=session,
            crypto=crypto,
            pseudonym=crypto.pseudonym(REPORTER),
            channel="sms",
            language="en",
            answers={"category": "other", "when": "today", "description": "=cmd|' /C calc'!A0"},
            contact_e164=None,
            flow_version="v1",
            rng=random.Random(4),
            now=T0,
        )
    [row] = rows(browser("admin").get("/admin/cases/export.csv?include_text=1").text)
    assert row["description"] == "'=cmd|' /C calc'!A0"


def test_large_exports_are_read_in_batches(
    browser: Callable[[str], Browser],
    settings: Settings,
    db: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    crypto = load_crypto(settings)
    rng = random.Random(9)
    with db.begin() as session:
        numbers = [
            create_report(
                session=session,
                crypto=crypto,
                pseudonym=crypto.pseudonym(REPORTER),
                channel="sms",
                language="en",
                answers={"category": "other", "when": "today"},
                contact_e164=None,
                flow_version="v1",
                rng=rng,
                now=T0 + timedelta(minutes=minute),
            ).number
            for minute in range(7)
        ]
    monkeypatch.setattr(exports, "BATCH", 2)
    text = browser("analyst").get("/admin/cases/export.csv").text
    assert [row["number"] for row in rows(text)] == [display(n) for n in numbers]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("status=lost", 400),
        ("created_to=someday", 400),
        ("q=abc", 400),
        ("province=a%00b", 400),
        ("include_text=maybe", 422),
    ],
)
def test_bad_export_parameters_are_4xx(
    browser: Callable[[str], Browser], query: str, status: int
) -> None:
    assert browser("admin").get(f"/admin/cases/export.csv?{query}").status_code == status


def test_export_names_the_signals_a_case_is_behind(
    browser: Callable[[str], Browser],
    file_case: Callable[..., str],
    db: sessionmaker[Session],
) -> None:
    from sqlalchemy import select

    from storage.models import Signal

    alone = file_case(at=T0)
    # Sexual violence is a signal by itself: routing raised it.
    grave = file_case(category="sexual_violence", at=T0 + timedelta(hours=1))
    with db() as session:
        signal_id = session.scalar(select(Signal.id).where(Signal.category == "sexual_violence"))
        assert signal_id is not None
    found = {row["number"]: row["signals"] for row in rows(browser("analyst").get(
        "/admin/cases/export.csv").text)}  # fmt: skip
    assert found == {display(alone): "", display(grave): str(signal_id)}
