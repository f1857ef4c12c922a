"""`sauti report quarterly`: a committee's report as HTML and as a PDF another reader opens,
with its figures and none of a reporter's words or phone number."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader
from sqlalchemy.orm import Session, sessionmaker

from gateway import cli
from storage import actions, cases
from storage.committees import committee_by_code
from storage.db import make_engine, make_sessionmaker
from storage.keys import load_crypto
from storage.routing import route_case
from storage.settings import Settings

SECRET = "Zebulon-Quartz-7731 took the gold at the pit"
PLACE = "behind Mama Wivine's shop"
ACTION = "Quillfeather inspection of shaft nine"
REPORTER = "+243990007788"
AT = datetime(2026, 10, 6, 9, 0, tzinfo=UTC)


@pytest.fixture
def sessions(settings: Settings, run_cli: CliRunner) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings.db_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def filed(settings: Settings, sessions: sessionmaker[Session]) -> None:
    """Six reports at Mpama in 2026Q4 with a distinctive description and place, contacts
    kept, two acknowledged; an action with distinctive words, done in time."""
    crypto = load_crypto(settings)
    with sessions.begin() as session:
        for n in range(6):
            case = cases.create_report(
                session=session,
                crypto=crypto,
                pseudonym=crypto.pseudonym(REPORTER),
                channel="sms",
                language="fr",
                answers={
                    "category": "illegal_tax",
                    "place_code": "cd-nk-walikale-mpama",
                    "place_text": PLACE,
                    "when": "today",
                    "danger_now": "no",
                    "description": SECRET,
                    "sms_updates": "yes",
                },
                contact_e164=REPORTER,
                flow_version="v1",
                rng=random.Random(n),
                now=AT + timedelta(days=n),
            )
            route_case(session=session, case_id=case.id, now=case.created_at)
            committee = committee_by_code(session=session, code="walikale-local")
            assert committee is not None
            if n < 2:
                cases.acknowledge(
                    session=session,
                    case=case,
                    actor="user:cora",
                    committee_id=committee.id,
                    now=case.created_at + timedelta(hours=2),
                )
            if n == 0:
                action = actions.add_action(
                    session=session,
                    crypto=crypto,
                    case=case,
                    committee=committee,
                    owner="user:cora",
                    actor="user:cora",
                    what=ACTION,
                    days=3,
                    now=case.created_at,
                )
                actions.mark_done(
                    session=session, action=action, actor="user:cora", now=AT + timedelta(days=1)
                )


def _absent(text: str) -> None:
    for private in (SECRET, "Zebulon", PLACE, "Wivine", ACTION, "Quillfeather", REPORTER[1:]):
        assert private not in text


def test_html_report_has_the_figures_and_no_free_text(
    run_cli: CliRunner, filed: None, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    result = run_cli.invoke(
        cli.main,
        [
            "report",
            "quarterly",
            "--committee",
            "walikale-local",
            "--quarter",
            "2026Q4",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    assert "quarterly report 2026Q4" in html
    assert "Illegal tax" in html
    assert "Mpama" in html
    assert '<td class="num">6</td>' in html  # reports received in 2026Q4
    assert "100% (1 of 1)" in html  # the action, done in time
    assert "<script" not in html
    assert 'style="' not in html
    _absent(html)
    # Without --out, the page goes to standard output.
    printed = run_cli.invoke(
        cli.main, ["report", "quarterly", "--committee", "walikale-local", "--quarter", "2026q4"]
    )
    assert printed.exit_code == 0
    assert "quarterly report 2026Q4" in printed.output


def test_pdf_report_is_a_valid_pdf_with_no_free_text(
    run_cli: CliRunner, filed: None, tmp_path: Path
) -> None:
    out = tmp_path / "report.pdf"
    result = run_cli.invoke(
        cli.main,
        [
            "report",
            "quarterly",
            "--committee",
            "walikale-local",
            "--quarter",
            "2026Q4",
            "--format",
            "pdf",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    assert b"%%EOF" in data[-32:]
    reader = PdfReader(io.BytesIO(data), strict=True)
    assert len(reader.pages) >= 1
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "quarterly report 2026Q4" in text
    assert "Illegal tax" in text
    assert "Mpama" in text
    _absent(text)
    _absent(data.decode("latin-1"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--committee", "walikale-local", "--quarter", "2026Q5"], "2026Q4"),
        (["--committee", "nobody", "--quarter", "2026Q4"], "no committee has this code"),
        (["--committee", "walikale-local", "--quarter", "2026Q4", "--format", "doc"], "doc"),
    ],
)
def test_bad_options_are_refused_clearly(run_cli: CliRunner, args: list[str], message: str) -> None:
    result = run_cli.invoke(cli.main, ["report", "quarterly", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_help_says_what_it_does(run_cli: CliRunner) -> None:
    result = run_cli.invoke(cli.main, ["report", "quarterly", "--help"])
    assert result.exit_code == 0
    for option in ("--committee", "--quarter", "--format", "--out"):
        assert option in result.output
    assert "no words of reporters" in result.output
