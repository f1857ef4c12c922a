"""`GET /api/v1/stats`: the dashboard's figures as JSON, for every role.

Only counts, places, categories and times: nothing a reporter or committee wrote. Times
are in seconds. An empty parameter means "all", as in the console's filter form.

`performance` holds the mechanism's figures (storage.performance) per province and per
committee for each calendar quarter the range touches, counted whole. Admins and
coordinators get them as they are; any other role gets only their published forms, with the
public page's suppression (`storage.performance.publish`), so a role that may not read
reporters' words cannot single out a few of them here either.

A scoped caller's figures are of their cases only; the performance rows are those of their
committees, and of the provinces wholly inside their place (none for a committee scope, or
a place below a province), since a province's row counts every case of the province.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.api.deps import ScopeDep, api_allow
from gateway.backoffice.dashboards import (
    CATEGORY_LABELS,
    CHANNEL_LABELS,
    FIELD,
    Dashboard,
    Text,
    board_for,
    province_label,
)
from gateway.backoffice.tokens import Claims
from gateway.deps import RuntimeDep
from gateway.runtime import Runtime
from storage import performance
from storage.models import FREE_TEXT_ROLES, Level, Location, Role
from storage.performance import Quarter, Raw
from storage.stats import SUPPRESS_BELOW
from storage.users import Scope

PUBLISHED_RULE = (
    f"Published figures: a count from 1 to {SUPPRESS_BELOW - 1} is hidden (null, and "
    "named in `suppressed`), and so is a province's number of reports when, with its counts "
    f"by category and month, it would narrow down a hidden one. A median is shown only over "
    f"at least {SUPPRESS_BELOW} cases, a share only over at least "
    f"{SUPPRESS_BELOW} and when neither the cases it counts nor the rest are from 1 to "
    f"{SUPPRESS_BELOW - 1}."
)
WHOLE_RULE = "Whole figures: nothing is hidden for this role."

router = APIRouter(tags=["stats"])


class Count(BaseModel):
    code: str
    label: str
    count: int


class Week(BaseModel):
    week_start: date
    count: int


class CommitteeOut(BaseModel):
    code: str
    name: str
    open: int
    overdue: int
    median_ack_seconds: float | None
    median_close_seconds: float | None


class PerformanceRow(BaseModel):
    code: str = Field(description='a province or committee code; "" for no known province')
    name: str
    quarter: str = Field(description="a calendar quarter in UTC, such as 2026Q4")
    received: int | None
    ack_on_time_pct: int | None
    median_ack_days: float | None
    median_close_days: float | None
    actions_on_time_pct: int | None
    solved_pct: int | None = Field(description="of the answered closings, called solved")
    appeals: int | None = Field(description="closings the reporter called not solved")
    suppressed: list[str] = Field(description="the figures hidden to protect reporters")


class PerformanceOut(BaseModel):
    first_quarter: str
    last_quarter: str
    published: bool = Field(description="true: suppressed as on the public page")
    rule: str
    provinces: list[PerformanceRow]
    committees: list[PerformanceRow]


class StatsOut(BaseModel):
    start: date
    end: date
    category: str | None
    province: str | None
    committee: str | None
    generated_at: datetime
    received: int
    received_this_week: int
    open: int
    overdue: int
    median_ack_seconds: float | None
    median_close_seconds: float | None
    by_category: list[Count]
    by_province: list[Count]
    by_week: list[Week]
    committees: list[CommitteeOut]
    by_channel: list[Count]
    performance: PerformanceOut


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def _committees(board: Dashboard) -> list[CommitteeOut]:
    return [
        CommitteeOut(
            code=row.code,
            name=row.name,
            open=row.open,
            overdue=row.overdue,
            median_ack_seconds=_seconds(row.median_ack),
            median_close_seconds=_seconds(row.median_close),
        )
        for row in board.figures.committees
    ]


def _pct(share: float | None) -> int | None:
    return None if share is None else round(100 * share)


def _days(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _whole(code: str, name: str, quarter: Quarter, raw: Raw) -> PerformanceRow:
    return PerformanceRow(
        code=code,
        name=name,
        quarter=str(quarter),
        received=raw.received,
        ack_on_time_pct=_pct(raw.ack_on_time_share),
        median_ack_days=_days(raw.median_ack_days),
        median_close_days=_days(raw.median_close_days),
        actions_on_time_pct=_pct(raw.actions_on_time_share),
        solved_pct=_pct(raw.solved_share),
        appeals=raw.appeals,
        suppressed=[],
    )


def _published(row: performance.PublicRow) -> PerformanceRow:
    return PerformanceRow(
        code=row.province,
        name=row.province_name,
        quarter=row.quarter,
        received=row.received,
        ack_on_time_pct=row.ack_on_time_pct,
        median_ack_days=row.median_ack_days,
        median_close_days=row.median_close_days,
        actions_on_time_pct=row.actions_on_time_pct,
        solved_pct=row.solved_pct,
        appeals=row.appeals,
        suppressed=list(row.suppressed),
    )


def _rows(
    figures: Mapping[tuple[str, Quarter], Raw], names: Mapping[str, str], whole: bool
) -> list[PerformanceRow]:
    """Whole rows, or the published ones (no other published counts beside them)."""
    if whole:
        found = [
            _whole(code, province_label(code, dict(names)), quarter, raw)
            for (code, quarter), raw in figures.items()
        ]
        return sorted(found, key=lambda row: (row.name, row.code, row.quarter))
    return [_published(row) for row in performance.publish(dict(figures), {}, dict(names))]


def _whole_provinces(session: Session, scope: Scope | None) -> set[str] | None:
    """The codes of the provinces a scoped caller's performance rows may show; None: all."""
    if scope is None or scope.everything:
        return None
    if scope.place_path is None:
        return set()
    query = select(Location.code).where(
        Location.level == Level.PROVINCE,
        Location.path.startswith(scope.place_path, autoescape=True),
    )
    return set(session.scalars(query))


def _performance(runtime: Runtime, board: Dashboard, whole: bool) -> PerformanceOut:
    """The figures of every quarter the range touches, by province and by committee (only
    the ones the filter names, when it names a province or a committee)."""
    first, last = Quarter.of(board.where.start), Quarter.of(board.where.end - timedelta(days=1))
    where = board.where
    with runtime.sessions() as session:
        if whole:
            by_province = performance.provinces_by_quarter(
                session=session, first=first, last=last, now=board.now
            )
            provinces = _rows(by_province, board.provinces, whole=True)
        else:
            public = performance.public_rows(session=session, first=first, last=last, now=board.now)
            provinces = [_published(row) for row in public]
        shown = _whole_provinces(session, where.scope)
        if shown is not None:
            provinces = [row for row in provinces if row.code in shown]
        codes = [where.committee] if where.committee else list(board.committees)
        by_committee = {
            (code, quarter): raw
            for code in codes
            for quarter, raw in performance.committee_by_quarter(
                session=session, committee=code, first=first, last=last, now=board.now
            ).items()
        }
    if where.province is not None:
        provinces = [row for row in provinces if row.code == where.province]
    return PerformanceOut(
        first_quarter=str(first),
        last_quarter=str(last),
        published=not whole,
        rule=WHOLE_RULE if whole else PUBLISHED_RULE,
        provinces=provinces,
        committees=_rows(by_committee, board.committees, whole),
    )


def _out(board: Dashboard, measured: PerformanceOut) -> StatsOut:
    figures = board.figures
    return StatsOut(
        start=board.first,
        end=board.last,
        category=board.where.category,
        province=board.where.province,
        committee=board.where.committee,
        generated_at=board.now,
        received=figures.received,
        received_this_week=board.this_week,
        open=figures.open,
        overdue=figures.overdue,
        median_ack_seconds=_seconds(figures.median_ack),
        median_close_seconds=_seconds(figures.median_close),
        by_category=[
            Count(code=c, label=CATEGORY_LABELS.get(c, c), count=n) for c, n in figures.by_category
        ],
        by_province=[
            Count(code=p, label=province_label(p, board.provinces), count=n)
            for p, n in figures.by_province
        ],
        by_week=[Week(week_start=day, count=n) for day, n in figures.by_week],
        committees=_committees(board),
        by_channel=[
            Count(code=c, label=CHANNEL_LABELS.get(c, c), count=n) for c, n in figures.by_channel
        ],
        performance=measured,
    )


@router.get("/stats")
async def stats(
    runtime: RuntimeDep,
    principal: Annotated[Claims, Depends(api_allow("dashboard"))],
    scope: ScopeDep,
    start: Annotated[str, Query(alias="from", max_length=FIELD)] = "",
    end: Annotated[str, Query(alias="to", max_length=FIELD)] = "",
    category: Text = "",
    province: Text = "",
    committee: Text = "",
) -> StatsOut:
    """Count cases by category, province and week; open, overdue and median times; and the
    performance figures by province and committee for each quarter the range touches
    (suppressed as on the public page unless the role reads reporters' words)."""
    board = await board_for(
        runtime,
        start=start,
        end=end,
        category=category,
        province=province,
        committee=committee,
        scope=scope,
    )
    whole = Role(principal.role) in FREE_TEXT_ROLES
    return _out(board, await runtime.db(_performance, runtime, board, whole))
