"""Reports made by WhatsApp: `cases.channel` may be 'whatsapp'.

The check on `cases.channel` is widened. SQLite cannot change a check in place, and
rebuilding `cases` is out of the question while foreign keys are enforced: dropping the
table would delete, by cascade, every event and assignment of every case. So on SQLite the
table's definition is edited in `sqlite_schema` by SQLite's documented procedure for
loosening a constraint (https://www.sqlite.org/lang_altertable.html, "otheralter"): the
rows already satisfy the wider check, nothing on disk changes. The downgrade files
WhatsApp reports under SMS, then narrows the check the same way.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-09 09:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECK = "ck_cases_channel"  # the name the naming convention gives
BEFORE = ("ussd", "sms", "web")
AFTER = (*BEFORE, "whatsapp")

cases = sa.table("cases", sa.column("channel", sa.String))


def _condition(channels: Sequence[str]) -> str:
    return "channel IN (" + ", ".join(f"'{channel}'" for channel in channels) + ")"


def _sqlite_replace_check(old: Sequence[str], new: Sequence[str]) -> None:
    """Swap the check's text in the table's definition (a check that rows already meet)."""
    bind = op.get_bind()
    before = f"CONSTRAINT {CHECK} CHECK ({_condition(old)})"
    after = f"CONSTRAINT {CHECK} CHECK ({_condition(new)})"
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    try:
        changed = bind.execute(
            sa.text(
                "UPDATE sqlite_schema SET sql = replace(sql, :before, :after) "
                "WHERE type = 'table' AND name = 'cases' AND instr(sql, :before) > 0"
            ),
            {"before": before, "after": after},
        ).rowcount
        if changed != 1:
            raise RuntimeError(f"cases: the check {CHECK} is not as revision 0001 made it")
        bind.exec_driver_sql(f"PRAGMA schema_version={int(version or 0) + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema=OFF")
    problems = [row[0] for row in bind.exec_driver_sql("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise RuntimeError("cases: the integrity check failed after widening " + CHECK)


def _replace_check(old: Sequence[str], new: Sequence[str]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_replace_check(old, new)
        return
    op.drop_constraint(op.f(CHECK), "cases", type_="check")
    op.create_check_constraint(op.f(CHECK), "cases", _condition(new))


def upgrade() -> None:
    _replace_check(BEFORE, AFTER)


def downgrade() -> None:
    op.execute(sa.update(cases).where(cases.c.channel == "whatsapp").values(channel="sms"))
    _replace_check(AFTER, BEFORE)
