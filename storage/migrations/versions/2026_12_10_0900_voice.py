"""The voice line: its audio prompts (`voice_prompts`), and `cases.channel` may be 'voice'.

The check on `cases.channel` is widened as revision 0011 widened it: on SQLite by editing
the table's definition in `sqlite_schema` (SQLite's documented procedure for loosening a
constraint, https://www.sqlite.org/lang_altertable.html, "otheralter"), since rebuilding
`cases` would delete every event and assignment by cascade; elsewhere by dropping and
adding the check. The downgrade files voice reports under USSD (the same menus, answered
with keys), then narrows the check the same way, and drops the prompts.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10 09:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECK = "ck_cases_channel"  # the name the naming convention gives
BEFORE = ("ussd", "sms", "web", "whatsapp")
AFTER = (*BEFORE, "voice")

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
            raise RuntimeError(f"cases: the check {CHECK} is not as revision 0011 left it")
        bind.exec_driver_sql(f"PRAGMA schema_version={int(version or 0) + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema=OFF")
    problems = [row[0] for row in bind.exec_driver_sql("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise RuntimeError("cases: the integrity check failed after changing " + CHECK)


def _replace_check(old: Sequence[str], new: Sequence[str]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_replace_check(old, new)
        return
    op.drop_constraint(op.f(CHECK), "cases", type_="check")
    op.create_check_constraint(op.f(CHECK), "cases", _condition(new))


def upgrade() -> None:
    op.create_table(
        "voice_prompts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("file", sa.String(length=40), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("context", sa.String(length=12), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("audio", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("loudness_lufs", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.CheckConstraint("source IN ('tts', 'recorded')", name=op.f("ck_voice_prompts_source")),
        sa.CheckConstraint(
            "status IN ('draft', 'published')", name=op.f("ck_voice_prompts_status")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_voice_prompts_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_prompts")),
        sa.UniqueConstraint("language", "file", "status", name=op.f("uq_voice_prompts_language")),
    )
    _replace_check(BEFORE, AFTER)


def downgrade() -> None:
    op.execute(sa.update(cases).where(cases.c.channel == "voice").values(channel="ussd"))
    _replace_check(AFTER, BEFORE)
    op.drop_table("voice_prompts")
