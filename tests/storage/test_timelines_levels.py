"""ITSCI levels (the derivation table, level 1 copied up to every level) and the timelines a
reporter is told: within how long the committee answers, the due date and the late case
passed up, and the committees' first-action and closing deadlines in the import."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from storage import timelines
from storage.cases import escalate
from storage.committees import (
    DEFAULT_ACK_DEADLINES,
    DEFAULT_ACTION_DEADLINES,
    DEFAULT_CLOSE_DEADLINES,
    CommitteeImportError,
    action_deadline,
    close_deadline,
    committee_by_code,
    import_committees_yaml,
)
from storage.levels import derive_level
from storage.models import Category, Committee
from storage.privacy import Crypto
from storage.routing import route_case
from tests.storage.test_routing import COMMITTEES, MakeCase, _codes, committee

LEVELS = [
    ("sexual_violence", False, 1),
    ("sexual_violence", True, 1),
    ("child_labour", False, 1),
    ("violence", False, 1),
    ("accident", True, 1),
    ("accident", False, 2),
    ("illegal_tax", False, 2),
    ("illegal_tax", True, 2),
    ("mineral_fraud", False, 2),
    ("ohs_hazard", True, 2),
    ("ohs_hazard", False, 3),
    ("other", True, 3),
    ("other", False, 3),
]


@pytest.mark.parametrize(("category", "danger_now", "level"), LEVELS)
def test_the_level_table(category: str, danger_now: bool, level: int) -> None:
    assert derive_level(category=category, danger_now=danger_now) == level


def test_every_category_has_a_level() -> None:
    for category in Category:
        for danger_now in (False, True):
            assert derive_level(category=category, danger_now=danger_now) in (1, 2, 3)


@pytest.fixture
def committees(session: Session, crypto: Crypto, demo_places: None, now: datetime) -> None:
    fast = committee("fast-local", "local", "cd-nk-masisi", phone=9).replace(
        "  digest_at:", "  ack_deadlines: {high: 36h, medium: 90m}\n  digest_at:"
    )
    import_committees_yaml(
        session=session, crypto=crypto, source=io.StringIO(COMMITTEES + fast), now=now
    )


@pytest.mark.usefixtures("committees")
def test_a_filed_case_carries_its_level_and_level_1_goes_to_every_level_above(
    session: Session, make_case: MakeCase, now: datetime
) -> None:
    child = make_case(place="cd-nk-walikale-bisie", category="child_labour")
    assert (child.itsci_level, child.severity) == (1, "medium")
    assert _codes(route_case(session=session, case_id=child.id, now=now)) == [
        ("bisie-local", "routed"),
        ("nk-provincial", "copied_up"),
        ("cd-national", "copied_up"),
    ]
    # A high case of level 2 is copied once, as before; a medium one of level 2 stays.
    accident = make_case(place="cd-nk-walikale-bisie", category="accident")
    assert (accident.itsci_level, accident.severity) == (2, "high")
    assert _codes(route_case(session=session, case_id=accident.id, now=now)) == [
        ("bisie-local", "routed"),
        ("nk-provincial", "copied_up"),
    ]
    tax = make_case(place="cd-nk-walikale-bisie", category="illegal_tax")
    assert tax.itsci_level == 2
    assert _codes(route_case(session=session, case_id=tax.id, now=now)) == [
        ("bisie-local", "routed")
    ]
    event = child.events[0]
    assert event.data["itsci_level"] == 1


@pytest.mark.usefixtures("committees")
def test_the_committee_that_answers_is_known_before_routing(
    session: Session, make_case: MakeCase
) -> None:
    tax = make_case(place="cd-nk-walikale-bisie", category="illegal_tax")
    found = timelines.answering_committee(session=session, case=tax)
    assert found is not None
    assert found.code == "bisie-local"
    assert timelines.answer_within(session=session, case=tax) == timedelta(days=3)
    # Masisi's own committee answers medium cases within 90 minutes, high ones in 36 hours.
    fast = make_case(place="cd-nk-masisi-rubaya", category="illegal_tax")
    assert timelines.within_values(timelines.answer_within(session=session, case=fast)) == {
        "within": "hours",
        "hours": "2",
    }
    accident = make_case(place="cd-nk-masisi-rubaya", category="accident")
    assert timelines.within_values(timelines.answer_within(session=session, case=accident)) == {
        "within": "days",
        "days": "2",
    }
    # No committee at all (Burundi): the default of the severity.
    nowhere = make_case(place="bi-kirundo-busoni-murehe", category="illegal_tax")
    assert timelines.answering_committee(session=session, case=nowhere) is None
    assert timelines.answer_within(session=session, case=nowhere) == timedelta(
        seconds=DEFAULT_ACK_DEADLINES["medium"]
    )


@pytest.mark.parametrize(
    ("within", "values"),
    [
        (timedelta(days=3), {"within": "days", "days": "3"}),
        (timedelta(days=1), {"within": "days", "days": "1"}),
        (timedelta(hours=24, minutes=1), {"within": "days", "days": "2"}),
        (timedelta(hours=2), {"within": "hours", "hours": "2"}),
        (timedelta(minutes=20), {"within": "hours", "hours": "1"}),
    ],
)
def test_within_values(within: timedelta, values: dict[str, str]) -> None:
    assert timelines.within_values(within) == values


@pytest.mark.usefixtures("committees")
def test_the_status_says_the_due_date_then_who_a_late_case_was_passed_up_to(
    session: Session, make_case: MakeCase, now: datetime
) -> None:
    tax = make_case(place="cd-nk-walikale-bisie", category="illegal_tax")
    local = (now + timedelta(days=3)).astimezone(ZoneInfo("Africa/Lubumbashi"))
    expected = {"due": local.strftime("%d/%m %H:%M")}
    assert timelines.status_timeline(session=session, case=tax) == expected  # before routing
    routed_at = now + timedelta(minutes=5)
    route_case(session=session, case_id=tax.id, now=routed_at)
    local = (routed_at + timedelta(days=3)).astimezone(ZoneInfo("Africa/Lubumbashi"))
    assert timelines.status_timeline(session=session, case=tax) == {
        "due": local.strftime("%d/%m %H:%M")
    }
    escalate(
        session=session, case=tax, actor="system", now=now + timedelta(days=4), reason="overdue"
    )
    assert timelines.status_timeline(session=session, case=tax) == {"passed_up": "nk-provincial"}
    tax.status = "acknowledged"
    assert timelines.status_timeline(session=session, case=tax) == {}


def test_due_text_is_day_then_month() -> None:
    at = datetime(2026, 12, 5, 14, 30, tzinfo=ZoneInfo("Africa/Kigali"))
    assert timelines.due_text(at) == "05/12 14:30"


STAGES = """\
- code: walikale-local
  name: Walikale
  level: local
  location: cd-nk-walikale
  language: sw
  timezone: Africa/Lubumbashi
  action_deadlines: {critical: 1d, low: 45d}
  close_deadlines: {high: 21d}
  digest_at: "18:00"
  members:
    - {name: Focal point, phone: "+243 81 000 0001"}
"""


def _committee(session: Session, code: str) -> Committee:
    found = committee_by_code(session=session, code=code)
    assert found is not None
    return found


@pytest.mark.usefixtures("demo_places")
def test_the_import_reads_first_action_and_closing_deadlines(
    session: Session, crypto: Crypto, now: datetime
) -> None:
    import_committees_yaml(session=session, crypto=crypto, source=io.StringIO(STAGES), now=now)
    walikale = _committee(session, "walikale-local")
    assert walikale.ack_deadlines == DEFAULT_ACK_DEADLINES
    assert walikale.action_deadlines == {
        **DEFAULT_ACTION_DEADLINES,
        "critical": 86400,
        "low": 45 * 86400,
    }
    assert walikale.close_deadlines == {**DEFAULT_CLOSE_DEADLINES, "high": 21 * 86400}
    assert action_deadline(walikale, "critical") == timedelta(days=1)
    assert close_deadline(walikale, "low") == timedelta(days=90)
    assert DEFAULT_CLOSE_DEADLINES == {
        "critical": 7 * 86400,
        "high": 30 * 86400,
        "medium": 60 * 86400,
        "low": 90 * 86400,
    }
    assert DEFAULT_ACTION_DEADLINES == {
        "critical": 2 * 86400,
        "high": 7 * 86400,
        "medium": 14 * 86400,
        "low": 30 * 86400,
    }


@pytest.mark.usefixtures("demo_places")
def test_bad_stage_deadlines_are_refused_with_their_lines(
    session: Session, crypto: Crypto, now: datetime
) -> None:
    bad = STAGES.replace("{critical: 1d, low: 45d}", "{critical: soon, urgent: 2d}").replace(
        "close_deadlines: {high: 21d}", "close_deadlines: 30d"
    )
    with pytest.raises(CommitteeImportError) as refused:
        import_committees_yaml(session=session, crypto=crypto, source=io.StringIO(bad), now=now)
    problems = [(problem.line, problem.field) for problem in refused.value.problems]
    assert problems == [
        (7, "action_deadlines"),
        (7, "action_deadlines"),
        (8, "close_deadlines"),
    ]
    assert committee_by_code(session=session, code="walikale-local") is None
