"""A signal reaches the provincial committee's focal points by SMS, one per member per
signal, in the member's language: a burst of reports through routing raises one signal,
a report that is a signal by itself raises its own, and neither a rerun nor the sweep
sends a second SMS."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from flows import gsm
from storage.casenumber import display
from storage.models import Case, Signal, SignalCase
from tests.workers.conftest import NOW, committee_yaml, outbox_rows
from workers.context import WorkerContext
from workers.routing import route_report
from workers.signals import check_report, sweep_signals

LOCAL, PROVINCIAL_EN, PROVINCIAL_FR, OFF_DUTY = (
    "+243810000021",
    "+243810000022",
    "+243810000023",
    "+243810000024",
)
COMMITTEES = committee_yaml("walikale-local", "local", "cd-nk-walikale", [(LOCAL, "en")]) + (
    committee_yaml(
        "nk-provincial",
        "provincial",
        "cd-nk",
        [(PROVINCIAL_EN, "en"), (PROVINCIAL_FR, "fr"), (OFF_DUTY, "en")],
    )
)


@pytest.fixture(autouse=True)
def committees(add_committees: Callable[[str], None], ctx: WorkerContext) -> None:
    add_committees(COMMITTEES)
    from storage.models import CommitteeMember

    with ctx.sessions.begin() as session:
        off = session.scalar(select(CommitteeMember).where(CommitteeMember.phone == OFF_DUTY))
        assert off is not None
        off.active = False


def _signals(ctx: WorkerContext) -> list[Signal]:
    with ctx.sessions() as session:
        return list(session.scalars(select(Signal).order_by(Signal.id)))


def _signal_cases(ctx: WorkerContext) -> int:
    with ctx.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(SignalCase)) or 0)


def _burst(make_case: Callable[..., Case], count: int, **answers: str) -> list[Case]:
    return [
        make_case(place="cd-nk-walikale-bisie", at=NOW + timedelta(minutes=n), **answers)
        for n in range(count)
    ]


def test_a_burst_of_five_violence_reports_raises_one_signal(
    ctx: WorkerContext, make_case: Callable[..., Case], run_jobs: Callable[[], None]
) -> None:
    cases = []
    for n in range(5):
        case = make_case(
            place="cd-nk-walikale-bisie", category="violence", at=NOW + timedelta(minutes=n)
        )
        route_report(case.id, now=case.created_at)
        run_jobs()
        cases.append(case)
    assert {case.severity for case in cases} == {"high"}  # none a signal by itself
    [signal] = _signals(ctx)
    assert (signal.rule, signal.category, signal.count) == ("threshold", "violence", 5)
    assert _signal_cases(ctx) == 5
    sms = outbox_rows(ctx, kind="signal")
    assert sorted(str(s.to) for s in sms) == [PROVINCIAL_EN, PROVINCIAL_FR]
    assert {s.dedupe_key for s in sms} == {f"signal:{signal.id}:{s.row.member_id}" for s in sms}
    # Told when the count crossed: the third report; the fourth and fifth joined silently.
    english = next(s for s in sms if s.language == "en").body
    numbers = ", ".join(display(case.number) for case in cases[:3])
    assert english == (
        f"Sauti signal, Violence: 3 reports in Walikale on 26/11 (usual 0). Cases: {numbers}. "
        "See the console."
    )
    assert all(gsm.segments(s.body) <= 2 for s in sms)
    # The local committee gets its alerts, not the signal.
    assert LOCAL not in {s.to for s in sms}


def test_reports_routed_before_any_check_raise_one_signal_with_all_of_them(
    ctx: WorkerContext, make_case: Callable[..., Case], run_jobs: Callable[[], None]
) -> None:
    cases = _burst(make_case, 5, category="illegal_tax")
    for case in cases:
        route_report(case.id, now=case.created_at)
    run_jobs()
    [signal] = _signals(ctx)
    assert signal.count == 5
    sms = outbox_rows(ctx, kind="signal")
    assert len(sms) == 2
    french = next(s for s in sms if s.language == "fr").body
    assert "Taxe illégale" in french
    assert display(cases[-1].number) in french


def test_a_rerun_and_the_sweep_send_nothing_more(
    ctx: WorkerContext, make_case: Callable[..., Case], run_jobs: Callable[[], None]
) -> None:
    cases = _burst(make_case, 3)
    for case in cases:
        route_report(case.id, now=case.created_at)
    run_jobs()
    assert len(outbox_rows(ctx, kind="signal")) == 2
    for case in cases:
        assert check_report(case.id, now=NOW) == 0
    assert sweep_signals(now=NOW + timedelta(hours=1)) == 0
    run_jobs()
    assert len(outbox_rows(ctx, kind="signal")) == 2
    assert len(_signals(ctx)) == 1


def test_the_sweep_raises_a_signal_no_check_raised(
    ctx: WorkerContext, make_case: Callable[..., Case], run_jobs: Callable[[], None]
) -> None:
    _burst(make_case, 3)
    assert sweep_signals(now=NOW + timedelta(hours=1)) == 1
    run_jobs()
    sms = outbox_rows(ctx, kind="signal")
    assert sorted(str(s.to) for s in sms) == [PROVINCIAL_EN, PROVINCIAL_FR]
    assert {s.status for s in sms} == {"delivered"}


def test_a_sexual_violence_report_is_told_at_once(
    ctx: WorkerContext, make_case: Callable[..., Case], run_jobs: Callable[[], None]
) -> None:
    [case] = _burst(make_case, 1, category="sexual_violence")
    route_report(case.id, now=case.created_at)
    run_jobs()
    [signal] = _signals(ctx)
    assert (signal.rule, signal.key) == ("absolute", f"absolute:{case.id}")
    english = next(s for s in outbox_rows(ctx, kind="signal") if s.language == "en").body
    assert english == (
        f"Sauti signal, Sexual violence: a report in Walikale, case {display(case.number)}. "
        "See the console."
    )


def test_a_signal_no_committee_covers_is_recorded_and_sends_nothing(
    ctx: WorkerContext, make_case: Callable[..., Case], run_jobs: Callable[[], None]
) -> None:
    case = make_case(place="rw-north-rulindo", category="sexual_violence", at=NOW)
    assert check_report(case.id, now=NOW) == 1
    [signal] = _signals(ctx)
    assert signal.committee_id is None
    assert outbox_rows(ctx, kind="signal") == []


def test_a_missing_case_raises_nothing(ctx: WorkerContext) -> None:
    assert check_report(987654, now=NOW) == 0
