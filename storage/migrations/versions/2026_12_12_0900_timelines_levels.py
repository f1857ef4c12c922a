"""Timelines and ITSCI levels: committees' first-action and closing deadlines, and
`cases.itsci_level`.

`committees.action_deadlines` and `committees.close_deadlines` map a severity to seconds,
as `ack_deadlines` does; every existing committee gets the defaults (first action:
critical 2 d, high 7 d, medium 14 d, low 30 d; close: critical 7 d, high 30 d, medium
60 d, low 90 d).

`cases.itsci_level` (1, 2 or 3) is filled in for existing cases by the rule of
storage/levels.py as it stands at this revision (written out here, so that a later change
to the rule does not change what this migration did). On SQLite the column is added in
place, its check with it: rebuilding `cases` would delete every event and assignment by
cascade. The downgrade drops the three columns and keeps every row.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-12 09:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DAY = 86400
ACTION_DEADLINES = {"critical": 2 * DAY, "high": 7 * DAY, "medium": 14 * DAY, "low": 30 * DAY}
CLOSE_DEADLINES = {"critical": 7 * DAY, "high": 30 * DAY, "medium": 60 * DAY, "low": 90 * DAY}
LEVELS = "itsci_level IN (1, 2, 3)"
LEVEL_CHECK = "ck_cases_itsci_level"  # the name the naming convention gives

committees = sa.table(
    "committees",
    sa.column("action_deadlines", sa.JSON),
    sa.column("close_deadlines", sa.JSON),
)
cases = sa.table(
    "cases",
    sa.column("category", sa.String),
    sa.column("danger_now", sa.Boolean),
    sa.column("itsci_level", sa.Integer),
)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _deadlines(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.JSON(), server_default=sa.text("'{}'"), nullable=False)


def _level_of_existing_cases() -> sa.ColumnElement[int]:
    """The rule of storage/levels.py at revision 0014, as SQL."""
    danger = cases.c.danger_now.is_(sa.true())
    return sa.case(
        (cases.c.category.in_(("sexual_violence", "child_labour", "violence")), 1),
        (sa.and_(cases.c.category == "accident", danger), 1),
        (cases.c.category.in_(("accident", "illegal_tax", "mineral_fraud")), 2),
        (sa.and_(cases.c.category == "ohs_hazard", danger), 2),
        else_=3,
    )


def upgrade() -> None:
    op.add_column("committees", _deadlines("action_deadlines"))
    op.add_column("committees", _deadlines("close_deadlines"))
    op.execute(
        sa.update(committees).values(
            action_deadlines=ACTION_DEADLINES, close_deadlines=CLOSE_DEADLINES
        )
    )
    if _sqlite():
        op.execute(
            "ALTER TABLE cases ADD COLUMN itsci_level INTEGER DEFAULT 3 NOT NULL"
            f" CONSTRAINT {LEVEL_CHECK} CHECK ({LEVELS})"
        )
    else:
        op.add_column(
            "cases",
            sa.Column("itsci_level", sa.Integer(), server_default=sa.text("3"), nullable=False),
        )
        op.create_check_constraint(op.f(LEVEL_CHECK), "cases", LEVELS)
    op.execute(sa.update(cases).values(itsci_level=_level_of_existing_cases()))


def downgrade() -> None:
    if _sqlite():
        # SQLite (3.35 and later) drops a column together with its own check, in place.
        op.execute("ALTER TABLE cases DROP COLUMN itsci_level")
        op.execute("ALTER TABLE committees DROP COLUMN close_deadlines")
        op.execute("ALTER TABLE committees DROP COLUMN action_deadlines")
    else:
        op.drop_constraint(op.f(LEVEL_CHECK), "cases", type_="check")
        op.drop_column("cases", "itsci_level")
        op.drop_column("committees", "close_deadlines")
        op.drop_column("committees", "action_deadlines")
