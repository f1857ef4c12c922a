"""Information added to a case reaches the focal points of the committees that have it: a
short alert through the outbox, in each member's language, saying whether it came from the
phone that made the report or from another (never which), once; and the daily digest lists
the cases with information added since the last digest."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from flows import gsm
from storage import cases
from storage.casenumber import display
from storage.models import Case, CaseEvent
from tests.leaks import number_forms
from tests.workers.conftest import NOW, REPORTER, committee_yaml, outbox_rows
from workers.context import WorkerContext
from workers.digests import send_digests
from workers.information import alert_added_information, alert_information
from workers.routing import route_report
from workers.sweep import sweep
from workers.texts import ALERT_SEGMENTS

EN, FR, SW = "+243810000011", "+243810000012", "+243810000013"
OTHER_PHONE = "+243990000099"
LATER = NOW + timedelta(hours=1)
ADDED = "They came back at night and took the sacks of cassiterite"


@pytest.fixture
def routed(
    add_committees: Callable[[str], None], make_case: Callable[..., Case]
) -> Callable[..., Case]:
    """A case routed to the Walikale committee (members in English, French, Kiswahili)."""
    add_committees(
        committee_yaml(
            "walikale-local", "local", "cd-nk-walikale", [(EN, "en"), (FR, "fr"), (SW, "sw")]
        )
    )

    def make(at: datetime = NOW, **answers: str) -> Case:
        case = make_case(at=at, **answers)
        route_report(case.id, now=at)
        return case

    return make


def add(
    ctx: WorkerContext, case: Case, phone: str | None, at: datetime = LATER, text: str = ADDED
) -> int:
    """Add information to `case` as the conversation does, from `phone` (None: unknown)."""
    pseudonym = None if phone is None else ctx.crypto.pseudonym(phone)
    with ctx.sessions.begin() as session:
        stored = session.get(Case, case.id)
        assert stored is not None
        event = cases.add_information(
            session=session,
            crypto=ctx.crypto,
            case=stored,
            text=text,
            channel="ussd",
            now=at,
            pseudonym=pseudonym,
        )
        return event.id


def info_alerts(ctx: WorkerContext) -> dict[str, str]:
    """The body of each member's added-information alert, by language."""
    return {row.language: row.body for row in outbox_rows(ctx, kind="info_alert")}


def assert_names_no_phone(body: str) -> None:
    for phone in (REPORTER, OTHER_PHONE, EN, FR, SW):
        assert not any(form in body for form in number_forms(phone)), body


def test_information_from_the_reporting_phone_says_so(
    ctx: WorkerContext, routed: Callable[..., Case], run_jobs: Callable[[], None]
) -> None:
    case = routed()
    add(ctx, case, REPORTER)
    assert sweep(now=LATER)["informed"] == 1
    bodies = info_alerts(ctx)
    shown = display(case.number)
    assert bodies == {
        "en": f"Sauti case {shown} (Illegal tax): information was added from the phone that "
        "made the report.",
        "fr": f"Sauti dossier {shown} (Taxe illégale) : des informations ont été ajoutées "
        "depuis le téléphone qui a fait le signalement.",
        "sw": f"Sauti kesi {shown} (Kodi haramu): habari zimeongezwa kutoka simu iliyotuma ripoti.",
    }
    for body in bodies.values():
        assert_names_no_phone(body)
        assert ADDED[:20] not in body  # the information itself stays in the case
        assert gsm.segments(body) <= ALERT_SEGMENTS
    run_jobs()
    assert [row.status for row in outbox_rows(ctx, kind="info_alert")] == ["delivered"] * 3


def test_information_from_another_phone_says_so_without_naming_it(
    ctx: WorkerContext, routed: Callable[..., Case]
) -> None:
    case = routed()
    add(ctx, case, OTHER_PHONE)
    sweep(now=LATER)
    bodies = info_alerts(ctx)
    assert bodies["en"].endswith(
        "information was added from another phone, not the one that made the report."
    )
    assert "depuis un autre téléphone que celui du signalement" in bodies["fr"]
    assert "kutoka simu nyingine" in bodies["sw"]
    for body in bodies.values():
        assert_names_no_phone(body)


def test_information_from_a_phone_not_compared_says_only_that_it_was_added(
    ctx: WorkerContext, routed: Callable[..., Case]
) -> None:
    case = routed()
    add(ctx, case, None)
    sweep(now=LATER)
    assert info_alerts(ctx)["en"] == (
        f"Sauti case {display(case.number)} (Illegal tax): information was added."
    )


def test_only_whether_it_is_the_same_phone_is_kept(
    ctx: WorkerContext, routed: Callable[..., Case]
) -> None:
    case = routed()
    same, other = add(ctx, case, REPORTER), add(ctx, case, OTHER_PHONE, text="More soldiers")
    with ctx.sessions() as session:
        events = {e.id: e for e in session.scalars(select(CaseEvent))}
        assert events[same].data == {"channel": "ussd", "same_phone": True}
        assert events[other].data == {"channel": "ussd", "same_phone": False}
        stored = session.get(Case, case.id)
        assert stored is not None
        assert stored.pseudonym == ctx.crypto.pseudonym(REPORTER)
    other_pseudonym = ctx.crypto.pseudonym(OTHER_PHONE)
    assert all(other_pseudonym not in repr(event.data) for event in events.values())


def test_the_committees_are_told_once_however_often_the_sweep_runs(
    ctx: WorkerContext, routed: Callable[..., Case], run_jobs: Callable[[], None]
) -> None:
    case = routed()
    event_id = add(ctx, case, REPORTER)
    assert sweep(now=LATER)["informed"] == 1
    assert sweep(now=LATER + timedelta(minutes=1))["informed"] == 0
    assert alert_information(event_id, now=LATER) is False  # a job run again
    assert alert_added_information(now=LATER) == 0
    run_jobs()
    run_jobs()
    rows = outbox_rows(ctx, kind="info_alert")
    assert len(rows) == 3
    assert all(row.dedupe_key.startswith(f"info:{event_id}:{row.row.member_id}:") for row in rows)
    assert [row.status for row in rows] == ["delivered"] * 3
    with ctx.sessions() as session:
        event = session.get(CaseEvent, event_id)
        assert event is not None
        assert event.notified_at == LATER


def test_each_piece_of_information_gets_its_own_alert(
    ctx: WorkerContext, routed: Callable[..., Case]
) -> None:
    case = routed()
    add(ctx, case, REPORTER)
    add(ctx, case, OTHER_PHONE, text="And the day after")
    assert sweep(now=LATER)["informed"] == 2
    assert len(outbox_rows(ctx, kind="info_alert")) == 6


def test_a_case_no_committee_has_is_marked_told_and_not_tried_again(
    ctx: WorkerContext, make_case: Callable[..., Case], places: None
) -> None:
    case = make_case()
    route_report(case.id, now=NOW)  # no committee at all: triage
    add(ctx, case, REPORTER)
    assert sweep(now=LATER)["informed"] == 1
    assert outbox_rows(ctx, kind="info_alert") == []
    with ctx.sessions() as session:
        assert cases.unnotified_information(session=session, limit=10) == []


def test_the_digest_lists_cases_with_information_added_since_the_last_one(
    ctx: WorkerContext, routed: Callable[..., Case]
) -> None:
    # 18:00 in Lubumbashi is 16:00 UTC.
    informed = routed(at=NOW.replace(hour=9), category="violence")
    quiet = routed(at=NOW.replace(hour=9))
    add(ctx, informed, REPORTER, at=NOW.replace(hour=10))
    assert send_digests(now=NOW.replace(hour=16)) == 1
    english = next(row.body for row in outbox_rows(ctx, kind="digest", language="en"))
    assert english.splitlines()[1:] == [
        "NEW:",
        f"{display(informed.number)} HIGH Violence, Mpama",
        f"{display(quiet.number)} MEDIUM Illegal tax, Mpama",
        "INFO ADDED:",
        f"{display(informed.number)} HIGH Violence, Mpama",
    ]
    french = next(row.body for row in outbox_rows(ctx, kind="digest", language="fr"))
    assert "INFOS AJOUTÉES :" in french.splitlines()
    # The next day: nothing added since, so no such section.
    send_digests(now=NOW.replace(hour=16) + timedelta(days=1))
    latest = [row.body for row in outbox_rows(ctx, kind="digest", language="en")][-1]
    assert "INFO ADDED:" not in latest.splitlines()
    assert display(informed.number) in latest
