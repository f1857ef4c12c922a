"""When it happened, as days: `cases.occurred_from` and `cases.occurred_to`.

A reporter answers "today", "this week", "this month" or "earlier"; kept as a word, the
answer drifts ("today" a year later). The two dates fix it at submission, counted from
the day of submission in the reporters' zone (storage/cases.py `occurred_dates`): today
that day, this week its 7 days, this month its 30 days, earlier up to 30 days before it
(no start). Existing cases get theirs from `created_at` and `occurred`, in
Africa/Lubumbashi (UTC+2, the default zone), by the rule as it stands at this revision,
written out here. On SQLite the columns are added in place: rebuilding `cases` would
delete every event and assignment by cascade. The downgrade drops the two columns.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-14 10:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ZONE = ZoneInfo("Africa/Lubumbashi")
# Days before the day of submission: (first, last); None: no first day.
DAYS: dict[str, tuple[int | None, int]] = {
    "today": (0, 0),
    "week": (6, 0),
    "month": (29, 0),
    "earlier": (None, 30),
}
BATCH = 1000

cases = sa.table(
    "cases",
    sa.column("id", sa.Integer),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("occurred", sa.String),
    sa.column("occurred_from", sa.Date),
    sa.column("occurred_to", sa.Date),
)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _dates(created_at: datetime, occurred: str) -> dict[str, date | None]:
    at = created_at if created_at.tzinfo is not None else created_at.replace(tzinfo=UTC)
    day = at.astimezone(ZONE).date()
    first, last = DAYS.get(occurred, (None, 0))
    return {
        "b_from": None if first is None else day - timedelta(days=first),
        "b_to": day - timedelta(days=last),
    }


def _fill() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(cases.c.id, cases.c.created_at, cases.c.occurred)).all()
    statement = (
        sa.update(cases)
        .where(cases.c.id == sa.bindparam("b_id"))
        .values(occurred_from=sa.bindparam("b_from"), occurred_to=sa.bindparam("b_to"))
    )
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        bind.execute(statement, [{"b_id": r.id, **_dates(r.created_at, r.occurred)} for r in batch])


def upgrade() -> None:
    if _sqlite():
        op.execute("ALTER TABLE cases ADD COLUMN occurred_from DATE")
        op.execute("ALTER TABLE cases ADD COLUMN occurred_to DATE")
    else:
        op.add_column("cases", sa.Column("occurred_from", sa.Date(), nullable=True))
        op.add_column("cases", sa.Column("occurred_to", sa.Date(), nullable=True))
    _fill()


def downgrade() -> None:
    if _sqlite():
        op.execute("ALTER TABLE cases DROP COLUMN occurred_to")
        op.execute("ALTER TABLE cases DROP COLUMN occurred_from")
    else:
        op.drop_column("cases", "occurred_to")
        op.drop_column("cases", "occurred_from")
