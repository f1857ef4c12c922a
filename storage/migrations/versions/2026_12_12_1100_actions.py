"""Actions a committee takes on a case (`case_actions`): who owns it, what (encrypted), when
it is due, and who marked it done or verified it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-12 11:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("committee_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("what_enc", sa.LargeBinary(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("missed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.String(length=64), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verified_by", sa.String(length=64), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('planned', 'done', 'verified', 'missed')",
            name=op.f("ck_case_actions_status"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_actions_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["committee_id"],
            ["committees.id"],
            name=op.f("fk_case_actions_committee_id_committees"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_actions")),
        sa.UniqueConstraint("case_id", "n", name=op.f("uq_case_actions_case_id")),
    )
    op.create_index(
        op.f("ix_case_actions_committee_id"), "case_actions", ["committee_id"], unique=False
    )
    op.create_index(
        "ix_case_actions_status_due_on", "case_actions", ["status", "due_on"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_case_actions_status_due_on", table_name="case_actions")
    op.drop_index(op.f("ix_case_actions_committee_id"), table_name="case_actions")
    op.drop_table("case_actions")
