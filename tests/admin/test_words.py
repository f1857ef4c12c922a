"""The console's words: every stored code has a label, every timeline event a sentence, the
case page of a case that went through every kind of event shows no internal code in its
visible text, and times are shown in the console's zone to the minute, the zone named."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from gateway.admin import words
from storage.cases import add_event, find_case, set_in_progress
from storage.models import (
    AssignmentReason,
    Category,
    Channel,
    CommitteeLevel,
    EventKind,
    Outcome,
    Severity,
    Status,
)
from storage.models.actions import ActionStatus
from storage.models.incidents import LinkState, SignalRule, SignalStatus
from storage.settings import Settings
from tests.admin.conftest import Browser

# Codes that must never reach a coordinator's eyes.
INTERNAL = (
    "ohs_hazard",
    "sexual_violence",
    "illegal_tax",
    "child_labour",
    "mineral_fraud",
    "copied_up",
    "in_progress",
    "routing_requested",
    "national_fallback",
    "info_added",
    "contact_erased",
    "action_added",
    "action_missed",
    "level_changed",
    "no_committee",
    "same_phone",
    "itsci_level",
    "retention_days",
    "by_sms=",
    "reason:",
    "outcome:",
    "committee:",
    "state:",
)
T0 = datetime(2026, 12, 6, 21, 30, tzinfo=UTC)  # 23:30 in Walikale
LUBUMBASHI = ZoneInfo("Africa/Lubumbashi")
_TAG = re.compile(r"<[^>]+>")
_HIDDEN = re.compile(r"<(script|style|head)\b.*?</\1>", re.DOTALL)


def visible(page: str) -> str:
    """The text a person reads on the page: no tags, no attributes, no head."""
    return " ".join(html.unescape(_TAG.sub(" ", _HIDDEN.sub(" ", page))).split())


@pytest.mark.parametrize(
    ("table", "codes"),
    [
        (words.CATEGORIES, Category),
        (words.STATUSES, Status),
        (words.OUTCOMES, Outcome),
        (words.SEVERITIES, Severity),
        (words.CHANNELS, Channel),
        (words.EVENT_KINDS, EventKind),
        (words.ASSIGNMENT_REASONS, AssignmentReason),
        (words.LEVELS, CommitteeLevel),
        (words.LINK_STATES, LinkState),
        (words.SIGNAL_RULES, SignalRule),
        (words.SIGNAL_STATUSES, SignalStatus),
        (words.ACTION_STATUSES, ActionStatus),
    ],
)
def test_every_code_has_a_label_without_underscores(
    table: dict[str, str], codes: type[object]
) -> None:
    for code in codes:  # type: ignore[attr-defined]
        assert code in table, code
        assert "_" not in table[code]


def test_every_event_kind_has_a_sentence() -> None:
    assert set(words.EVENT_SENTENCES) == set(EventKind)


def test_the_dashboards_category_labels_are_the_consoles() -> None:
    assert words.label(words.CATEGORIES, "ohs_hazard") == "Site hazard (OHS)"
    assert words.label(words.CATEGORIES, "a_new_one") == "a new one"
    assert words.label(words.CATEGORIES, None) == ""


def test_reported_by_names_the_channel_and_the_language() -> None:
    assert words.reported_by("ussd", "en") == "Reported by USSD in English"
    assert words.reported_by("whatsapp", "sw") == "Reported by WhatsApp in Kiswahili"
    assert words.reported_by("voice", "xx") == "Reported by Voice in xx"


class _Case:
    severity = "critical"
    itsci_level = 2
    language = "fr"


def test_copied_up_says_why() -> None:
    data = {"committee": "nk-provincial", "reason": "copied_up"}
    said = words.event_sentence("copied_up", data, {"nk-provincial": "North Kivu committee"}, _Case)
    assert said == "Copied up to North Kivu committee because the case is critical."


def test_escalation_and_triage_say_why_in_words() -> None:
    names = {"a": "Walikale committee", "b": "North Kivu committee"}
    overdue = {"reason": "overdue", "from": "a", "to": "b"}
    assert words.event_sentence("escalated", overdue, names, _Case) == (
        "Escalated from Walikale committee to North Kivu committee because its "
        "acknowledgement deadline passed."
    )
    top = {"reason": "requested", "from": "b", "to": None}
    assert words.event_sentence("escalated", top, names, _Case) == (
        "Escalation from North Kivu committee on request: no committee above takes it."
    )
    assert words.event_sentence("triaged", {"reason": "no_place"}, names, _Case) == (
        "Put in the admins' triage inbox because the report names no place on the list."
    )


def test_times_are_in_the_zone_to_the_minute() -> None:
    at = datetime(2026, 12, 6, 12, 3, 4, 567890, tzinfo=UTC)
    assert words.when(at, LUBUMBASHI) == "2026-12-06 14:03"
    assert words.when(at, UTC) == "2026-12-06 12:03"
    assert words.when(at, LUBUMBASHI, "%Y-%m-%d %H:%M:%S") == "2026-12-06 14:03:04"
    assert words.when_zoned(at, LUBUMBASHI) == "2026-12-06 14:03 (Africa/Lubumbashi)"
    assert words.when(datetime(2026, 12, 6, 22, 30, tzinfo=UTC), None) == "2026-12-07 00:30"
    assert words.when(date(2026, 12, 6), LUBUMBASHI) == "2026-12-06"
    assert words.when(None, LUBUMBASHI) == ""


def test_when_it_happened_reads_as_dates() -> None:
    day = date(2026, 12, 6)
    assert words.occurred_range(day, day, "today") == "2026-12-06"
    assert words.occurred_range(day - timedelta(days=6), day) == "2026-11-30 to 2026-12-06"
    assert words.occurred_range(None, day, "earlier") == "on or before 2026-12-06"
    assert words.occurred_range(None, None, "week") == "this week"


def _every_event(db: sessionmaker[Session], number: str) -> None:
    """Add to the case one event of each kind routing did not add, with the data the code
    that records it keeps."""
    kinds: list[tuple[EventKind, dict[str, object]]] = [
        (EventKind.ROUTING_REQUESTED, {}),
        (EventKind.TRIAGED, {"reason": "no_committee"}),
        (EventKind.ACKNOWLEDGED, {"committee": "walikale-local"}),
        (EventKind.IN_PROGRESS, {"from": "acknowledged"}),
        (EventKind.MESSAGE, {}),
        (EventKind.INFO_ADDED, {"channel": "sms", "same_phone": True}),
        (EventKind.ESCALATED, {"reason": "overdue", "from": "walikale-local", "to": None}),
        (EventKind.REASSIGNED, {"from": ["walikale-local"], "to": "walikale-local"}),
        (EventKind.ACTION_ADDED, {"action": 1, "committee": "walikale-local", "due": "2026-12-13"}),
        (EventKind.ACTION_DONE, {"action": 1, "committee": "walikale-local", "late": True}),
        (EventKind.ACTION_VERIFIED, {"action": 1, "committee": "walikale-local"}),
        (EventKind.ACTION_MISSED, {"action": 2, "committee": "walikale-local"}),
        (EventKind.LEVEL_CHANGED, {"from": 1, "to": 2}),
        (EventKind.LINKED, {"incident": 1, "state": "suggested", "with": number}),
        (EventKind.UNLINKED, {"incident": 1, "state": "suggested", "with": number}),
        (EventKind.CLOSED, {"outcome": "duplicate", "duplicate_of": number}),
        (EventKind.SOLVED, {"channel": "ussd", "closing": None}),
        (EventKind.APPEALED, {"channel": "sms", "from": "walikale-local", "to": None}),
        (EventKind.CONTACT_ERASED, {}),
        (EventKind.PURGED, {"retention_days": 365}),
    ]
    with db.begin() as session:
        case = find_case(session=session, number=number)
        assert case is not None
        for minute, (kind, data) in enumerate(kinds, start=1):
            at = T0 + timedelta(minutes=minute)
            add_event(session=session, case_id=case.id, kind=kind, at=at, actor="system", data=data)


def test_the_case_page_shows_no_internal_code(
    browser: Callable[[str], Browser],
    file_case: Callable[..., str],
    db: sessionmaker[Session],
    settings: Settings,
) -> None:
    number = file_case(category="sexual_violence", danger_now="yes", at=T0)
    _every_event(db, number)
    page = browser("coordinator").get(f"/admin/cases/{number}")
    assert page.status_code == 200
    text = visible(page.text)
    for code in INTERNAL:
        assert code not in text, code
    kinds = re.findall(r'<span class="kind">([^<]+)</span>', page.text)
    assert set(kinds) == {words.EVENT_KINDS[kind] for kind in EventKind}
    assert "Reported by USSD in English" in text
    assert "Sexual violence" in text
    assert "Copied up to " in text
    assert " because the case is critical and ITSCI level 1, sent to every level." in text
    # Times in Africa/Lubumbashi, never an ISO string with fractions of a second.
    assert "2026-12-06 23:30 (Africa/Lubumbashi)" in text
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d", text)
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}", text)
    # "When it happened": the day of submission in the reporters' zone, as a date.
    assert "2026-12-06 (the reporter said “today”" in text


def test_place_as_typed_shows_only_when_one_was_typed(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    typed = file_case(at=T0)
    assert "Place as typed" in browser("coordinator").get(f"/admin/cases/{typed}").text
    with db.begin() as session:
        case = find_case(session=session, number=typed)
        assert case is not None
        case.place_text_enc = None
    assert "Place as typed" not in browser("coordinator").get(f"/admin/cases/{typed}").text


def test_one_acknowledgement_covers_the_case(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    """A critical case copied up: the local committee acknowledges, the row of the committee
    above says the case was covered by that acknowledgement."""
    number = file_case(category="sexual_violence", danger_now="yes", at=T0)
    coordinator = browser("coordinator")
    page = coordinator.get(f"/admin/cases/{number}")
    assert page.text.count("<tr>") >= 3  # the head, the local and the provincial committee
    coordinator.post(f"/admin/cases/{number}/acknowledge", {})
    text = visible(coordinator.get(f"/admin/cases/{number}").text)
    assert "covered by cora (console or API)'s acknowledgement" in text
    assert "One acknowledgement covers the case for every committee that holds it." in text


def test_work_started_without_an_acknowledgement_covers_the_case(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    """IN PROGRESS on a case nobody acknowledged acknowledges it: the table says so."""
    number = file_case(at=T0)
    with db.begin() as session:
        case = find_case(session=session, number=number)
        assert case is not None
        assert set_in_progress(session=session, case=case, actor="user:ada", now=T0)
    text = visible(browser("coordinator").get(f"/admin/cases/{number}").text)
    assert "covered by ada (console or API)'s acknowledgement, 2026-12-06 23:30" in text
    assert "Work started (it was routed)." in text
