"""LINK and UNLINK by SMS from the demo committees' numbers, in their words of each
language: two cases put in one incident (confirmed) or one taken out, the reply naming
both numbers and the incident; every refusal is a short reply that changes nothing. And
CLOSE <case> duplicate <other case>: the closing points at the case it duplicates."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway import commands
from gateway.commands import Command, parse_command
from storage import incidents
from storage.casenumber import check_digit, display
from storage.cases import create_report
from storage.keys import load_crypto
from storage.models import CaseDuplicate, CaseEvent, EventKind, LinkState
from storage.settings import Settings
from tests.gateway.conftest import SmsPhone
from tests.gateway.test_commands import (  # noqa: F401
    KALEHE,
    NORTH_KIVU,
    STRANGER,
    WALIKALE_FR,
    WALIKALE_SW,
    case_of,
    phone,
    said,
)
from workers import queues
from workers.context import current
from workers.routing import route_report

MPAMA, BISIE, NYABIBWE = "cd-nk-walikale-mpama", "cd-nk-walikale-bisie", "cd-sk-kalehe-nyabibwe"
# Valid check digit, no such case.
NOBODY = display("123456789" + check_digit("123456789"))


@pytest.fixture
def report(
    settings: Settings, db: sessionmaker[Session], run_jobs: Callable[[], None]
) -> Callable[..., str]:
    """Commit and route a report; return its number, displayed."""
    crypto = load_crypto(settings)
    rng = random.Random(15)

    def file(place: str = MPAMA, category: str = "illegal_tax") -> str:
        with db.begin() as session:
            case = create_report(
                session=session,
                crypto=crypto,
                pseudonym=crypto.pseudonym("+243990000042"),
                channel="ussd",
                language="en",
                answers={
                    "category": category,
                    "place_code": place,
                    "when": "today",
                    "danger_now": "no",
                    "sms_updates": "no",
                },
                contact_e164=None,
                flow_version="v1",
                rng=rng,
                now=datetime.now(UTC),
            )
        queues.enqueue(queues.ROUTING, route_report, case.id, connection=current().redis)
        run_jobs()
        return display(case.number)

    return file


def links(db: sessionmaker[Session], *numbers: str) -> list[tuple[str | None, str | None]]:
    """(incident number, link state) of each case."""
    ids = [case_of(db, number).id for number in numbers]
    found: list[tuple[str | None, str | None]] = []
    with db() as session:
        for case_id in ids:
            link = incidents.link_of(session, case_id)
            found.append((None, None) if link is None else (link.incident.number, link.state))
    return found


def incident_events(db: sessionmaker[Session], number: str) -> list[tuple[str, str]]:
    case_id = case_of(db, number).id
    with db() as session:
        query = select(CaseEvent).where(
            CaseEvent.case_id == case_id,
            CaseEvent.kind.in_((EventKind.LINKED, EventKind.UNLINKED)),
        )
        return [(e.kind, e.data["state"]) for e in session.scalars(query.order_by(CaseEvent.id))]


@pytest.mark.parametrize(
    ("member", "word", "lang"),
    [(WALIKALE_FR, "LINK", "fr"), (WALIKALE_FR, "lier", "fr"), (WALIKALE_SW, "UNGANISHA", "sw")],
)
def test_link_puts_two_cases_in_one_incident_confirmed(
    phone: Callable[[str], SmsPhone],  # noqa: F811
    report: Callable[..., str],
    db: sessionmaker[Session],
    member: str,
    word: str,
    lang: str,
) -> None:
    first, second = report(MPAMA), report(BISIE)
    reply = phone(member).send(f"{word} {first} {second.replace('-', '')}")
    assert reply == said(lang, commands.LINKED, case=first, other=second, incident=first, count="2")
    number = first.replace("-", "")
    assert links(db, first, second) == [
        (number, LinkState.CONFIRMED),
        (number, LinkState.CONFIRMED),
    ]
    assert incident_events(db, second) == [("linked", "confirmed")]


def test_link_confirms_a_suggested_link_and_unlink_takes_it_out(
    phone: Callable[[str], SmsPhone],  # noqa: F811
    report: Callable[..., str],
    db: sessionmaker[Session],
) -> None:
    first, second = report(BISIE), report(BISIE)
    number = first.replace("-", "")
    assert links(db, second) == [(number, LinkState.SUGGESTED)]
    sw = phone(WALIKALE_SW)
    assert sw.send(f"UNGANISHA {second} {first}") == said(
        "sw", commands.LINKED, case=second, other=first, incident=first, count="2"
    )
    assert links(db, second) == [(number, LinkState.CONFIRMED)]
    assert sw.send(f"TENGANISHA {second}") == said(
        "sw", commands.UNLINKED, case=second, incident=first
    )
    assert links(db, second) == [(None, None)]
    assert incident_events(db, second) == [
        ("linked", "suggested"),
        ("linked", "confirmed"),
        ("unlinked", "confirmed"),
    ]
    assert phone(WALIKALE_FR).send(f"DELIER {second}") == said(
        "fr", commands.NOT_LINKED, case=second
    )


def test_the_committee_above_may_link_and_a_closed_case_still_links(
    phone: Callable[[str], SmsPhone],  # noqa: F811
    report: Callable[..., str],
    db: sessionmaker[Session],
) -> None:
    first, second = report(MPAMA), report(BISIE)
    provincial = phone(NORTH_KIVU)
    assert provincial.send(f"CLOSE {second} resolved Fixed") == said(
        "fr", commands.CLOSED, case=second, outcome=said("fr", commands.OUTCOME["resolved"])
    )
    assert case_of(db, second).status == "closed"
    reply = provincial.send(f"LINK {first} {second}")
    assert reply == said("fr", commands.LINKED, case=first, other=second, incident=first, count="2")
    assert links(db, second)[0][0] == first.replace("-", "")


def test_every_refusal_changes_nothing(
    phone: Callable[[str], SmsPhone],  # noqa: F811
    report: Callable[..., str],
    db: sessionmaker[Session],
) -> None:
    first, second = report(MPAMA), report(BISIE)
    elsewhere = report(NYABIBWE)
    fr = phone(WALIKALE_FR)
    replies = {
        "usage": fr.send(f"LINK {first}"),
        "bad number": fr.send(f"LINK {first} 123-456-7890"),
        "no case": fr.send(f"LINK {first} {NOBODY}"),
        "not yours": fr.send(f"LINK {first} {elsewhere}"),
        "first not yours": phone(KALEHE).send(f"LINK {first} {elsewhere}"),
        "same case": fr.send(f"LINK {first} {first}"),
        "unlink usage": fr.send("UNLINK"),
        "not linked": fr.send(f"UNLINK {first}"),
        "stranger": phone(STRANGER).send(f"LINK {first} {second}"),
    }
    assert replies == {
        "usage": said("fr", commands.USAGE[Command.LINK]),
        "bad number": said("fr", commands.BAD_NUMBER, number="123-456-7890"),
        "no case": said("fr", commands.NO_CASE, case=NOBODY),
        "not yours": said("fr", commands.NOT_YOURS, case=elsewhere),
        "first not yours": said("sw", commands.NOT_YOURS, case=first),
        "same case": said("fr", commands.SAME_CASE, case=first),
        "unlink usage": said("fr", commands.USAGE[Command.UNLINK]),
        "not linked": said("fr", commands.NOT_LINKED, case=first),
        "stranger": said("en", commands.NOT_A_MEMBER),
    }
    assert links(db, first, second, elsewhere) == [(None, None)] * 3


@pytest.mark.parametrize(
    ("word", "command"),
    [
        ("HUZA", Command.LINK),
        ("Sangisa", Command.LINK),
        ("délier", Command.UNLINK),
        ("tandukanya", Command.UNLINK),
        ("KABOLA", Command.UNLINK),
    ],
)
def test_link_words_in_every_language(word: str, command: Command) -> None:
    parsed = parse_command(f"{word} 482-177-3506 4821773506")
    assert parsed is not None
    assert (parsed.command, parsed.typed, parsed.text) == (command, "482-177-3506", "4821773506")


def test_help_names_link_and_unlink(phone: Callable[[str], SmsPhone]) -> None:  # noqa: F811
    reply = phone(WALIKALE_FR).send("AIDE")
    assert reply.endswith(said("fr", commands.HELP_INCIDENTS))


def test_close_as_duplicate_of_another_case(
    phone: Callable[[str], SmsPhone],  # noqa: F811
    report: Callable[..., str],
    db: sessionmaker[Session],
) -> None:
    original, duplicate, alone = report(MPAMA), report(BISIE), report(BISIE, "child_labour")
    fr = phone(WALIKALE_FR)
    assert fr.send(f"CLOSE {duplicate} duplicate {duplicate} same") == said(
        "fr", commands.DUPLICATE_OF_ITSELF, case=duplicate
    )
    assert fr.send(f"CLOSE {duplicate} doublon {NOBODY}") == said(
        "fr", commands.NO_CASE, case=NOBODY
    )
    assert case_of(db, duplicate).status != "closed"
    reply = fr.send(f"CLOSE {duplicate} doublon {original} même barrière")
    assert reply == said("fr", commands.CLOSED_AS_DUPLICATE, case=duplicate, other=original)
    duplicate_id = case_of(db, duplicate).id
    with db() as session:
        pointer = session.get(CaseDuplicate, duplicate_id)
        assert pointer is not None
        assert pointer.original.number == original.replace("-", "")
        closing = session.scalar(
            select(CaseEvent).where(
                CaseEvent.case_id == pointer.case_id, CaseEvent.kind == EventKind.CLOSED
            )
        )
        assert closing is not None
        assert closing.data["duplicate_of"] == original.replace("-", "")
    # Without a number: closed as before, and the reply says how to name the original.
    plain = fr.send(f"CLOSE {alone} duplicate")
    assert plain.startswith(said("fr", commands.CLOSED, case=alone, outcome="doublon")[:-1])
    assert plain.endswith(said("fr", commands.NAME_THE_ORIGINAL))
    alone_id = case_of(db, alone).id
    with db() as session:
        assert session.get(CaseDuplicate, alone_id) is None
