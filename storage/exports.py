"""CSV exports of cases: anonymised columns for everyone, free text only when asked for.

Each row says the incident its case is grouped in (the incident's number, and whether the
link is suggested or confirmed), the case it was closed as a duplicate of, and the signals
it is behind (their ids, as the console's and the API's signal pages name them).

Rows are read in batches of `BATCH` cases by id (keyset pages, each in its own short
session), so an export of any size holds one batch in memory and no long transaction.
Never a phone number, never a pseudonym. Every cell a spreadsheet would read as a formula
is prefixed with a quote.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from storage.casenumber import display
from storage.casequery import CaseFilter, clauses, committees_of
from storage.incidentquery import CaseGrouping, groupings
from storage.models import Case
from storage.privacy import Crypto
from storage.signals import signals_of_cases

BATCH = 500
COLUMNS = (
    "number",
    "category",
    "severity",
    "itsci_level",
    "status",
    "outcome",
    "province",
    "place_code",
    "committees",
    "created_at",
    "acknowledged_at",
    "closed_at",
    "incident",
    "incident_link",
    "duplicate_of",
    "signals",
    "occurred",
    "occurred_from",
    "occurred_to",
)
TEXT_COLUMNS = ("description", "place_text")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """Prefix a cell that a spreadsheet would run as a formula with a quote."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _when(value: datetime | None) -> str:
    return "" if value is None else value.isoformat().replace("+00:00", "Z")


def _province(case: Case) -> str:
    """The province code from the place's path ("/cd/cd-nk/…" -> "cd-nk")."""
    if case.location is None:
        return ""
    parts = case.location.path.strip("/").split("/")
    return parts[1] if len(parts) > 1 else ""


def _row(
    case: Case,
    committees: Sequence[str],
    grouping: CaseGrouping | None,
    signal_ids: Sequence[int],
    crypto: Crypto | None,
) -> list[str]:
    grouping = grouping or CaseGrouping()
    row = [
        display(case.number),
        case.category,
        case.severity,
        str(case.itsci_level),
        case.status,
        case.outcome or "",
        _province(case),
        "" if case.location is None else case.location.code,
        " ".join(committees),
        _when(case.created_at),
        _when(case.acknowledged_at),
        _when(case.closed_at),
        display(grouping.incident) if grouping.incident else "",
        grouping.incident_link or "",
        display(grouping.duplicate_of) if grouping.duplicate_of else "",
        " ".join(str(signal_id) for signal_id in signal_ids),
        case.occurred,
        "" if case.occurred_from is None else case.occurred_from.isoformat(),
        "" if case.occurred_to is None else case.occurred_to.isoformat(),
    ]
    if crypto is not None:
        for value in (case.description_enc, case.place_text_enc):
            row.append("" if value is None else crypto.decrypt(value))
    return [safe_cell(cell) for cell in row]


def _batch(session: Session, where: CaseFilter, after: int) -> Sequence[Case]:
    found = clauses(session, where)
    if found is None:
        return []
    query = (
        select(Case)
        .where(*found, Case.id > after)
        .options(selectinload(Case.location))
        .order_by(Case.id)
        .limit(BATCH)
    )
    return session.scalars(query).all()


def _line(row: Sequence[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(row)
    return out.getvalue()


def csv_chunks(
    *, sessions: sessionmaker[Session], where: CaseFilter, crypto: Crypto | None = None
) -> Iterator[str]:
    """Yield the CSV of matching cases, oldest first: the header, then one chunk per batch.

    `crypto` given means the free-text columns are wanted (decrypted); None leaves them out.
    """
    header = [*COLUMNS, *(TEXT_COLUMNS if crypto is not None else ())]
    yield _line(header)
    after = 0
    while True:
        with sessions() as session:
            batch = _batch(session, where, after)
            ids = [case.id for case in batch]
            held = committees_of(session=session, case_ids=ids)
            grouped = groupings(session=session, case_ids=ids)
            behind = signals_of_cases(session=session, case_ids=ids)
            chunk = "".join(
                _line(
                    _row(
                        case,
                        held.get(case.id, []),
                        grouped.get(case.id),
                        behind.get(case.id, []),
                        crypto,
                    )
                )
                for case in batch
            )
        if not batch:
            return
        # The session is closed while the client reads the chunk.
        yield chunk
        after = batch[-1].id
