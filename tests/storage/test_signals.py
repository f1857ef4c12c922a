"""Signals: the EARS-C2-style threshold rule on generated histories (flat, rising, all-zero
baselines, gap days that must not count), counting per territory and committee day, the
absolute rule, raising once (a rerun, two sessions at once), and a signal's lifecycle."""

from __future__ import annotations

import io
import statistics
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from storage import retention
from storage.cases import InvalidAction
from storage.committees import import_committees_yaml
from storage.db import make_sessionmaker
from storage.key_rotation import rotate_encryption
from storage.models import Case, Location, Signal, SignalCase, SignalRule, SignalStatus
from storage.privacy import Crypto
from storage.settings import spike_absolute_rules
from storage.signals import (
    SignalFilter,
    SpikeRule,
    acknowledge_signal,
    baseline_days,
    check_case,
    check_since,
    close_signal,
    closing_note,
    committee_for,
    count_signals,
    get_signal,
    list_signals,
    open_signals,
    rule_in_words,
    usual_range,
    verdict,
)
from tests.storage.conftest import ENCRYPTION_KEY, PSEUDONYM_KEY

RULE = SpikeRule()
NEW_KEY = "q1f3bM0m8oQ2n0lJ7XlE5v0QeG2tq8cRr8m3yO9pB6Y="
DAY = date(2026, 11, 26)
BISIE, MPAMA, WALIKALE = "cd-nk-walikale-bisie", "cd-nk-walikale-mpama", "cd-nk-walikale"
MakeCase = Callable[..., Case]


def _committee(code: str, level: str, location: str, phone: int, categories: str = "all") -> str:
    return f"""\
- code: {code}
  name: {code}
  level: {level}
  location: {location}
  categories: {categories}
  language: sw
  timezone: Africa/Lubumbashi
  digest_at: "18:00"
  members:
    - {{name: Focal point, phone: "+243 81 000 {phone:04d}"}}
"""


# North Kivu has a local and a provincial committee; South Kivu's provincial committee
# takes only violence (its illegal taxes go to the national one); Rwanda has none.
COMMITTEES = "".join(
    [
        _committee("walikale-local", "local", WALIKALE, 1),
        _committee("nk-provincial", "provincial", "cd-nk", 2),
        _committee("sk-provincial", "provincial", "cd-sk", 3, "[violence]"),
        _committee("cd-national", "national", "cd", 4),
    ]
)


@pytest.fixture
def committees(session: Session, crypto: Crypto, demo_places: None, now: datetime) -> None:
    import_committees_yaml(session=session, crypto=crypto, source=io.StringIO(COMMITTEES), now=now)
    session.flush()


pytestmark = pytest.mark.usefixtures("committees")


def _at(day: date, hour: int = 8) -> datetime:
    """`hour` UTC on `day`: the same day in the committees' timezone (UTC+2)."""
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC)


def _history(make_case: MakeCase, counts: list[int], *, category: str = "illegal_tax") -> None:
    """`counts[i]` reports on each day of the baseline of DAY (oldest first)."""
    for day, count in zip(baseline_days(DAY, RULE), counts, strict=True):
        for n in range(count):
            make_case(place=BISIE if n % 2 else MPAMA, category=category, at=_at(day))


def _burst(
    session: Session, make_case: MakeCase, count: int, *, category: str = "illegal_tax"
) -> list[int]:
    """Report `count` times on DAY, checking each report as routing does; return how many
    signals each check raised."""
    raised = []
    for n in range(count):
        case = make_case(place=BISIE, category=category, at=_at(DAY, 8) + timedelta(minutes=n))
        raised.append(len(check_case(session=session, case_id=case.id, rule=RULE, now=_at(DAY))))
    return raised


def _signals(session: Session) -> list[Signal]:
    return list(session.scalars(select(Signal).order_by(Signal.id)))


# The rule itself, on plain counts.


def test_the_baseline_is_seven_days_ending_two_days_before() -> None:
    days = baseline_days(DAY, RULE)
    assert days[0] == DAY - timedelta(days=9)
    assert days[-1] == DAY - timedelta(days=3)
    assert len(days) == 7


def test_the_standard_deviation_is_the_sample_one() -> None:
    history = [1, 3, 1, 3, 1, 3, 2]
    counts = dict(zip(baseline_days(DAY, RULE), history, strict=True))
    found = verdict(counts=counts, day=DAY, rule=RULE)
    assert found.mean == 2
    assert found.sd == pytest.approx(statistics.stdev(history)) == pytest.approx(1.0)
    assert found.threshold == pytest.approx(5.0)


def test_a_count_equal_to_the_threshold_is_not_a_signal() -> None:
    counts = dict(zip(baseline_days(DAY, RULE), [1, 3, 1, 3, 1, 3, 2], strict=True))
    assert not verdict(counts={**counts, DAY: 5}, day=DAY, rule=RULE).raised
    assert verdict(counts={**counts, DAY: 6}, day=DAY, rule=RULE).raised


@pytest.mark.parametrize(
    ("history", "quiet", "raised"),
    [
        ([0] * 7, 2, 3),  # all zero: the minimum count decides, not the zero threshold
        ([2] * 7, 2, 3),  # flat 2 a day: threshold 2.0, 3 is above it
        ([5] * 7, 5, 6),  # flat above the minimum: one more than usual is a signal
        ([1, 2, 3, 4, 5, 6, 7], 10, 11),  # rising: mean 4, sd 2.16, threshold 10.48
        ([0, 0, 0, 1, 0, 0, 0], 2, 3),  # one report in a week: threshold 1.28
    ],
)
def test_the_threshold_on_generated_histories(history: list[int], quiet: int, raised: int) -> None:
    counts = dict(zip(baseline_days(DAY, RULE), history, strict=True))
    assert not verdict(counts={**counts, DAY: quiet}, day=DAY, rule=RULE).raised
    assert verdict(counts={**counts, DAY: raised}, day=DAY, rule=RULE).raised


def test_never_below_the_minimum_count() -> None:
    for count in range(RULE.min_count):
        assert not verdict(counts={DAY: count}, day=DAY, rule=RULE).raised
    strict = SpikeRule(min_count=5)
    assert not verdict(counts={DAY: 4}, day=DAY, rule=strict).raised
    assert verdict(counts={DAY: 5}, day=DAY, rule=strict).raised


def test_the_gap_days_do_not_count() -> None:
    gap = {DAY - timedelta(days=1): 40, DAY - timedelta(days=2): 40}
    assert verdict(counts={**gap, DAY: 3}, day=DAY, rule=RULE).raised
    # The same 40s inside the baseline would hide the rise.
    inside = {DAY - timedelta(days=3): 40, DAY - timedelta(days=4): 40}
    assert not verdict(counts={**inside, DAY: 3}, day=DAY, rule=RULE).raised


def test_the_usual_range_is_whole_reports() -> None:
    assert usual_range(0.29, 0.49) == (0, 1)
    assert usual_range(2.0, 0.0) == (2, 2)
    assert usual_range(4.0, 2.16) == (1, 7)


def test_the_absolute_setting_is_read_and_checked() -> None:
    assert spike_absolute_rules("sexual_violence, violence:critical") == {
        ("sexual_violence", None),
        ("violence", "critical"),
    }
    assert spike_absolute_rules("") == frozenset()
    with pytest.raises(ValueError, match="not a category"):
        spike_absolute_rules("violance")
    with pytest.raises(ValueError, match="not a severity"):
        spike_absolute_rules("violence:urgent")


# Counting and raising, on the database.


def test_an_all_zero_history_raises_once_at_the_third_report(
    session: Session, make_case: MakeCase
) -> None:
    assert _burst(session, make_case, 5) == [0, 0, 1, 0, 0]
    [signal] = _signals(session)
    assert signal.key == f"threshold:{signal.territory_id}:illegal_tax:{DAY.isoformat()}"
    assert signal.rule == SignalRule.THRESHOLD
    assert signal.territory is not None
    assert signal.territory.code == WALIKALE
    assert signal.committee is not None
    assert signal.committee.code == "nk-provincial"
    assert (signal.baseline_mean, signal.baseline_sd, signal.threshold) == (0.0, 0.0, 0.0)
    # The reports after the crossing join the signal; nobody is told twice.
    assert signal.count == 5
    assert len(signal.cases) == 5


def test_a_flat_history_of_two_a_day_raises_at_three(session: Session, make_case: MakeCase) -> None:
    _history(make_case, [2] * 7)
    assert _burst(session, make_case, 4) == [0, 0, 1, 0]
    [signal] = _signals(session)
    assert (signal.baseline_mean, signal.baseline_sd, signal.threshold) == (2.0, 0.0, 2.0)


def test_a_rising_history_needs_more(session: Session, make_case: MakeCase) -> None:
    _history(make_case, [1, 2, 3, 4, 5, 6, 7])
    assert _burst(session, make_case, 11) == [0] * 10 + [1]
    [signal] = _signals(session)
    assert signal.threshold == pytest.approx(4 + 3 * statistics.stdev([1, 2, 3, 4, 5, 6, 7]))


def test_reports_on_the_gap_days_do_not_raise_the_baseline(
    session: Session, make_case: MakeCase
) -> None:
    for back in (1, 2):
        for _ in range(4):
            make_case(place=BISIE, at=_at(DAY - timedelta(days=back)))
    assert _burst(session, make_case, 3) == [0, 0, 1]
    assert [signal.day for signal in _signals(session)] == [DAY]


def test_other_categories_places_and_test_cases_do_not_count(
    session: Session, make_case: MakeCase
) -> None:
    at = _at(DAY)
    make_case(place=BISIE, category="mineral_fraud", at=at)
    make_case(place="cd-nk-masisi-rubaya", at=at)  # another territory
    make_case(place="cd-nk", at=at)  # filed against the province: no territory
    test_case = make_case(place=BISIE, at=at)
    test_case.is_test = True
    session.flush()
    assert _burst(session, make_case, 2) == [0, 0]
    assert _signals(session) == []
    assert check_case(session=session, case_id=test_case.id, rule=RULE, now=at) == []


def test_a_report_filed_against_the_territory_counts(session: Session, make_case: MakeCase) -> None:
    make_case(place=WALIKALE, at=_at(DAY))
    make_case(place=WALIKALE, at=_at(DAY))
    assert _burst(session, make_case, 1) == [1]


def test_the_day_is_the_committees_day(session: Session, make_case: MakeCase) -> None:
    # 22:30 UTC on the 25th is 00:30 on the 26th in Lubumbashi: the same day as the burst.
    late = datetime(2026, 11, 25, 22, 30, tzinfo=UTC)
    make_case(place=BISIE, at=late)
    make_case(place=BISIE, at=late)
    assert _burst(session, make_case, 1) == [1]
    [signal] = _signals(session)
    assert signal.day == DAY


def test_a_rerun_raises_nothing(session: Session, make_case: MakeCase) -> None:
    _burst(session, make_case, 3)
    cases = session.scalars(select(Case.id)).all()
    for case_id in cases:
        assert check_case(session=session, case_id=case_id, rule=RULE, now=_at(DAY)) == []
    assert (
        check_since(session=session, since=_at(DAY) - timedelta(days=1), rule=RULE, now=_at(DAY))
        == []
    )
    assert len(_signals(session)) == 1


def test_the_sweep_raises_what_no_check_did(session: Session, make_case: MakeCase) -> None:
    for n in range(3):
        make_case(place=BISIE, at=_at(DAY) + timedelta(minutes=n))
    make_case(place=BISIE, category="sexual_violence", at=_at(DAY))
    raised = check_since(
        session=session, since=_at(DAY) - timedelta(hours=36), rule=RULE, now=_at(DAY, 9)
    )
    assert sorted(signal.rule for signal in raised) == ["absolute", "threshold"]


def test_two_sessions_at_once_raise_one_signal(
    session: Session,
    make_case: MakeCase,
    engine_sessions: tuple[Session, Session],
) -> None:
    cases = [make_case(place=BISIE, at=_at(DAY) + timedelta(minutes=n)) for n in range(3)]
    session.commit()
    first, second = engine_sessions
    found: list[list[Signal]] = []

    def other() -> None:
        found.append(check_case(session=second, case_id=cases[-1].id, rule=RULE, now=_at(DAY)))
        second.commit()

    raised = check_case(session=first, case_id=cases[-1].id, rule=RULE, now=_at(DAY))
    # The other run waits for this one's write (SQLite's lock, PostgreSQL's unique index).
    thread = threading.Thread(target=other)
    thread.start()
    first.commit()
    thread.join(timeout=60)
    assert len(raised) == 1
    assert found == [[]]
    assert session.scalar(select(func.count()).select_from(Signal)) == 1
    assert session.scalar(select(func.count()).select_from(SignalCase)) == 3


# The absolute rule.


def test_a_sexual_violence_report_is_a_signal_by_itself(
    session: Session, make_case: MakeCase
) -> None:
    case = make_case(place=BISIE, category="sexual_violence", at=_at(DAY))
    [signal] = check_case(session=session, case_id=case.id, rule=RULE, now=_at(DAY))
    assert (signal.key, signal.rule, signal.count) == (f"absolute:{case.id}", "absolute", 1)
    assert signal.committee is not None
    assert signal.committee.code == "nk-provincial"
    assert [link.case_id for link in signal.cases] == [case.id]
    assert check_case(session=session, case_id=case.id, rule=RULE, now=_at(DAY)) == []


def test_only_a_critical_violence_report_is_a_signal_by_itself(
    session: Session, make_case: MakeCase
) -> None:
    high = make_case(place=BISIE, category="violence", at=_at(DAY))
    assert check_case(session=session, case_id=high.id, rule=RULE, now=_at(DAY)) == []
    critical = make_case(place=BISIE, category="violence", danger_now="yes", at=_at(DAY))
    assert critical.severity == "critical"
    [signal] = check_case(session=session, case_id=critical.id, rule=RULE, now=_at(DAY))
    assert signal.rule == SignalRule.ABSOLUTE


def test_an_absolute_report_without_a_territory_is_still_a_signal(
    session: Session, make_case: MakeCase
) -> None:
    case = make_case(place="cd-nk", category="sexual_violence", at=_at(DAY))
    [signal] = check_case(session=session, case_id=case.id, rule=RULE, now=_at(DAY))
    assert signal.territory_id is None
    assert signal.committee is not None
    assert signal.committee.code == "nk-provincial"


def test_the_committee_told_is_provincial_else_national_else_none(session: Session) -> None:
    def told(code: str, category: str) -> str | None:
        place = session.scalar(select(Location).where(Location.code == code))
        assert place is not None
        committee = committee_for(session=session, location=place, category=category)
        return None if committee is None else committee.code

    assert told(WALIKALE, "illegal_tax") == "nk-provincial"
    assert told("cd-sk-uvira", "violence") == "sk-provincial"
    assert told("cd-sk-uvira", "illegal_tax") == "cd-national"
    assert told("rw-north-rulindo", "violence") is None


# A signal's lifecycle.


def _one_signal(session: Session, make_case: MakeCase) -> Signal:
    case = make_case(place=BISIE, category="sexual_violence", at=_at(DAY))
    [signal] = check_case(session=session, case_id=case.id, rule=RULE, now=_at(DAY))
    return signal


def test_acknowledge_then_close_with_an_encrypted_note(
    session: Session, make_case: MakeCase, crypto: Crypto
) -> None:
    signal = _one_signal(session, make_case)
    at = _at(DAY, 10)
    assert acknowledge_signal(session=session, signal=signal, actor="user:ana", now=at)
    assert not acknowledge_signal(session=session, signal=signal, actor="user:ana", now=at)
    assert (signal.status, signal.acknowledged_by) == (SignalStatus.ACKNOWLEDGED, "user:ana")
    note = "Police and the provincial committee visited Bisie"
    assert close_signal(
        session=session, crypto=crypto, signal=signal, actor="member:4", note=note, now=at
    )
    assert (signal.status, signal.closed_by, signal.closed_at) == ("closed", "member:4", at)
    assert signal.note_enc is not None
    assert note.encode() not in signal.note_enc
    assert closing_note(crypto=crypto, signal=signal) == note
    assert not close_signal(
        session=session, crypto=crypto, signal=signal, actor="member:4", note="again", now=at
    )
    assert not acknowledge_signal(session=session, signal=signal, actor="user:ana", now=at)


def test_closing_needs_a_note(session: Session, make_case: MakeCase, crypto: Crypto) -> None:
    signal = _one_signal(session, make_case)
    for note in ("", "   ", "x" * 2001):
        with pytest.raises(InvalidAction):
            close_signal(
                session=session, crypto=crypto, signal=signal, actor="u", note=note, now=_at(DAY)
            )
    assert signal.status == SignalStatus.OPEN
    # Closing an open signal acknowledges it by the same actor.
    close_signal(
        session=session, crypto=crypto, signal=signal, actor="user:ana", note="done", now=_at(DAY)
    )
    assert signal.acknowledged_by == "user:ana"


def test_lists_put_open_signals_first_and_filter(
    session: Session, make_case: MakeCase, crypto: Crypto
) -> None:
    closed = _one_signal(session, make_case)
    close_signal(session=session, crypto=crypto, signal=closed, actor="u", note="ok", now=_at(DAY))
    acknowledged = _one_signal(session, make_case)
    acknowledge_signal(session=session, signal=acknowledged, actor="u", now=_at(DAY))
    _burst(session, make_case, 3)
    threshold = next(s for s in _signals(session) if s.rule == SignalRule.THRESHOLD)
    everything = list_signals(session=session)
    assert [s.id for s in everything] == [threshold.id, acknowledged.id, closed.id]
    assert [s.id for s in open_signals(session=session)] == [threshold.id, acknowledged.id]
    assert [s.id for s in open_signals(session=session, limit=1)] == [threshold.id]
    assert [s.id for s in list_signals(session=session, where=SignalFilter(status="closed"))] == [
        closed.id
    ]
    taxes = SignalFilter(category="illegal_tax")
    assert [s.id for s in list_signals(session=session, where=taxes)] == [threshold.id]
    # Absolute signals of Bisie and the threshold one are all in North Kivu's territories.
    assert count_signals(session=session, where=SignalFilter(province="cd-nk")) == 3
    assert count_signals(session=session, where=SignalFilter(province="cd-sk")) == 0
    assert count_signals(session=session) == 3
    loaded = get_signal(session=session, signal_id=threshold.id)
    assert loaded is not None
    assert [link.case.category for link in loaded.cases] == ["illegal_tax"] * 3


def test_the_rule_in_words(session: Session, make_case: MakeCase) -> None:
    _history(make_case, [0, 0, 0, 1, 0, 0, 0])
    _burst(session, make_case, 3)
    [signal] = _signals(session)
    assert rule_in_words(signal) == (
        "3 illegal tax reports in a day, above the usual 0\u20131 (threshold 1.3)"
    )
    absolute = _one_signal(session, make_case)
    assert rule_in_words(absolute) == "a sexual violence report: a signal by itself"


def test_key_rotation_rewrites_a_closing_note(
    session: Session, make_case: MakeCase, crypto: Crypto, engine: Engine
) -> None:
    signal = _one_signal(session, make_case)
    close_signal(
        session=session, crypto=crypto, signal=signal, actor="u", note="met them", now=_at(DAY)
    )
    session.commit()
    both = Crypto(PSEUDONYM_KEY, f"{NEW_KEY},{ENCRYPTION_KEY}")
    tallies = rotate_encryption(sessions=make_sessionmaker(engine), crypto=both, now=_at(DAY))
    assert {t.table: t.rewritten for t in tallies}["signals"] == 1
    session.expire_all()
    assert closing_note(crypto=Crypto(PSEUDONYM_KEY, NEW_KEY), signal=signal) == "met them"


def test_retention_erases_an_old_closing_note_and_keeps_the_signal(
    session: Session, make_case: MakeCase, crypto: Crypto, engine: Engine
) -> None:
    old, recent = _one_signal(session, make_case), _one_signal(session, make_case)
    for signal, closed in ((old, _at(DAY) - timedelta(days=400)), (recent, _at(DAY))):
        close_signal(
            session=session, crypto=crypto, signal=signal, actor="u", note="met them", now=closed
        )
    session.commit()
    sessions = make_sessionmaker(engine)
    before = _at(DAY) - timedelta(days=365)
    with sessions() as other:
        assert retention.due_counts(session=other, before=before).event_texts == 1
    done = retention.purge_expired(sessions=sessions, crypto=crypto, days=365, now=_at(DAY))
    assert done.event_texts == 1
    session.expire_all()
    assert (old.note_enc, old.status, old.closed_by) == (None, "closed", "u")
    assert closing_note(crypto=crypto, signal=recent) == "met them"
