"""Spoken answers of the voice line (`call_recordings`): a caller's recording, encrypted.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-11 09:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call_recordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=True),
        sa.Column("dedupe_key", sa.String(length=64), nullable=True),
        sa.Column("url_enc", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("audio_enc", sa.LargeBinary(), nullable=True),
        sa.Column("content_type", sa.String(length=32), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=64), nullable=True),
        sa.Column("provider_deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("provider_deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider_note", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'stored', 'failed', 'erased')",
            name=op.f("ck_call_recordings_status"),
        ),
        sa.CheckConstraint(
            "provider IN ('console', 'twilio', 'africastalking')",
            name=op.f("ck_call_recordings_provider"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_call_recordings_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_recordings")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_call_recordings_dedupe_key")),
        sa.UniqueConstraint("ref", name=op.f("uq_call_recordings_ref")),
    )
    op.create_index(
        op.f("ix_call_recordings_case_id"), "call_recordings", ["case_id"], unique=False
    )
    op.create_index(
        "ix_call_recordings_status_created_at",
        "call_recordings",
        ["status", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_call_recordings_status_created_at", table_name="call_recordings")
    op.drop_index(op.f("ix_call_recordings_case_id"), table_name="call_recordings")
    op.drop_table("call_recordings")
