"""Answers to an inbound SMS go out through the outbox: the outbox kind `reply`.

Africa's Talking takes no answer in its inbound SMS webhook's response, so the answer to
such an SMS (a conversation screen, a keyword's or a command's answer) is an outbox row of
its own kind.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 09:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = (
    "alert",
    "digest",
    "command_reply",
    "reporter_message",
    "closing",
    "escalation",
    "confirmation",
    "info_alert",
)
NEW_KINDS = ("reply",)

outbox = sa.table("outbox_messages", sa.column("kind", sa.String))


def _kinds(kinds: Sequence[str]) -> str:
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def _replace_kind_check(kinds: Sequence[str]) -> None:
    with op.batch_alter_table("outbox_messages", schema=None, recreate="auto") as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_messages_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_messages_kind"), _kinds(kinds))


def upgrade() -> None:
    _replace_kind_check((*KINDS, *NEW_KINDS))


def downgrade() -> None:
    # The old check cannot hold rows of the new kind.
    op.execute(sa.delete(outbox).where(outbox.c.kind.in_(NEW_KINDS)))
    _replace_kind_check(KINDS)
