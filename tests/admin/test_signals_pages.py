"""The console's signal pages: the list (open first, filters), a signal's page (its rule in
words, the cases behind it, the committee told), acknowledging and closing it with a note
(audited), the note shown to admins and coordinators only, and bad input answered with 4xx
pages."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.casenumber import display
from storage.models import Signal
from storage.users import audit_entries
from tests.admin.conftest import Browser

NOTE = "The provincial committee met the site chiefs at Mpama"
_LISTED = re.compile(r'href="/admin/signals/(\d+)"')


def listed(page: str) -> list[int]:
    return [int(found) for found in _LISTED.findall(page)]


@pytest.fixture
def burst(file_case: Callable[..., str]) -> list[str]:
    """Three illegal-tax reports at Mpama this morning: a threshold signal (routing raises
    it). Morning, so that the three share a day in the committee's timezone."""
    morning = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0)
    return [file_case(at=morning + timedelta(minutes=n)) for n in range(3)]


@pytest.fixture
def absolute(file_case: Callable[..., str]) -> str:
    """A sexual violence report: a signal by itself."""
    return file_case(category="sexual_violence")


def _signal(db: sessionmaker[Session], rule: str) -> Signal:
    with db() as session:
        found = session.scalars(select(Signal).where(Signal.rule == rule)).one()
        return found


def test_the_list_puts_open_signals_first_and_filters(
    browser: Callable[[str], Browser],
    db: sessionmaker[Session],
    burst: list[str],
    absolute: str,
) -> None:
    threshold, single = _signal(db, "threshold"), _signal(db, "absolute")
    coordinator = browser("coordinator")
    assert coordinator.post(f"/admin/signals/{threshold.id}/acknowledge").status_code == 303
    page = coordinator.get("/admin/signals")
    assert page.status_code == 200
    assert listed(page.text) == [single.id, threshold.id]
    assert "3 illegal tax reports in a day, above the usual 0 (threshold 0.0)" in page.text
    assert "North Kivu provincial" in page.text
    assert '<a href="/admin/signals" aria-current="page">Signals</a>' in page.text
    assert listed(coordinator.get("/admin/signals?status=acknowledged").text) == [threshold.id]
    assert listed(coordinator.get("/admin/signals?category=sexual_violence").text) == [single.id]
    assert listed(coordinator.get("/admin/signals?province=cd-nk").text) == [
        single.id,
        threshold.id,
    ]
    empty = coordinator.get("/admin/signals?province=cd-sk")
    assert listed(empty.text) == []
    assert "No signal matches these filters." in empty.text


@pytest.mark.parametrize(
    "query",
    [
        "status=lost",
        "category=weather",
        "province=nowhere",
        "page=0",
        "page=abc",
        "status=" + "x" * 80,
    ],
)
def test_bad_filters_get_a_clear_page(browser: Callable[[str], Browser], query: str) -> None:
    response = browser("analyst").get(f"/admin/signals?{query}")
    assert response.status_code in (400, 422)
    assert "Sauti console" in response.text


def test_a_signal_page_says_why_and_links_its_cases(
    browser: Callable[[str], Browser], db: sessionmaker[Session], burst: list[str]
) -> None:
    signal = _signal(db, "threshold")
    page = browser("analyst").get(f"/admin/signals/{signal.id}")
    assert page.status_code == 200
    assert "3 illegal tax reports in a day, above the usual 0 (threshold 0.0)" in page.text
    assert "Walikale" in page.text
    assert "North Kivu provincial" in page.text
    for number in burst:
        assert f'<a href="/admin/cases/{number}">{display(number)}</a>' in page.text
    # Analysts read signals but do not act on them.
    assert "/acknowledge" not in page.text
    assert 'name="note"' not in page.text


def test_acknowledge_then_close_with_a_note_audited(
    browser: Callable[[str], Browser], db: sessionmaker[Session], absolute: str
) -> None:
    signal = _signal(db, "absolute")
    coordinator = browser("coordinator")
    page = coordinator.get(f"/admin/signals/{signal.id}")
    assert "a sexual violence report: a signal by itself" in page.text
    done = coordinator.follow(coordinator.post(f"/admin/signals/{signal.id}/acknowledge"))
    assert "Signal acknowledged." in done.text
    again = coordinator.follow(coordinator.post(f"/admin/signals/{signal.id}/acknowledge"))
    assert "already acknowledged" in again.text
    closed = coordinator.follow(
        coordinator.post(f"/admin/signals/{signal.id}/close", {"note": NOTE})
    )
    assert "Signal closed." in closed.text
    assert NOTE in closed.text
    assert 'name="note"' not in closed.text  # nothing left to do
    with db() as session:
        stored = session.get(Signal, signal.id)
        assert stored is not None
        assert (stored.status, stored.acknowledged_by, stored.closed_by) == (
            "closed",
            "user:cora",
            "user:cora",
        )
        assert stored.note_enc is not None
        assert NOTE.encode() not in stored.note_enc
        actions = [(e.action, e.actor, e.target) for e in audit_entries(session=session)]
    assert ("signal.acknowledge", "cora", str(signal.id)) in actions
    assert ("signal.close", "cora", str(signal.id)) in actions
    # The note shown on the landing after closing is covered by the closing's entry; the
    # next user to read it is recorded.
    assert ("signal.view_text", "cora", str(signal.id)) not in actions
    browser("admin").get(f"/admin/signals/{signal.id}")
    with db() as session:
        actions = [(e.action, e.actor, e.target) for e in audit_entries(session=session)]
    assert ("signal.view_text", "ada", str(signal.id)) in actions
    with db() as session:
        assert all(NOTE not in str(e.data) for e in audit_entries(session=session))


def test_analysts_never_see_the_closing_note(
    browser: Callable[[str], Browser], db: sessionmaker[Session], absolute: str
) -> None:
    signal = _signal(db, "absolute")
    browser("admin").post(f"/admin/signals/{signal.id}/close", {"note": NOTE})
    analyst = browser("analyst")
    page = analyst.get(f"/admin/signals/{signal.id}")
    assert page.status_code == 200
    assert "closed" in page.text
    assert NOTE not in page.text
    assert "admins and coordinators read it" in page.text
    assert NOTE not in analyst.get("/admin/signals").text
    assert analyst.post(f"/admin/signals/{signal.id}/close", {"note": "x"}).status_code == 403
    with db() as session:
        viewers = [e.actor for e in audit_entries(session=session, action="signal.view_text")]
    assert "ana" not in viewers


def test_bad_actions_are_refused_with_a_page(
    browser: Callable[[str], Browser], db: sessionmaker[Session], absolute: str
) -> None:
    signal = _signal(db, "absolute")
    coordinator = browser("coordinator")
    for note in ("", "   "):
        refused = coordinator.post(f"/admin/signals/{signal.id}/close", {"note": note})
        assert refused.status_code == 422
        assert "Say what was done" in refused.text
    too_long = coordinator.post(f"/admin/signals/{signal.id}/close", {"note": "x" * 2001})
    assert too_long.status_code == 422
    no_csrf = coordinator.post(f"/admin/signals/{signal.id}/acknowledge", csrf=False)
    assert no_csrf.status_code == 403
    assert coordinator.post("/admin/signals/999999/acknowledge").status_code == 404
    assert coordinator.get("/admin/signals/999999").status_code == 404
    assert coordinator.get("/admin/signals/abc").status_code == 422
    with db() as session:
        stored = session.get(Signal, signal.id)
        assert stored is not None
        assert stored.status == "open"
    closed = coordinator.post(f"/admin/signals/{signal.id}/close", {"note": NOTE})
    assert closed.status_code == 303
    twice = coordinator.follow(
        coordinator.post(f"/admin/signals/{signal.id}/close", {"note": NOTE})
    )
    assert "already closed" in twice.text
