"""`sauti import committees FILE.yaml`: a good file creates and updates by code; a bad one
is refused whole, each problem named by line and field, and nothing is written. A fresh
database gets the demo committees."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway import cli
from gateway.settings import Settings
from storage.models import Committee, CommitteeMember
from tests.conftest import ENCRYPTION_KEY, PSEUDONYM_KEY

GOOD = """\
- code: walikale-local
  name: Walikale committee, renamed
  level: local
  location: cd-nk-walikale
  categories: all
  language: sw
  timezone: Africa/Lubumbashi
  digest_at: "19:00"
  members:
    - {name: New focal point, phone: "+243 81 000 0009", language: fr}
- code: masisi-local
  name: Masisi local committee
  level: local
  location: cd-nk-masisi
  categories: [mineral_fraud, illegal_tax]
  language: sw
  timezone: Africa/Lubumbashi
  ack_deadlines: {critical: 90m}
  digest_at: "18:00"
  members:
    - {name: Rubaya focal point, phone: "+243 81 000 0010"}
"""

BAD = """\
- code: masisi-local
  name: Masisi local committee
  level: local
  location: cd-nk-nowhere
  language: sw
  timezone: Africa/Lubumbashi
  digest_at: "25:00"
  members:
    - {name: Rubaya focal point, phone: "12"}
"""


@pytest.fixture
def run(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    cli.prepare(settings)
    for name, value in {
        "DATABASE_URL": settings.db_url,
        "SAUTI_VAR_DIR": str(settings.sauti_var_dir),
        "SAUTI_PSEUDONYM_KEY": PSEUDONYM_KEY,
        "SAUTI_ENCRYPTION_KEY": ENCRYPTION_KEY,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(cli, "setup_logging", lambda level: None)
    return CliRunner()


def committees(db: sessionmaker[Session]) -> dict[str, tuple[str, str, list[str]]]:
    with db() as session:
        return {
            c.code: (c.name, c.digest_at, [m.phone for m in c.members if m.active])
            for c in session.scalars(select(Committee))
        }


def test_demo_committees_are_loaded_into_a_fresh_database(
    run: CliRunner, db: sessionmaker[Session]
) -> None:
    found = committees(db)
    assert len(found) == 13
    assert found["walikale-local"][2] == ["+243810000001", "+243810000002"]


def test_import_creates_and_updates_by_code(
    run: CliRunner, tmp_path: Path, db: sessionmaker[Session]
) -> None:
    path = tmp_path / "committees.yaml"
    path.write_text(GOOD)
    result = run.invoke(cli.main, ["import", "committees", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "1 committees created, 1 updated, 0 unchanged"
    found = committees(db)
    assert found["walikale-local"] == ("Walikale committee, renamed", "19:00", ["+243810000009"])
    assert found["masisi-local"][2] == ["+243810000010"]
    with db() as session:
        old = session.scalar(
            select(CommitteeMember).where(CommitteeMember.phone == "+243810000001")
        )
        assert old is not None
        assert old.active is False
    again = run.invoke(cli.main, ["import", "committees", str(path)])
    assert again.output.strip() == "0 committees created, 0 updated, 2 unchanged"


def test_a_bad_file_is_refused_whole_with_line_and_field(
    run: CliRunner, tmp_path: Path, db: sessionmaker[Session]
) -> None:
    before = committees(db)
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD + BAD)
    result = run.invoke(cli.main, ["import", "committees", str(path)])
    assert result.exit_code != 0
    lines = result.output.splitlines()
    assert "line 25, location: unknown location 'cd-nk-nowhere'" in lines
    assert 'line 28, digest_at: a local time "HH:MM"' in lines
    assert any(line.startswith("line 30, members.phone:") for line in lines)
    assert "nothing imported" in result.output
    assert committees(db) == before
