"""The audit log refuses UPDATE and DELETE in the database itself.

`storage.users` has no function that changes an entry; these triggers also stop any other
code, or a hand-typed statement, from rewriting history. TRUNCATE is not a row change and
stays with the table's owner: run the service as a role that may only INSERT and SELECT
on `audit_entries` to rule that out too.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 01:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "the audit log is append-only: entries cannot be changed or removed"

_POSTGRES_UP = (
    f"""
    CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGE}';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_entries_append_only
    BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()
    """,
)
_POSTGRES_DOWN = (
    "DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries",
    "DROP FUNCTION IF EXISTS audit_entries_append_only()",
)
_SQLITE_UP = tuple(
    f"""
    CREATE TRIGGER audit_entries_no_{verb.lower()} BEFORE {verb} ON audit_entries
    BEGIN
        SELECT RAISE(ABORT, '{MESSAGE}');
    END
    """
    for verb in ("UPDATE", "DELETE")
)
_SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS audit_entries_no_update",
    "DROP TRIGGER IF EXISTS audit_entries_no_delete",
)


def _run(postgres: Sequence[str], sqlite: Sequence[str]) -> None:
    dialect = op.get_bind().dialect.name
    statements = {"postgresql": postgres, "sqlite": sqlite}.get(dialect, ())
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    _run(_POSTGRES_UP, _SQLITE_UP)


def downgrade() -> None:
    _run(_POSTGRES_DOWN, _SQLITE_DOWN)
