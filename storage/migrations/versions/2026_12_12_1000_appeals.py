"""The reporter's say on the outcome: `cases.satisfaction` and `cases.satisfaction_at`, a
case may be `appealed`, and a committee may hold a case because it was appealed to.

`satisfaction` is the reporter's answer to the latest closing (`solved`, `not_solved`),
`satisfaction_at` when it was given. The checks on `cases.status` and
`case_assignments.reason` are widened as revision 0012 widened `cases.channel`: on
SQLite by editing the table's definition in `sqlite_schema` (rebuilding `cases` would
delete every event and assignment by cascade), elsewhere by dropping and adding the
check. The downgrade puts appealed cases back in progress and appealed assignments down
as escalated ones, narrows the checks the same way and drops the two columns.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-12 10:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("received", "routed", "acknowledged", "in_progress", "closed")
REASONS = ("routed", "copied_up", "escalated", "reassigned", "national_fallback")
APPEALED = "appealed"
ANSWERS = "satisfaction IN ('solved', 'not_solved')"
ANSWER_CHECK = "ck_cases_satisfaction"  # the names the naming convention gives
STATUS_CHECK = "ck_cases_status"
REASON_CHECK = "ck_case_assignments_reason"

cases = sa.table("cases", sa.column("status", sa.String))
assignments = sa.table("case_assignments", sa.column("reason", sa.String))


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _condition(column: str, values: Sequence[str]) -> str:
    return f"{column} IN (" + ", ".join(f"'{value}'" for value in values) + ")"


def _sqlite_replace_check(table: str, check: str, old: str, new: str) -> None:
    """Swap a check's text in the table's definition (a check that rows already meet)."""
    bind = op.get_bind()
    before, after = f"CONSTRAINT {check} CHECK ({old})", f"CONSTRAINT {check} CHECK ({new})"
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    try:
        changed = bind.execute(
            sa.text(
                "UPDATE sqlite_schema SET sql = replace(sql, :before, :after) "
                "WHERE type = 'table' AND name = :table AND instr(sql, :before) > 0"
            ),
            {"before": before, "after": after, "table": table},
        ).rowcount
        if changed != 1:
            raise RuntimeError(f"{table}: the check {check} is not as expected")
        bind.exec_driver_sql(f"PRAGMA schema_version={int(version or 0) + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema=OFF")
    problems = [row[0] for row in bind.exec_driver_sql("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise RuntimeError(f"{table}: the integrity check failed after changing {check}")


def _replace_check(
    table: str, check: str, column: str, old: Sequence[str], new: Sequence[str]
) -> None:
    if _sqlite():
        _sqlite_replace_check(table, check, _condition(column, old), _condition(column, new))
        return
    op.drop_constraint(op.f(check), table, type_="check")
    op.create_check_constraint(op.f(check), table, _condition(column, new))


def upgrade() -> None:
    if _sqlite():
        op.execute(
            "ALTER TABLE cases ADD COLUMN satisfaction VARCHAR(16)"
            f" CONSTRAINT {ANSWER_CHECK} CHECK ({ANSWERS})"
        )
    else:
        op.add_column("cases", sa.Column("satisfaction", sa.String(length=16), nullable=True))
        op.create_check_constraint(op.f(ANSWER_CHECK), "cases", ANSWERS)
    op.add_column("cases", sa.Column("satisfaction_at", sa.DateTime(timezone=True), nullable=True))
    _replace_check("cases", STATUS_CHECK, "status", STATUSES, (*STATUSES, APPEALED))
    _replace_check("case_assignments", REASON_CHECK, "reason", REASONS, (*REASONS, APPEALED))


def downgrade() -> None:
    op.execute(sa.update(cases).where(cases.c.status == APPEALED).values(status="in_progress"))
    op.execute(
        sa.update(assignments).where(assignments.c.reason == APPEALED).values(reason="escalated")
    )
    _replace_check("case_assignments", REASON_CHECK, "reason", (*REASONS, APPEALED), REASONS)
    _replace_check("cases", STATUS_CHECK, "status", (*STATUSES, APPEALED), STATUSES)
    if _sqlite():
        # SQLite (3.35 and later) drops a column together with its own check, in place.
        op.execute("ALTER TABLE cases DROP COLUMN satisfaction_at")
        op.execute("ALTER TABLE cases DROP COLUMN satisfaction")
    else:
        op.drop_column("cases", "satisfaction_at")
        op.drop_constraint(op.f(ANSWER_CHECK), "cases", type_="check")
        op.drop_column("cases", "satisfaction")
