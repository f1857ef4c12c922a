"""Users' scopes and work queues: `user_scopes` (a coordinator or analyst limited to some
committees, or to a place and everything under it) and `users.queue_seen_at` (when the
user last opened their queue, for the "new since your last visit" marks).

Existing users get no scope rows, so they keep seeing everything. The column is added in
place (nullable, no constraint), on SQLite too; the downgrade drops both and keeps every
user.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-14 09:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("queue_seen_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "user_scopes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("committee_id", sa.Integer(), nullable=True),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(committee_id IS NULL) <> (location_id IS NULL)",
            name=op.f("ck_user_scopes_committee_or_place"),
        ),
        sa.ForeignKeyConstraint(
            ["committee_id"],
            ["committees.id"],
            name=op.f("fk_user_scopes_committee_id_committees"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_user_scopes_location_id_locations")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_scopes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_scopes")),
    )
    op.create_index(op.f("ix_user_scopes_user_id"), "user_scopes", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_user_scopes_user_id"), table_name="user_scopes")
    op.drop_table("user_scopes")
    op.drop_column("users", "queue_seen_at")
