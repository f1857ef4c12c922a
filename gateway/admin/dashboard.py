"""The console's dashboard: counts, medians and charts for a date range, for every role,
and what needs watching now: open signals, open incidents and a small map of both.

The page shows only structured figures (categories, places, committees, times), never a
word a reporter or a committee wrote, so analysts see it whole. Filters are query
parameters, so a filtered view is a link that can be bookmarked or shared.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from gateway.admin import charts
from gateway.admin.map import data_url, signal_words
from gateway.admin.scopes import ScopeDep
from gateway.admin.web import Viewer, allow, channel_name, record, render
from gateway.backoffice.dashboards import (
    CATEGORY_LABELS,
    FIELD,
    Dashboard,
    Text,
    bad_request,
    board_for,
    duration,
    province_label,
    stats_filter,
)
from gateway.runtime import Runtime
from storage import casenumber, stats
from storage.db import utcnow
from storage.incidentquery import open_incident_views
from storage.signals import open_signals
from storage.users import Scope

router = APIRouter()


def _charts(board: Dashboard) -> dict[str, Any]:
    figures = board.figures
    by_category = [(CATEGORY_LABELS.get(c, c), n) for c, n in figures.by_category]
    by_province = [(province_label(p, board.provinces), n) for p, n in figures.by_province]
    by_channel = [(channel_name(c), n) for c, n in figures.by_channel]
    return {
        "category_chart": charts.bar_chart(by_category, title="Cases by category"),
        "province_chart": charts.bar_chart(by_province, title="Cases by province"),
        "week_chart": charts.week_chart(figures.by_week, title="Cases received each week"),
        "channel_chart": charts.bar_chart(by_channel, title="Reports by channel"),
        "by_category": by_category,
        "by_province": by_province,
        "by_channel": by_channel,
    }


# How many open signals and open incidents the dashboard lists.
WATCH = 10


def _watch(runtime: Runtime, scope: Scope) -> dict[str, Any]:
    """The open signals and open incidents of the viewer's scope, as the dashboard lists
    them (an incident by its first case in the scope)."""
    with runtime.sessions() as session:
        signals = [
            {
                "href": f"/admin/signals/{signal.id}",
                "words": signal_words(signal.rule, signal.count),
                "category": CATEGORY_LABELS.get(signal.category, signal.category),
                "territory": signal.territory.name if signal.territory else "",
                "count": signal.count,
                "status": signal.status,
                "raised_at": signal.raised_at,
            }
            for signal in open_signals(session=session, limit=WATCH, scope=scope)
        ]
        incidents = [
            {
                "number": casenumber.display(view.number),
                "href": f"/admin/cases/{view.cases[0] if view.cases else view.number}",
                "category": CATEGORY_LABELS.get(view.category, view.category),
                "place": view.place_name or "",
                "reports": len(view.cases),
                "last_report_at": view.last_report_at,
            }
            for view in open_incident_views(session=session, limit=WATCH, scope=scope)
        ]
    return {"open_signals": signals, "open_incidents": incidents}


@router.get("/", response_class=HTMLResponse)
async def dashboard(
    request: Request,
    viewer: Annotated[Viewer, Depends(allow("dashboard"))],
    scope: ScopeDep,
    start: Annotated[str, Query(alias="from", max_length=FIELD)] = "",
    end: Annotated[str, Query(alias="to", max_length=FIELD)] = "",
    category: Text = "",
    province: Text = "",
    committee: Text = "",
) -> HTMLResponse:
    """Show open and overdue counts, medians and charts for a date range."""
    runtime: Runtime = request.app.state.runtime
    board = await board_for(
        runtime,
        start=start,
        end=end,
        category=category,
        province=province,
        committee=committee,
        scope=scope,
    )
    watch = await runtime.db(_watch, runtime, scope)
    filters = {"from": board.first.isoformat(), "to": board.last.isoformat(), "category": category}
    return await render(
        request,
        "dashboard.html",
        viewer,
        board=board,
        figures=board.figures,
        first=board.first,
        last=board.last,
        where=board.where,
        categories=CATEGORY_LABELS,
        duration=duration,
        province_label=province_label,
        data_url=data_url(filters),
        scope=scope,
        compact=True,
        **watch,
        **_charts(board),
    )


def _trend(runtime: Runtime, where: stats.StatsFilter) -> list[tuple[Any, str, int]]:
    with runtime.sessions() as session:
        try:
            return stats.weekly_by_category(session=session, where=where)
        except stats.UnknownFilter as exc:
            raise bad_request(f"No {exc} has this code.") from exc


def _csv(rows: list[tuple[Any, str, int]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["week_start", "category", "cases"])
    writer.writerows((week.isoformat(), category, count) for week, category, count in rows)
    return out.getvalue()


@router.get("/dashboard.csv")
async def dashboard_csv(
    request: Request,
    viewer: Annotated[Viewer, Depends(allow("dashboard"))],
    scope: ScopeDep,
    start: Annotated[str, Query(alias="from", max_length=FIELD)] = "",
    end: Annotated[str, Query(alias="to", max_length=FIELD)] = "",
    category: Text = "",
    province: Text = "",
    committee: Text = "",
) -> Response:
    """Download the weekly counts by category as CSV, with the dashboard's filters."""
    runtime: Runtime = request.app.state.runtime
    where, first, last = stats_filter(
        start=start,
        end=end,
        category=category,
        province=province,
        committee=committee,
        today=utcnow().date(),
        scope=scope,
    )
    rows = await runtime.db(_trend, runtime, where)
    used = [name for name in ("category", "province", "committee") if getattr(where, name)]
    await runtime.db(
        record, runtime, viewer, "export.stats", None, {"filters": used, "rows": len(rows)}
    )
    name = f"sauti-weekly-{first.isoformat()}-{last.isoformat()}.csv"
    return Response(
        _csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )
