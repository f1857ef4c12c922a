"""Reading the audit log, shared by the console page and the audit API.

Kept apart from the page (no import of the console's plumbing) so that the JSON API can
use it too. Every read is recorded as "audit.view" in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from gateway.backoffice.dashboards import bad_request, parse_day
from gateway.runtime import Runtime
from storage.db import utcnow
from storage.models import AuditEntry
from storage.users import AuditFilter, audit, find_audit_entries

PER_PAGE = 50
MAX_PAGE = 100_000


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: list[AuditEntry]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def audit_filter(*, actor: str, action: str, target: str, start: str, end: str) -> AuditFilter:
    """Read the filters (empty means all); `end` is a day included in the range."""
    first, last = parse_day(start, "from"), parse_day(end, "to")
    if first is not None and last is not None and first > last:
        raise bad_request("The range starts after it ends: 'from' must not be after 'to'.")
    return AuditFilter(
        actor=actor.strip() or None,
        action=action.strip() or None,
        target=target.strip() or None,
        since=None if first is None else datetime.combine(first, time.min, tzinfo=UTC),
        until=None if last is None else datetime.combine(last + timedelta(days=1), time.min, UTC),
    )


def used_filters(where: AuditFilter) -> list[str]:
    """The names of the filters in use, for the "audit.view" entry."""
    names = ("actor", "action", "target", "since", "until")
    return [name for name in names if getattr(where, name) is not None]


def read_page(
    runtime: Runtime,
    actor: str,
    ip_hash: str | None,
    where: AuditFilter,
    page: int,
    per_page: int,
) -> AuditPage:
    """One page of entries, and the record that `actor` read it, in one transaction."""
    with runtime.sessions.begin() as session:
        entries, total = find_audit_entries(
            session=session, where=where, offset=(page - 1) * per_page, limit=per_page
        )
        audit(
            session=session,
            actor=actor,
            action="audit.view",
            data={"filters": used_filters(where), "page": page},
            ip_hash=ip_hash,
            now=utcnow(),
        )
        session.expunge_all()
    return AuditPage(entries, total, page, per_page)
