"""Reporters get their case number by SMS, and focal points hear about added information.

Two outbox kinds (`confirmation`, `info_alert`) and `case_events.notified_at`, set once the
committees were told of added information; the sweep looks for it unset. Information added
before this revision counts as told, so upgrading sends no alerts about old events.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 08:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("alert", "digest", "command_reply", "reporter_message", "closing", "escalation")
NEW_KINDS = ("confirmation", "info_alert")

outbox = sa.table("outbox_messages", sa.column("kind", sa.String))
events = sa.table(
    "case_events",
    sa.column("kind", sa.String),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("notified_at", sa.DateTime(timezone=True)),
)


def _kinds(kinds: Sequence[str]) -> str:
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def _replace_kind_check(kinds: Sequence[str]) -> None:
    with op.batch_alter_table("outbox_messages", schema=None, recreate="auto") as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_messages_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_messages_kind"), _kinds(kinds))


def upgrade() -> None:
    _replace_kind_check((*KINDS, *NEW_KINDS))
    op.add_column(
        "case_events", sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute(
        sa.update(events).where(events.c.kind == "info_added").values(notified_at=events.c.at)
    )
    op.create_index(
        "ix_case_events_kind_notified_at", "case_events", ["kind", "notified_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_case_events_kind_notified_at", table_name="case_events")
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_column("notified_at")
    # The old check cannot hold rows of the new kinds.
    op.execute(sa.delete(outbox).where(outbox.c.kind.in_(NEW_KINDS)))
    _replace_kind_check(KINDS)
