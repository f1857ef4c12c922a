"""`sauti admin create-user --committee/--place` and `sauti admin scope`: a user's scope set,
replaced and cleared from the command line, each change audited, unknown codes refused."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session, sessionmaker

from gateway import cli
from storage.models import Location, User
from storage.users import Scope, audit_entries, scope_of

PASSWORD = "a long passphrase\n"


def _scope(db: sessionmaker[Session], name: str) -> Scope:
    with db() as session:
        user = session.query(User).filter_by(username=name).one()
        return scope_of(session=session, user=user)


def _create(run_cli: CliRunner, *args: str) -> str:
    result = run_cli.invoke(cli.main, ["admin", "create-user", *args], input=PASSWORD)
    assert result.exit_code == 0, result.output
    return result.output


def test_create_user_with_a_place_scopes_them_to_it_and_is_audited(
    run_cli: CliRunner, db: sessionmaker[Session]
) -> None:
    output = _create(run_cli, "nk", "--role", "coordinator", "--place", "cd-nk")
    assert "created coordinator nk, who sees North Kivu and everything under it" in output
    with db() as session:
        path = session.query(Location.path).filter_by(code="cd-nk").scalar()
        [entry] = audit_entries(session=session, action="user.create")
    assert _scope(db, "nk").place_path == path
    assert entry.data == {"role": "coordinator", "place": "cd-nk"}


def test_create_user_with_committees_scopes_them_to_those(
    run_cli: CliRunner, db: sessionmaker[Session]
) -> None:
    _create(
        run_cli,
        "wk",
        "--role",
        "analyst",
        "--committee",
        "walikale-local",
        "--committee",
        "north-kivu-provincial",
    )
    scope = _scope(db, "wk")
    assert len(scope.committee_ids) == 2
    assert scope.place_path is None


def test_scope_replaces_then_clears_each_change_audited(
    run_cli: CliRunner, db: sessionmaker[Session]
) -> None:
    _create(run_cli, "cora", "--role", "coordinator")
    assert _scope(db, "cora").everything
    result = run_cli.invoke(cli.main, ["admin", "scope", "cora", "--committee", "uvira-local"])
    assert result.exit_code == 0, result.output
    assert "cora now sees Uvira" in result.output
    assert len(_scope(db, "cora").committee_ids) == 1
    result = run_cli.invoke(cli.main, ["admin", "scope", "cora", "--place", "cd-sk"])
    assert result.exit_code == 0, result.output
    assert _scope(db, "cora").committee_ids == frozenset()
    result = run_cli.invoke(cli.main, ["admin", "scope", "cora", "--clear"])
    assert result.exit_code == 0, result.output
    assert "cora now sees everything" in result.output
    assert _scope(db, "cora").everything
    with db() as session:
        entries = audit_entries(session=session, action="user.scope")
    assert [e.data for e in reversed(entries)] == [
        {"committees": ["uvira-local"]},
        {"place": "cd-sk"},
        {"cleared": True},
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--committee", "nowhere-local"], "no committee has the code 'nowhere-local'"),
        (["--place", "cd-zz"], "no place has the code 'cd-zz'"),
        (["--place", "cd-nk", "--committee", "walikale-local"], "some committees or one place"),
        (["--place", "cd-nk", "--clear"], "give --committee or --place, or --clear alone"),
        ([], "give --committee or --place, or --clear alone"),
    ],
)
def test_bad_scopes_are_refused_with_a_clear_message(
    run_cli: CliRunner, db: sessionmaker[Session], args: list[str], message: str
) -> None:
    _create(run_cli, "cora", "--role", "coordinator")
    result = run_cli.invoke(cli.main, ["admin", "scope", "cora", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert _scope(db, "cora").everything


def test_unknown_user_and_scoped_admin_are_refused(
    run_cli: CliRunner, db: sessionmaker[Session]
) -> None:
    result = run_cli.invoke(cli.main, ["admin", "scope", "ghost", "--place", "cd-nk"])
    assert result.exit_code == 1
    assert "no user is named 'ghost'" in result.output
    result = run_cli.invoke(
        cli.main,
        ["admin", "create-user", "ada", "--role", "admin", "--place", "cd-nk"],
        input=PASSWORD,
    )
    assert result.exit_code == 1
    assert "an admin sees everything" in result.output
    with db() as session:
        assert session.query(User).count() == 0


def test_help_texts_say_what_the_options_do(run_cli: CliRunner) -> None:
    result = run_cli.invoke(cli.main, ["admin", "scope", "--help"])
    assert result.exit_code == 0
    for text in ("--committee CODE", "--place CODE", "--clear", "everything under it"):
        assert text in result.output
    result = run_cli.invoke(cli.main, ["admin", "create-user", "--help"])
    assert "--committee CODE" in result.output
