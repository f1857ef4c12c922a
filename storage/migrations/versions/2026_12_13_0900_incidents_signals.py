"""Incidents and signals: reports of one event grouped (`incidents`, `incident_cases`), a
duplicate pointing at the case it duplicates (`case_duplicates`), signals raised to a provincial committee (`signals`,
`signal_cases`), coordinates of places for the map (`locations.lat`, `locations.lon`), and
the outbox kinds `incident_report` and `signal`.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-13 09:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
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
    "reply",
)
NEW_KINDS = ("incident_report", "signal")

outbox = sa.table("outbox_messages", sa.column("kind", sa.String))


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _kinds(kinds: Sequence[str]) -> str:
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def _replace_kind_check(kinds: Sequence[str]) -> None:
    with op.batch_alter_table("outbox_messages", schema=None, recreate="auto") as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_messages_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_messages_kind"), _kinds(kinds))


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=10), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_report_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_incidents_location_id_locations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint("number", name=op.f("uq_incidents_number")),
    )
    op.create_index("ix_incidents_category_location_id", "incidents", ["category", "location_id"])
    op.create_table(
        "incident_cases",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("linked_by", sa.String(length=64), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('suggested', 'confirmed')", name=op.f("ck_incident_cases_state")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_incident_cases_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_cases_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_incident_cases")),
    )
    op.create_index(op.f("ix_incident_cases_incident_id"), "incident_cases", ["incident_id"])
    op.create_table(
        "case_duplicates",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("original_id", sa.Integer(), nullable=False),
        sa.Column("marked_by", sa.String(length=64), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_duplicates_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["original_id"],
            ["cases.id"],
            name=op.f("fk_case_duplicates_original_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_duplicates")),
    )
    op.create_index(op.f("ix_case_duplicates_original_id"), "case_duplicates", ["original_id"])
    if _sqlite():
        # In place: rebuilding `locations` is not needed for two nullable columns.
        op.execute("ALTER TABLE locations ADD COLUMN lat FLOAT")
        op.execute("ALTER TABLE locations ADD COLUMN lon FLOAT")
    else:
        op.add_column("locations", sa.Column("lat", sa.Float(), nullable=True))
        op.add_column("locations", sa.Column("lon", sa.Float(), nullable=True))
    op.create_table(
        "signals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("territory_id", sa.Integer(), nullable=True),
        sa.Column("committee_id", sa.Integer(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("baseline_mean", sa.Float(), nullable=True),
        sa.Column("baseline_sd", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note_enc", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint("rule IN ('threshold', 'absolute')", name=op.f("ck_signals_rule")),
        sa.CheckConstraint(
            "status IN ('open', 'acknowledged', 'closed')", name=op.f("ck_signals_status")
        ),
        sa.ForeignKeyConstraint(
            ["territory_id"], ["locations.id"], name=op.f("fk_signals_territory_id_locations")
        ),
        sa.ForeignKeyConstraint(
            ["committee_id"], ["committees.id"], name=op.f("fk_signals_committee_id_committees")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signals")),
        sa.UniqueConstraint("key", name=op.f("uq_signals_key")),
    )
    op.create_index(op.f("ix_signals_territory_id"), "signals", ["territory_id"])
    op.create_index(op.f("ix_signals_committee_id"), "signals", ["committee_id"])
    op.create_index("ix_signals_status_raised_at", "signals", ["status", "raised_at"])
    op.create_table(
        "signal_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("signal_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["signal_id"],
            ["signals.id"],
            name=op.f("fk_signal_cases_signal_id_signals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_signal_cases_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signal_cases")),
        sa.UniqueConstraint("signal_id", "case_id", name=op.f("uq_signal_cases_signal_id")),
    )
    op.create_index(op.f("ix_signal_cases_case_id"), "signal_cases", ["case_id"])
    _replace_kind_check((*KINDS, *NEW_KINDS))


def downgrade() -> None:
    # The old check cannot hold rows of the new kinds.
    op.execute(sa.delete(outbox).where(outbox.c.kind.in_(NEW_KINDS)))
    _replace_kind_check(KINDS)
    op.drop_index(op.f("ix_signal_cases_case_id"), table_name="signal_cases")
    op.drop_table("signal_cases")
    op.drop_index("ix_signals_status_raised_at", table_name="signals")
    op.drop_index(op.f("ix_signals_committee_id"), table_name="signals")
    op.drop_index(op.f("ix_signals_territory_id"), table_name="signals")
    op.drop_table("signals")
    if _sqlite():
        op.execute("ALTER TABLE locations DROP COLUMN lon")
        op.execute("ALTER TABLE locations DROP COLUMN lat")
    else:
        op.drop_column("locations", "lon")
        op.drop_column("locations", "lat")
    op.drop_index(op.f("ix_case_duplicates_original_id"), table_name="case_duplicates")
    op.drop_table("case_duplicates")
    op.drop_index(op.f("ix_incident_cases_incident_id"), table_name="incident_cases")
    op.drop_table("incident_cases")
    op.drop_index("ix_incidents_category_location_id", table_name="incidents")
    op.drop_table("incidents")
