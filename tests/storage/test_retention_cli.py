"""`sauti retention run` and `sauti keys ...` against the suite's database."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway import cli
from storage import cases
from storage.db import make_engine, make_sessionmaker, utcnow
from storage.keys import load_crypto
from storage.models import Case, CommitteeMember
from storage.privacy import Crypto
from storage.settings import Settings
from tests.conftest import ENCRYPTION_KEY

NEW_KEY = "q1f3bM0m8oQ2n0lJ7XlE5v0QeG2tq8cRr8m3yO9pB6Y="
NEW_PSEUDONYM_KEY = "a-brand-new-pseudonym-key-0123456789abcdef"
REPORTER = "+243990000042"


@pytest.fixture
def sessions(settings: Settings, run_cli: CliRunner) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings.db_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def _file_closed_case(sessions: sessionmaker[Session], crypto: Crypto, days_ago: int) -> int:
    closed = utcnow() - timedelta(days=days_ago)
    with sessions.begin() as session:
        case = cases.create_report(
            session=session,
            crypto=crypto,
            pseudonym=crypto.pseudonym(REPORTER),
            channel="sms",
            language="fr",
            answers={"category": "accident", "when": "today", "description": "a wall fell"},
            contact_e164=None,
            flow_version="v1",
            rng=random.Random(days_ago),
            now=closed - timedelta(days=3),
        )
        cases.close_case(
            session=session,
            crypto=crypto,
            case=case,
            actor="user:a",
            outcome="resolved",
            note="done",
            now=closed,
        )
        return case.id


def test_retention_run_counts_in_a_dry_run_then_purges(
    run_cli: CliRunner, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    case_id = _file_closed_case(sessions, load_crypto(settings), days_ago=400)
    _file_closed_case(sessions, load_crypto(settings), days_ago=5)

    dry = run_cli.invoke(cli.main, ["retention", "run", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "1 cases closed before" in dry.output
    assert "would be purged: 1 event texts, 0 SMS" in dry.output
    with sessions() as session:
        assert session.get_one(Case, case_id).description_enc is not None

    run = run_cli.invoke(cli.main, ["retention", "run"])
    assert run.exit_code == 0, run.output
    assert "purged: 1 event texts, 0 SMS" in run.output
    with sessions() as session:
        assert session.get_one(Case, case_id).description_enc is None

    again = run_cli.invoke(cli.main, ["retention", "run"])
    assert again.output.startswith("0 cases closed before")


def test_retention_refuses_a_period_under_thirty_days(
    run_cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAUTI_RETENTION_DAYS", "7")

    result = run_cli.invoke(cli.main, ["retention", "run"])

    assert result.exit_code == 1
    assert "SAUTI_RETENTION_DAYS: Input should be greater than or equal to 30" in result.output
    assert "Traceback" not in result.output


def test_rotate_encryption_rewrites_then_finds_everything_current(
    run_cli: CliRunner,
    settings: Settings,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case_id = _file_closed_case(sessions, load_crypto(settings), days_ago=1)
    monkeypatch.setenv("SAUTI_ENCRYPTION_KEY", f"{NEW_KEY},{ENCRYPTION_KEY}")

    first = run_cli.invoke(cli.main, ["keys", "rotate-encryption"])
    assert first.exit_code == 0, first.output
    assert "cases: 1 rewritten, 0 already current, 0 unreadable" in first.output
    assert "case_events: 1 rewritten" in first.output
    assert "the other keys can be removed" in first.output

    monkeypatch.setenv("SAUTI_ENCRYPTION_KEY", NEW_KEY)
    second = run_cli.invoke(cli.main, ["keys", "rotate-encryption"])
    assert "cases: 0 rewritten, 1 already current" in second.output
    new_only = Crypto(settings.sauti_pseudonym_key.encode(), NEW_KEY)
    with sessions() as session:
        token = session.get_one(Case, case_id).description_enc
        assert token is not None
        assert new_only.decrypt(token) == "a wall fell"


def test_rotate_encryption_without_the_old_key_says_what_to_do(
    run_cli: CliRunner,
    settings: Settings,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _file_closed_case(sessions, load_crypto(settings), days_ago=1)
    monkeypatch.setenv("SAUTI_ENCRYPTION_KEY", NEW_KEY)

    result = run_cli.invoke(cli.main, ["keys", "rotate-encryption"])

    assert result.exit_code == 1
    assert "cases: 0 rewritten, 0 already current, 1 unreadable" in result.output
    assert "put the old key back" in result.output


def test_rotate_pseudonym_needs_confirmation_and_runs_once(
    run_cli: CliRunner,
    settings: Settings,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAUTI_PSEUDONYM_KEY", NEW_PSEUDONYM_KEY)

    unconfirmed = run_cli.invoke(cli.main, ["keys", "rotate-pseudonym"])
    assert unconfirmed.exit_code == 2
    assert "add --yes" in unconfirmed.output

    done = run_cli.invoke(cli.main, ["keys", "rotate-pseudonym", "--yes"])
    assert done.exit_code == 0, done.output
    assert "member pseudonyms recomputed" in done.output
    new = Crypto(NEW_PSEUDONYM_KEY.encode(), ENCRYPTION_KEY)
    with sessions() as session:
        members = list(session.scalars(select(CommitteeMember)))
    assert members
    assert all(m.phone_pseudonym == new.pseudonym(m.phone) for m in members)

    again = run_cli.invoke(cli.main, ["keys", "rotate-pseudonym", "--yes"])
    assert again.exit_code == 1
    assert "nothing changed" in again.output


@pytest.mark.parametrize(
    ("name", "value"),
    [("SAUTI_ENCRYPTION_KEY", "not-a-fernet-key"), ("SAUTI_PSEUDONYM_KEY", "too-short")],
)
def test_a_malformed_key_is_reported_without_a_traceback(
    run_cli: CliRunner, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)

    result = run_cli.invoke(cli.main, ["keys", "rotate-encryption"])

    assert result.exit_code == 1
    assert "invalid key" in result.output
    assert value not in result.output
