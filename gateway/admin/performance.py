"""The console's performance page: one committee's figures by quarter, with trend charts,
and its quarterly report as a page and as a PDF download.

Signed-in users only, so counts are shown whole, as on the dashboard; only structured
figures (times, statuses, categories, place names, action dates), never a reporter's or a
committee member's words. A scoped viewer chooses among their own committees (those of
their scope, or those of places under it); any other code is refused as unknown.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.admin import charts
from gateway.admin.web import Viewer, allow, record, render
from gateway.backoffice.dashboards import FIELD, bad_request
from gateway.backoffice.reports import HEADS, figure_cells, report_html, report_pdf
from gateway.runtime import Runtime
from storage import stats
from storage.db import utcnow
from storage.models import Committee
from storage.performance import BadQuarter, Quarter
from storage.quarterly import QuarterlyReport, quarterly_report
from storage.users import user_scope

router = APIRouter()
Code = Annotated[str, Query(max_length=FIELD)]


def _quarter(value: str) -> Quarter:
    if not value:
        return Quarter.of(utcnow())
    try:
        return Quarter.parse(value)
    except BadQuarter as exc:
        raise bad_request(str(exc)) from exc


def _scoped_names(session: Session, username: str) -> dict[str, str]:
    """The committees the viewer may see the figures of: a scoped viewer's own, else all."""
    scope = user_scope(session=session, username=username)
    names = stats.committees(session=session)
    shown = stats.scope_committees(session=session, scope=scope)
    if shown is None:
        return names
    codes = set(session.scalars(select(Committee.code).where(Committee.id.in_(shown))))
    return {code: name for code, name in names.items() if code in codes}


def _load(
    runtime: Runtime, committee: str, quarter: Quarter, username: str
) -> tuple[QuarterlyReport, Any]:
    with runtime.sessions() as session:
        names = _scoped_names(session, username)
        if committee not in names:  # unknown, or outside the viewer's scope
            raise bad_request("No committee has this code.")
        try:
            found = quarterly_report(
                session=session, committee=committee, quarter=quarter, now=utcnow()
            )
        except stats.UnknownFilter as exc:
            raise bad_request("No committee has this code.") from exc
        return found, names


def _charts(report: QuarterlyReport) -> dict[str, Any]:
    received = [(str(q), raw.received) for q, raw in report.trend]
    on_time = [(str(q), round(100 * (raw.ack_on_time_share or 0))) for q, raw in report.trend]
    return {
        "received_chart": charts.bar_chart(received, title="Reports received by quarter"),
        "on_time_chart": charts.bar_chart(
            on_time,
            title="Share acknowledged on time by quarter (%)",
            unit="percent",
            empty="Nothing acknowledged or due in these quarters.",
        ),
    }


@router.get("/performance", response_class=HTMLResponse)
async def performance_page(
    request: Request,
    viewer: Annotated[Viewer, Depends(allow("dashboard"))],
    committee: Code = "",
    quarter: Code = "",
) -> HTMLResponse:
    """Show a committee's figures over the last quarters, with trend charts."""
    runtime: Runtime = request.app.state.runtime
    period = _quarter(quarter)
    if not committee:
        names = await runtime.db(_names, runtime, viewer.username)
        return await render(
            request, "performance.html", viewer, report=None, names=names, quarter=period
        )
    report, names = await runtime.db(_load, runtime, committee, period, viewer.username)
    return await render(
        request,
        "performance.html",
        viewer,
        report=report,
        names=names,
        quarter=period,
        heads=HEADS,
        rows=[(str(q), figure_cells(raw)) for q, raw in report.trend],
        **_charts(report),
    )


def _names(runtime: Runtime, username: str) -> dict[str, str]:
    with runtime.sessions() as session:
        return _scoped_names(session, username)


@router.get("/performance/report")
async def performance_report(
    request: Request,
    viewer: Annotated[Viewer, Depends(allow("dashboard"))],
    committee: Code,
    quarter: Code = "",
    format: Code = "html",
) -> Response:
    """A committee's quarterly report: the page (format=html) or a PDF download."""
    runtime: Runtime = request.app.state.runtime
    if format not in ("html", "pdf"):
        raise bad_request("'format' is html or pdf.")
    period = _quarter(quarter)
    report, _names = await runtime.db(_load, runtime, committee, period, viewer.username)
    await runtime.db(
        record,
        runtime,
        viewer,
        "export.report",
        committee,
        {"quarter": str(period), "format": format},
    )
    if format == "html":
        return HTMLResponse(report_html(report, stylesheet="/admin/static/console.css"))
    name = f"sauti-{committee}-{period}.pdf"
    return Response(
        report_pdf(report),
        media_type="application/pdf",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )
