"""The dashboard's figures and filters, shared by the console page and the stats API.

Kept apart from the page (no import of the console's plumbing) so that the JSON API can
use it too. Bad filter values raise HTTPException 400 with a message that says why. The
figures keep to the viewer's scope (`stats.StatsFilter.scope`): a scoped coordinator's
counts, charts and committee table are of their cases and their committees only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import HTTPException, Query, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.runtime import Runtime
from storage import stats
from storage.db import utcnow
from storage.models import Category, Committee
from storage.users import Scope

DEFAULT_WEEKS = 12
MAX_DAYS = 3 * 366 + 7
FIELD = 64
# How each channel a report may come by is named (the console's pages, the stats API).
CHANNEL_LABELS: dict[str, str] = {
    "ussd": "USSD",
    "sms": "SMS",
    "whatsapp": "WhatsApp",
    "voice": "Voice",
    "web": "Web",
}
CATEGORY_LABELS: dict[str, str] = {
    Category.OHS_HAZARD: "Site hazard (OHS)",
    Category.ACCIDENT: "Accident",
    Category.VIOLENCE: "Violence",
    Category.ILLEGAL_TAX: "Illegal tax",
    Category.CHILD_LABOUR: "Child labour",
    Category.SEXUAL_VIOLENCE: "Sexual violence",
    Category.MINERAL_FRAUD: "Mineral fraud",
    Category.OTHER: "Other",
}
NO_PROVINCE = "Place not given"

Text = Annotated[str, Query(max_length=FIELD)]


def bad_request(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_400_BAD_REQUEST, detail=detail)


def parse_day(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise bad_request(f"'{name}' must be a date written YYYY-MM-DD.") from exc
    if not 2000 <= day.year <= 2999:
        raise bad_request(f"'{name}' must be a date between the years 2000 and 2999.")
    return day


def default_start(today: date) -> date:
    """The Monday that starts the last `DEFAULT_WEEKS` ISO weeks, this one included."""
    return stats.week_start(today) - timedelta(weeks=DEFAULT_WEEKS - 1)


def date_range(start: str, end: str, today: date) -> tuple[date, date]:
    """Both days of the range asked for (inclusive); 400 for an unreadable or reversed one."""
    last = parse_day(end, "to") or today
    first = parse_day(start, "from") or default_start(last)
    if first > last:
        raise bad_request("The range starts after it ends: 'from' must not be after 'to'.")
    if (last - first).days > MAX_DAYS:
        raise bad_request("The range is too long: ask for at most three years.")
    return first, last


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _code(value: str, name: str) -> str | None:
    if not value:
        return None
    if not value.replace("-", "").replace("_", "").isalnum() or not value.isascii():
        raise bad_request(f"'{name}' is not a code.")
    return value


def stats_filter(
    *,
    start: str,
    end: str,
    category: str,
    province: str,
    committee: str,
    today: date,
    scope: Scope | None = None,
) -> tuple[stats.StatsFilter, date, date]:
    """Read the dashboard's query parameters; an empty value means "all"."""
    first, last = date_range(start, end, today)
    if category and category not in CATEGORY_LABELS:
        raise bad_request("'category' is not one of the categories.")
    where = stats.StatsFilter(
        start=_midnight(first),
        end=_midnight(last + timedelta(days=1)),
        category=category or None,
        province=_code(province, "province"),
        committee=_code(committee, "committee"),
        scope=scope,
    )
    return where, first, last


@dataclass(frozen=True, slots=True)
class Dashboard:
    """The figures for one filter, from day `first` to day `last` (inclusive), as of `now`."""

    where: stats.StatsFilter
    first: date
    last: date
    now: datetime
    figures: stats.Stats
    this_week: int
    provinces: dict[str, str]
    committees: dict[str, str]


def _load(
    runtime: Runtime, where: stats.StatsFilter, first: date, last: date, now: datetime
) -> Dashboard:
    """Every figure of the page in one read-only session; 400 for an unknown filter code."""
    monday = _midnight(stats.week_start(now.date()))
    with runtime.sessions() as session:
        try:
            figures = stats.dashboard_stats(session=session, where=where, now=now)
            week = stats.StatsFilter(
                start=monday,
                end=monday + timedelta(weeks=1),
                category=where.category,
                province=where.province,
                committee=where.committee,
                scope=where.scope,
            )
            this_week = stats.count_received(session=session, where=week)
        except stats.UnknownFilter as exc:
            raise bad_request(f"No {exc} has this code.") from exc
        return Dashboard(
            where=where,
            first=first,
            last=last,
            now=now,
            figures=figures,
            this_week=this_week,
            provinces=stats.provinces(session=session),
            committees=_committees(session, where.scope),
        )


def _committees(session: Session, scope: Scope | None) -> dict[str, str]:
    """The committees to choose from and to show: a scoped viewer's own, else every one."""
    names = stats.committees(session=session)
    shown = stats.scope_committees(session=session, scope=scope)
    if shown is None:
        return names
    codes = set(session.scalars(select(Committee.code).where(Committee.id.in_(shown))))
    return {code: name for code, name in names.items() if code in codes}


async def board_for(
    runtime: Runtime,
    *,
    start: str,
    end: str,
    category: str,
    province: str,
    committee: str,
    scope: Scope | None = None,
) -> Dashboard:
    """Read the dashboard's query parameters and load its figures; 400 for a bad filter."""
    now = utcnow()
    where, first, last = stats_filter(
        start=start,
        end=end,
        category=category,
        province=province,
        committee=committee,
        today=now.date(),
        scope=scope,
    )
    return await runtime.db(_load, runtime, where, first, last, now)


def duration(value: timedelta | None) -> str:
    """A median time, short and readable: "45 min", "5 h 20 min", "3 d 4 h"; "–" for none."""
    if value is None:
        return "–"
    minutes = round(value.total_seconds() / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def province_label(code: str, names: dict[str, str]) -> str:
    return names.get(code, code) if code else NO_PROVINCE
