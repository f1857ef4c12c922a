"""`sauti admin create-user`: the password from standard input, weak ones refused."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session, sessionmaker

from gateway import cli
from storage.models import User
from storage.settings import Settings
from storage.users import audit_entries


def _users(db: sessionmaker[Session]) -> list[tuple[str, str]]:
    with db() as session:
        return [(u.username, u.role) for u in session.query(User).order_by(User.id)]


def test_create_user_reads_the_password_from_stdin(
    run_cli: CliRunner, db: sessionmaker[Session]
) -> None:
    result = run_cli.invoke(
        cli.main,
        ["admin", "create-user", "cora", "--role", "coordinator"],
        input="a long passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert "created coordinator cora" in result.output
    assert _users(db) == [("cora", "coordinator")]
    with db() as session:
        user = session.query(User).one()
        [entry] = audit_entries(session=session, action="user.create")
    assert user.password_hash.startswith("$argon2id$")
    assert "a long passphrase" not in user.password_hash
    assert (entry.actor, entry.target, entry.data) == ("cli", "cora", {"role": "coordinator"})


def test_created_user_can_get_a_token(
    run_cli: CliRunner, settings: Settings, db: sessionmaker[Session]
) -> None:
    from fastapi.testclient import TestClient

    from gateway.app import create_app

    run_cli.invoke(
        cli.main, ["admin", "create-user", "ana", "--role", "analyst"], input="a long passphrase\n"
    )
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/api/v1/auth/token", data={"username": "ana", "password": "a long passphrase"}
        )
    assert response.status_code == 200


def test_weak_password_is_refused_with_a_clear_message(
    run_cli: CliRunner, db: sessionmaker[Session]
) -> None:
    result = run_cli.invoke(
        cli.main, ["admin", "create-user", "ada", "--role", "admin"], input="short\n"
    )
    assert result.exit_code == 1
    assert "too short: use at least 12 characters" in result.output
    assert _users(db) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Bad Name", "--role", "admin"], "a username is 2 to 64 characters"),
        (["ada", "--role", "root"], "Invalid value for '--role'"),
    ],
)
def test_bad_name_or_role_is_refused(
    run_cli: CliRunner, db: sessionmaker[Session], args: list[str], message: str
) -> None:
    result = run_cli.invoke(cli.main, ["admin", "create-user", *args], input="a long passphrase\n")
    assert result.exit_code != 0
    assert message in result.output
    assert _users(db) == []


def test_taken_name_is_refused(run_cli: CliRunner, db: sessionmaker[Session]) -> None:
    args = ["admin", "create-user", "ada", "--role", "admin"]
    assert run_cli.invoke(cli.main, args, input="a long passphrase\n").exit_code == 0
    result = run_cli.invoke(cli.main, args, input="another passphrase\n")
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert _users(db) == [("ada", "admin")]
