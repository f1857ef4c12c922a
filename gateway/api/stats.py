"""`GET /api/v1/stats`: the dashboard's figures as JSON, for every role.

Only counts, places, categories and times: nothing a reporter or committee wrote. Times
are in seconds. An empty parameter means "all", as in the console's filter form.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from gateway.api.deps import api_allow
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


def _out(board: Dashboard) -> StatsOut:
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
    )


@router.get("/stats")
async def stats(
    runtime: RuntimeDep,
    _principal: Annotated[Claims, Depends(api_allow("dashboard"))],
    start: Annotated[str, Query(alias="from", max_length=FIELD)] = "",
    end: Annotated[str, Query(alias="to", max_length=FIELD)] = "",
    category: Text = "",
    province: Text = "",
    committee: Text = "",
) -> StatsOut:
    """Count cases by category, province and week; open, overdue and median times."""
    board = await board_for(
        runtime, start=start, end=end, category=category, province=province, committee=committee
    )
    return _out(board)
