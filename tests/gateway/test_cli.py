"""The `sauti` command: importing places and committees, linting flows, dialling in the
terminal."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway import cli
from storage.keys import load_crypto
from storage.models import Case, Committee, CommitteeMember, Location
from storage.prefs import set_language
from storage.settings import Settings

PLACES = """\
code,name,parent_code,level
cd-sk-shabunda,Shabunda,cd-sk,territory
cd-sk-shabunda-lulingu,Lulingu,cd-sk-shabunda,site
"""

BROKEN = """\
flow: status
nodes:
  number:
    kind: menu
    text: Pick
    options:
      - {label: Go, goto: nowhere}
"""


def test_import_locations_adds_places_under_the_demo_tree(
    run_cli: CliRunner, tmp_path: Path, db: sessionmaker[Session]
) -> None:
    path = tmp_path / "places.csv"
    path.write_text(PLACES)
    result = run_cli.invoke(cli.main, ["import", "locations", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 places created" in result.output
    with db() as session:
        rubaya = session.scalars(
            select(Location).where(Location.code == "cd-sk-shabunda-lulingu")
        ).one()
    assert rubaya.path.endswith("/cd-sk/cd-sk-shabunda/cd-sk-shabunda-lulingu/")


def test_a_bad_locations_file_is_refused_whole(
    run_cli: CliRunner, tmp_path: Path, db: sessionmaker[Session]
) -> None:
    path = tmp_path / "places.csv"
    path.write_text(PLACES + "cd-sk-ghost,Ghost,cd-sk-nowhere,site\n")
    result = run_cli.invoke(cli.main, ["import", "locations", str(path)])
    assert result.exit_code == 1
    assert "nothing imported" in result.output
    assert "line 4" in result.output
    with db() as session:
        assert (
            session.scalars(select(Location).where(Location.code == "cd-sk-shabunda")).first()
            is None
        )


def test_flows_lint_passes_on_the_shipped_flows(run_cli: CliRunner) -> None:
    result = run_cli.invoke(cli.main, ["flows", "lint", "--languages", "en,fr"])
    assert result.exit_code == 0, result.output


def test_flows_lint_fails_on_a_broken_flow(run_cli: CliRunner, tmp_path: Path) -> None:
    broken = tmp_path / "status.yaml"
    broken.write_text(BROKEN)
    result = run_cli.invoke(cli.main, ["flows", "lint", str(broken), "--languages", "en"])
    assert result.exit_code == 1
    assert "nowhere" in result.output


def test_flows_lint_and_publish_refuse_a_flow_nested_too_deep(
    run_cli: CliRunner, tmp_path: Path
) -> None:
    deep = tmp_path / "status.yaml"
    deep.write_text("nodes: " + "[" * 5000 + "]" * 5000)
    linted = run_cli.invoke(cli.main, ["flows", "lint", str(deep), "--languages", "en"])
    assert linted.exit_code == 1
    assert "status.yaml: not valid YAML: line 1: nested deeper than 64 levels" in linted.output
    published = run_cli.invoke(cli.main, ["flows", "publish", str(deep)])
    assert published.exit_code == 1
    assert "nested deeper than 64 levels" in published.output
    assert "not published" in published.output
    assert published.exception is None or isinstance(published.exception, SystemExit)


def test_simulate_files_a_report_in_the_terminal(
    run_cli: CliRunner, db: sessionmaker[Session], settings: Settings
) -> None:
    pseudonym = load_crypto(settings).pseudonym("+243812345678")
    with db.begin() as session:  # a number that chose English before: no language list
        set_language(session=session, pseudonym=pseudonym, language="en", now=datetime.now(UTC))
    keys = ["1", "2", "3", "1", "1", "1", "1", "Wall fell on two diggers", "2", "1"]
    result = run_cli.invoke(
        cli.main, ["simulate", "--phone", "+243812345678"], input="\n".join(keys) + "\n"
    )
    assert result.exit_code == 0, result.output
    assert "Report sent. Case" in result.output
    assert "(session ended)" in result.output
    with db() as session:
        assert len(session.scalars(select(Case)).all()) == 1


def _english(settings: Settings, db: sessionmaker[Session], phone: str) -> None:
    pseudonym = load_crypto(settings).pseudonym(phone)
    with db.begin() as session:  # a number that chose English before: no language list
        set_language(session=session, pseudonym=pseudonym, language="en", now=datetime.now(UTC))


def test_simulate_waits_for_enter_after_the_last_screen_then_dials_again(
    run_cli: CliRunner, db: sessionmaker[Session], settings: Settings
) -> None:
    _english(settings, db, "+243812345678")
    # Help (5) ends the session; Enter dials again; Help again; then q quits.
    result = run_cli.invoke(cli.main, ["simulate", "--phone", "+243812345678"], input="5\n\n5\nq\n")
    assert result.exit_code == 0, result.output
    out = result.output
    prompt = "(session ended) Press Enter to dial again, or type q and Enter to quit:"
    assert out.count(prompt) == 2
    assert out.count("Sauti - anonymous reports") == 2  # the main menu, once a dial
    # The last screen stays readable above the prompt, before anything else is shown.
    first_end = out.index("Sauti is free and anonymous")
    assert first_end < out.index(prompt) < out.rindex("Sauti - anonymous reports")
    assert out.rstrip().endswith("(hung up)")


def test_simulate_ends_when_input_ends_after_the_last_screen(
    run_cli: CliRunner, db: sessionmaker[Session], settings: Settings
) -> None:
    _english(settings, db, "+243812345678")
    result = run_cli.invoke(cli.main, ["simulate", "--phone", "+243812345678"], input="5\n")
    assert result.exit_code == 0, result.output
    assert "Sauti is free and anonymous" in result.output
    assert "Press Enter to dial again" in result.output
    assert result.output.count("Sauti - anonymous reports") == 1
    assert result.output.rstrip().endswith("(hung up)")


# -- committees --------------------------------------------------------------------------

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


def committees(db: sessionmaker[Session]) -> dict[str, tuple[str, str, list[str]]]:
    with db() as session:
        return {
            c.code: (c.name, c.digest_at, [m.phone for m in c.members if m.active])
            for c in session.scalars(select(Committee))
        }


def test_demo_committees_are_loaded_into_a_fresh_database(
    run_cli: CliRunner, db: sessionmaker[Session]
) -> None:
    found = committees(db)
    assert len(found) == 13
    assert found["walikale-local"][2] == ["+243810000001", "+243810000002"]


def test_import_creates_and_updates_by_code(
    run_cli: CliRunner, tmp_path: Path, db: sessionmaker[Session]
) -> None:
    path = tmp_path / "committees.yaml"
    path.write_text(GOOD)
    result = run_cli.invoke(cli.main, ["import", "committees", str(path)])
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
    again = run_cli.invoke(cli.main, ["import", "committees", str(path)])
    assert again.output.strip() == "0 committees created, 0 updated, 2 unchanged"


def test_a_bad_file_is_refused_whole_with_line_and_field(
    run_cli: CliRunner, tmp_path: Path, db: sessionmaker[Session]
) -> None:
    before = committees(db)
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD + BAD)
    result = run_cli.invoke(cli.main, ["import", "committees", str(path)])
    assert result.exit_code != 0
    lines = result.output.splitlines()
    assert "line 25, location: unknown location 'cd-nk-nowhere'" in lines
    assert 'line 28, digest_at: a local time "HH:MM"' in lines
    assert any(line.startswith("line 30, members.phone:") for line in lines)
    assert "nothing imported" in result.output
    assert committees(db) == before


def test_a_file_nested_too_deep_or_with_aliases_is_refused_with_its_line(
    run_cli: CliRunner, tmp_path: Path, db: sessionmaker[Session]
) -> None:
    before = committees(db)
    path = tmp_path / "deep.yaml"
    for text, said in (
        (GOOD + "  x: " + "[" * 5000, "line 22, yaml: nested deeper than 64 levels"),
        (
            GOOD.replace("- code: masisi", "- &masisi\n  code: masisi") + "- *masisi\n",
            "line 23, yaml: aliases (*masisi) are not accepted",
        ),
    ):
        path.write_text(text)
        result = run_cli.invoke(cli.main, ["import", "committees", str(path)])
        assert result.exit_code == 1
        assert any(line.startswith(said) for line in result.output.splitlines())
        assert "nothing imported" in result.output
        assert committees(db) == before
    path.write_bytes(b"- code: \xff\xfe\n")
    result = run_cli.invoke(cli.main, ["import", "committees", str(path)])
    assert result.exit_code == 1
    assert "line 1, file: not UTF-8 text" in result.output


def test_unusable_settings_stop_a_command_with_each_problem_and_no_secret() -> None:
    env = {
        "REDIS_URL": "redis+sentinel://:topsecret@sentinel-1:x/sauti",
        "SAUTI_SMS_RATE": "0",
        "DATABASE_URL": "",
    }
    result = CliRunner().invoke(cli.main, ["worker"], env=env)
    assert result.exit_code == 1
    assert "the settings cannot be used" in result.output
    assert "REDIS_URL: sentinel address 1 has no valid port" in result.output
    assert "SAUTI_SMS_RATE: Input should be greater than or equal to 1" in result.output
    assert "topsecret" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("provider", ["twilio", "africastalking"])
def test_simulate_voice_files_a_report_by_keys_in_the_terminal(
    run_cli: CliRunner,
    db: sessionmaker[Session],
    settings: Settings,
    provider: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "a-token-the-server-shares")
    _english(settings, db, "+243812345678")
    # Report, accident, North Kivu, Walikale, Bisie, today, danger: yes, # past the
    # description, no news, send.
    keys = ["1", "2", "3", "2", "1", "1", "1", "#", "2", "1"]
    result = run_cli.invoke(
        cli.main,
        ["simulate", "--voice", provider, "--phone", "+243812345678"],
        input="\n".join(keys) + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "press one" in result.output  # what the prompts say, from the manifests
    assert "Report sent. Your case number is" in result.output
    assert "(call ended)" in result.output
    with db() as session:
        assert [case.channel for case in session.scalars(select(Case))] == ["voice"]


def test_simulate_voice_as_twilio_needs_the_token_it_signs_with(run_cli: CliRunner) -> None:
    result = run_cli.invoke(cli.main, ["simulate", "--voice", "twilio"], input="")
    assert result.exit_code == 1
    assert "set TWILIO_AUTH_TOKEN" in result.output
