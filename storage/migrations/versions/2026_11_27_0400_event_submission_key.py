"""A unique submission key on case events: information added by a hop is added once, even
when the same hop arrives twice at the same instant in two processes.

Until now the key lived in the event's JSON data and was looked up before the insert,
which two simultaneous requests could both pass. Existing keys move into the new column;
should the same key already be on several events (that race), the earliest keeps it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 04:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

events = sa.table(
    "case_events",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("data", sa.JSON),
    sa.column("submission_key", sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submission_key", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(events.c.id, events.c.data)
        .where(events.c.kind == "info_added")
        .order_by(events.c.id)
    )
    seen: set[str] = set()
    for event_id, data in rows.all():
        key = (data or {}).get("submission")
        if isinstance(key, str) and key and key not in seen:
            seen.add(key)
            conn.execute(
                sa.update(events).where(events.c.id == event_id).values(submission_key=key)
            )
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_case_events_submission_key", ["submission_key"])


def downgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(events.c.id, events.c.data, events.c.submission_key).where(
            events.c.submission_key.is_not(None)
        )
    )
    for event_id, data, key in rows.all():
        conn.execute(
            sa.update(events)
            .where(events.c.id == event_id)
            .values(data={**(data or {}), "submission": key})
        )
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_constraint("uq_case_events_submission_key", type_="unique")
        batch_op.drop_column("submission_key")
