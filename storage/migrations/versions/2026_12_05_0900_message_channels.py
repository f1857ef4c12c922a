"""Committee members are reached by SMS or WhatsApp, and each outbox message says how it went.

`committee_members.channel` ('sms' or 'whatsapp', 'sms' for every existing member);
`outbox_messages.channel` (how the message is meant to go, then how it went; 'sms' for every
existing message) and `outbox_messages.channel_note` (why a message meant for WhatsApp went
by SMS instead).

On SQLite the member's column is added in place, its check with it: rebuilding
`committee_members` would mean dropping a table the outbox references, which SQLite
refuses while foreign keys are enforced. The outbox table is rebuilt for its check, as
0008 did.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 09:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNELS = "channel IN ('sms', 'whatsapp')"
MEMBER_CHECK = "ck_committee_members_channel"  # the name the naming convention gives


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _channel() -> sa.Column[str]:
    return sa.Column("channel", sa.String(length=16), server_default="sms", nullable=False)


def upgrade() -> None:
    if _sqlite():
        op.execute(
            "ALTER TABLE committee_members ADD COLUMN channel VARCHAR(16) DEFAULT 'sms' NOT NULL"
            f" CONSTRAINT {MEMBER_CHECK} CHECK ({CHANNELS})"
        )
    else:
        op.add_column("committee_members", _channel())
        op.create_check_constraint(op.f(MEMBER_CHECK), "committee_members", CHANNELS)
    with op.batch_alter_table("outbox_messages", schema=None, recreate="auto") as batch_op:
        batch_op.add_column(_channel())
        batch_op.add_column(sa.Column("channel_note", sa.String(length=120), nullable=True))
        batch_op.create_check_constraint(op.f("ck_outbox_messages_channel"), CHANNELS)


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None, recreate="auto") as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_messages_channel"), type_="check")
        batch_op.drop_column("channel_note")
        batch_op.drop_column("channel")
    if _sqlite():
        # SQLite (3.35 and later) drops a column together with its own check, in place.
        op.execute("ALTER TABLE committee_members DROP COLUMN channel")
    else:
        op.drop_constraint(op.f(MEMBER_CHECK), "committee_members", type_="check")
        op.drop_column("committee_members", "channel")
