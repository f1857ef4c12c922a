"""Public statistics, with no sign-in: cases by province, category and month, and the
mechanism's performance by province and quarter (storage.performance).

Each province's counts are drawn as the dashboard's SVG charts (a chart per category,
a column per month; a withheld count has no column and says "<5"), with the table of the
same figures after them. The months are chosen from a list: the last `CHOICE_MONTHS`, and every
month back to the first report's.

Counts from 1 to 4 are suppressed and no totals are published (the rule is stated in
`storage.stats` and on the page), so no small group can be singled out. Answers may be
cached for a few minutes, by browsers and proxies and by this process, so the page costs
the database one read per range every `CACHE_SECONDS`, however often it is asked for.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from markupsafe import Markup

from gateway.admin import charts
from gateway.admin.web import ENV
from gateway.backoffice.dashboards import CATEGORY_LABELS
from gateway.runtime import Runtime
from storage import performance, stats
from storage.db import utcnow

router = APIRouter()

CACHE_SECONDS = 300
DEFAULT_MONTHS = 12
MAX_MONTHS = 60
CHOICE_MONTHS = 24
MAX_CHOICES = 120
_MONTH = re.compile(r"(\d{4})-(\d{2})")
RULE = (
    f"Every count from 1 to {stats.SUPPRESS_BELOW - 1} is hidden (shown as "
    f"'<{stats.SUPPRESS_BELOW}'), so that no small group of reporters can be singled out. "
    "No totals of these counts are published (over provinces, categories or months), so a "
    "hidden count cannot be worked out by subtraction."
)

PERFORMANCE_RULE = (
    "Quarters are calendar quarters in UTC, counted whole whatever months are asked for. "
    f"A count from 1 to {stats.SUPPRESS_BELOW - 1} is hidden, and so is a quarter's number "
    "of reports when, with the counts by category and month above, it would narrow down a "
    f"hidden one. A median is shown only over at least {stats.SUPPRESS_BELOW} cases, a share "
    f"only over at least {stats.SUPPRESS_BELOW} and when neither the cases it counts nor the "
    f"rest are from 1 to {stats.SUPPRESS_BELOW - 1}. No total over provinces or quarters is "
    "published."
)


class BadRange(ValueError):
    """The months asked for cannot be read, or span too long."""


@dataclass(frozen=True, slots=True)
class Published:
    first: str
    last: str
    generated_at: datetime
    cells: list[stats.PublicCell]
    performance: list[performance.PublicRow]
    # The months to choose from, newest first ("2026-12").
    months: list[str]


def _month(value: str, name: str) -> date:
    found = _MONTH.fullmatch(value)
    if found is None or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 2000:
        raise BadRange(f"'{name}' must be a month written YYYY-MM, from the year 2000.")
    return date(int(found.group(1)), int(found.group(2)), 1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _span(first: date, last: date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month + 1


def month_range(start: str | None, end: str | None, today: date) -> tuple[date, date]:
    """The first days of the first and last months asked for (default: the last 12)."""
    last = _month(end, "to") if end else today.replace(day=1)
    first = _month(start, "from") if start else _add_months(last, 1 - DEFAULT_MONTHS)
    if first > last:
        raise BadRange("'from' must not be after 'to'.")
    if _span(first, last) > MAX_MONTHS:
        raise BadRange(f"Ask for at most {MAX_MONTHS} months at a time.")
    return first, last


def month_choices(first_report: datetime | None, today: date) -> list[str]:
    """The last `CHOICE_MONTHS` months, and every month back to the first report's (at most
    `MAX_CHOICES` in all), newest first."""
    last = today.replace(day=1)
    first = _add_months(last, 1 - CHOICE_MONTHS)
    if first_report is not None:
        reported = date(first_report.year, first_report.month, 1)
        first = max(min(first, reported), _add_months(last, 1 - MAX_CHOICES))
    return [f"{_add_months(last, -n):%Y-%m}" for n in range(_span(first, last))]


def _read(
    runtime: Runtime, first: date, last: date
) -> tuple[list[stats.PublicCell], list[performance.PublicRow], datetime | None]:
    start = datetime(first.year, first.month, 1, tzinfo=UTC)
    after = _add_months(last, 1)
    end = datetime(after.year, after.month, 1, tzinfo=UTC)
    with runtime.sessions() as session:
        cells = stats.public_cells(session=session, start=start, end=end)
        rows = performance.public_rows(
            session=session,
            first=performance.Quarter.of(start),
            last=performance.Quarter.of(end - timedelta(microseconds=1)),
            now=utcnow(),
        )
        return cells, rows, stats.first_report_at(session=session)


async def published(request: Request, first: date, last: date) -> Published:
    """The cells for these months, from this process's cache while it is fresh."""
    runtime: Runtime = request.app.state.runtime
    cache: dict[tuple[date, date], tuple[float, Published]] = getattr(
        request.app.state, "public_stats", {}
    )
    request.app.state.public_stats = cache
    key = (first, last)
    hit = cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    cells, rows, first_report = await runtime.db(_read, runtime, first, last)
    now = utcnow()
    months = month_choices(first_report, now.date())
    result = Published(f"{first:%Y-%m}", f"{last:%Y-%m}", now, cells, rows, months)
    if len(cache) > 256:
        cache.clear()
    cache[key] = (time.monotonic(), result)
    return result


def _cacheable(response: Response) -> Response:
    response.headers["cache-control"] = f"public, max-age={CACHE_SECONDS}"
    return response


def _cell(cell: stats.PublicCell) -> dict[str, Any]:
    return {**asdict(cell), "suppressed": cell.count is None}


def _row(row: performance.PublicRow) -> dict[str, Any]:
    return {**asdict(row), "suppressed": list(row.suppressed)}


@router.get("/public/stats.json", include_in_schema=False)
async def stats_json(request: Request) -> Response:
    """Publish the suppressed counts by province, category and month as JSON."""
    params = request.query_params
    try:
        first, last = month_range(params.get("from"), params.get("to"), utcnow().date())
    except BadRange as exc:
        return JSONResponse({"detail": str(exc)}, status_code=400)
    result = await published(request, first, last)
    body = {
        "from": result.first,
        "to": result.last,
        "threshold": stats.SUPPRESS_BELOW,
        "rule": RULE,
        "generated_at": result.generated_at.isoformat(),
        "categories": CATEGORY_LABELS,
        "cells": [_cell(cell) for cell in result.cells],
        "performance": {
            "rule": PERFORMANCE_RULE,
            "rows": [_row(row) for row in result.performance],
        },
    }
    return _cacheable(JSONResponse(body))


def _months(first: str, last: str) -> list[str]:
    start, end = _month(first, "from"), _month(last, "to")
    return [f"{_add_months(start, n):%Y-%m}" for n in range(_span(start, end))]


def _charts(table: dict[str, Any], months: list[str]) -> list[tuple[str, Markup]]:
    """A chart per category the province has reports of: a column per month asked for."""
    drawn = []
    hidden = f"<{stats.SUPPRESS_BELOW}"
    for code, label in CATEGORY_LABELS.items():
        if not any(code in counts for counts in table["months"].values()):
            continue
        values = [(month, table["months"].get(month, {}).get(code, 0)) for month in months]
        title = f"{label} in {table['name']}: reports each month"
        drawn.append((label, charts.month_chart(values, title=title, hidden=hidden)))
    return drawn


def _tables(cells: list[stats.PublicCell], first: str, last: str) -> list[dict[str, Any]]:
    """One table per province: its months as rows, the categories as columns, with the
    charts of the same figures."""
    provinces: dict[str, dict[str, Any]] = {}
    for cell in cells:
        table = provinces.setdefault(cell.province, {"name": cell.province_name, "months": {}})
        table["months"].setdefault(cell.month, {})[cell.category] = cell.count
    months = _months(first, last)
    for table in provinces.values():
        table["months"] = dict(sorted(table["months"].items()))
        table["charts"] = _charts(table, months)
    return list(provinces.values())


def _performance_tables(rows: list[performance.PublicRow]) -> list[dict[str, Any]]:
    """One table per province: its quarters as rows, oldest first."""
    provinces: dict[str, dict[str, Any]] = {}
    for row in rows:
        provinces.setdefault(row.province, {"name": row.province_name, "rows": []})["rows"].append(
            row
        )
    return list(provinces.values())


def _page(status_code: int, **context: Any) -> HTMLResponse:
    html = ENV.get_template("public_stats.html").render(
        categories=CATEGORY_LABELS,
        rule=RULE,
        performance_rule=PERFORMANCE_RULE,
        threshold=stats.SUPPRESS_BELOW,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


@router.get("/public/stats", response_class=HTMLResponse, include_in_schema=False)
async def stats_page(request: Request) -> Response:
    """Show the suppressed counts by province, category and month."""
    params = request.query_params
    try:
        first, last = month_range(params.get("from"), params.get("to"), utcnow().date())
    except BadRange as exc:
        months = month_choices(None, utcnow().date())
        return _page(
            400, error=str(exc), result=None, tables=[], performance_tables=[], months=months
        )
    result = await published(request, first, last)
    return _cacheable(
        _page(
            200,
            error=None,
            result=result,
            tables=_tables(result.cells, result.first, result.last),
            months=result.months,
            performance_tables=_performance_tables(result.performance),
        )
    )
