"""Reading the audit log, shared by the console page and the audit API, and its CSV export.

Kept apart from the page (no import of the console's plumbing) so that the JSON API can
use it too. Every read is recorded as "audit.view" in the same transaction, every export
as "audit.export" (with the names of the filters used and the number of rows). Entries
hold no personal content by design (`storage.users.audit`), so the export holds none.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.backoffice.auditwords import Names, sentence
from gateway.backoffice.dashboards import bad_request, parse_day
from gateway.runtime import Runtime
from storage import casenumber
from storage.db import utcnow
from storage.models import AuditEntry, Committee, Location
from storage.users import AuditFilter, audit, find_audit_entries

PER_PAGE = 50
MAX_PAGE = 100_000
MAX_USERS = 50
# An export is at most this many entries, newest first; narrow the filters for older ones.
MAX_EXPORT = 100_000
CSV_HEADER = ("at", "actor", "action", "sentence", "target", "data", "ip_hash")


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: list[AuditEntry]
    total: int
    page: int
    per_page: int
    names: Names = field(default_factory=Names)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _case_number(case: str) -> str | None:
    if not case.strip():
        return None
    canonical = casenumber.parse(case)
    if canonical is None:
        raise bad_request("'case' must be a case number: its 10 digits, with or without dashes.")
    return canonical


def _users(users: Sequence[str]) -> tuple[str, ...] | None:
    chosen = tuple(dict.fromkeys(name.strip() for name in users if name.strip()))
    if len(chosen) > MAX_USERS or any(len(name) > 64 for name in chosen):
        raise bad_request(f"Choose at most {MAX_USERS} users.")
    return chosen or None


def audit_filter(
    *,
    actor: str,
    action: str,
    target: str,
    start: str,
    end: str,
    case: str = "",
    users: Sequence[str] = (),
) -> AuditFilter:
    """Read the filters (empty means all); `end` is a day included in the range. `case` is
    a case number, formatted or not (it stands for the target); `users` any of them."""
    first, last = parse_day(start, "from"), parse_day(end, "to")
    if first is not None and last is not None and first > last:
        raise bad_request("The range starts after it ends: 'from' must not be after 'to'.")
    number = _case_number(case)
    if number is not None and target.strip() and target.strip() != number:
        raise bad_request("Give a case or a target, not both.")
    return AuditFilter(
        actor=actor.strip() or None,
        action=action.strip() or None,
        target=number or target.strip() or None,
        since=None if first is None else datetime.combine(first, time.min, tzinfo=UTC),
        until=None if last is None else datetime.combine(last + timedelta(days=1), time.min, UTC),
        actors=_users(users),
    )


def used_filters(where: AuditFilter) -> list[str]:
    """The names of the filters in use, for the "audit.view" entry."""
    names = ("actor", "action", "target", "since", "until", "actors")
    return [name for name in names if getattr(where, name) is not None]


def _names(session: Session, entries: Iterable[AuditEntry]) -> Names:
    """Committees' names, and the names of the places the entries name."""
    committees = dict(session.execute(select(Committee.code, Committee.name)).all())
    codes = {e.target for e in entries if e.action.startswith("place.") and e.target}
    places: dict[str, str] = {}
    if codes:
        query = select(Location.code, Location.name).where(Location.code.in_(codes))
        places = dict(session.execute(query).all())
    return Names(committees, places)


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
        names = _names(session, entries)
        audit(
            session=session,
            actor=actor,
            action="audit.view",
            data={"filters": used_filters(where), "page": page},
            ip_hash=ip_hash,
            now=utcnow(),
        )
        session.expunge_all()
    return AuditPage(entries, total, page, per_page, names)


def _csv(entries: Sequence[AuditEntry], names: Names) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for entry in entries:
        data = json.dumps(entry.data or {}, sort_keys=True, ensure_ascii=False)
        said = str(sentence(entry, names))
        row = (entry.at.isoformat(), entry.actor, entry.action, said, entry.target or "", data)
        writer.writerow((*row, entry.ip_hash or ""))
    return out.getvalue()


def export_csv(runtime: Runtime, actor: str, ip_hash: str | None, where: AuditFilter) -> str:
    """The entries under `where` as CSV (newest first, at most `MAX_EXPORT`), with the
    "audit.export" entry that records the export, in one transaction."""
    with runtime.sessions.begin() as session:
        entries, _total = find_audit_entries(
            session=session, where=where, offset=0, limit=MAX_EXPORT
        )
        text = _csv(entries, _names(session, entries))
        audit(
            session=session,
            actor=actor,
            action="audit.export",
            data={"filters": used_filters(where), "rows": len(entries)},
            ip_hash=ip_hash,
            now=utcnow(),
        )
    return text
