"""Translation catalogs uploaded from the console, newest per language in use.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "translation_catalogs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("po", sa.Text(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_translation_catalogs")),
    )
    with op.batch_alter_table("translation_catalogs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_translation_catalogs_language"), ["language"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("translation_catalogs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_translation_catalogs_language"))
    op.drop_table("translation_catalogs")
