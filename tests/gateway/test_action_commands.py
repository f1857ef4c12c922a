"""Actions by SMS from the demo committees' numbers: ACT records what will be done, owned
by the sender and due in their committee's calendar; DONE marks it done; VERIFY is for
another member or the committee above, never for whoever owns or did it; every refusal is
a short reply that changes nothing; a case with an action not done closes as resolved only
with a note saying why."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway import commands
from gateway.commands import Command
from storage.keys import load_crypto
from storage.models import CaseAction
from storage.settings import Settings
from tests.gateway.conftest import SmsPhone
from tests.gateway.test_commands import (  # noqa: F401
    KALEHE,
    NORTH_KIVU,
    STRANGER,
    WALIKALE_FR,
    WALIKALE_SW,
    case_of,
    events,
    file_case,
    member_id,
    phone,
    said,
)


def actions_of(db: sessionmaker[Session], number: str) -> list[CaseAction]:
    case = case_of(db, number)
    with db() as session:
        query = select(CaseAction).where(CaseAction.case_id == case.id).order_by(CaseAction.n)
        return list(session.scalars(query))


def due_in(days: int) -> str:
    today = datetime.now(UTC).astimezone(ZoneInfo("Africa/Lubumbashi")).date()
    return (today + timedelta(days=days)).strftime("%d/%m")


def test_act_records_an_action_owned_by_the_sender_with_its_text_encrypted(
    phone: Callable[[str], SmsPhone],  # noqa: F811
    file_case: Callable[..., str],  # noqa: F811
    db: sessionmaker[Session],
    settings: Settings,
) -> None:
    number = file_case()
    reply = phone(WALIKALE_SW).send(f"ACT {number} 7 Kutembelea kizuizi na polisi")
    assert reply == said("sw", commands.ACTION_ADDED, case=number, n="1", due=due_in(7))
    second = phone(WALIKALE_FR).send(f"action {number.replace('-', '')} 30 Lettre au chef")
    assert second == said("fr", commands.ACTION_ADDED, case=number, n="2", due=due_in(30))
    first, other = actions_of(db, number)
    owner = f"member:{member_id(db, WALIKALE_SW, 'walikale-local')}"
    assert (first.n, first.status, first.owner, first.created_by) == (1, "planned", owner, owner)
    assert b"polisi" not in first.what_enc
    assert load_crypto(settings).decrypt(first.what_enc) == "Kutembelea kizuizi na polisi"
    assert other.owner == f"member:{member_id(db, WALIKALE_FR, 'walikale-local')}"
    assert [kind for kind, _ in events(db, number)] == ["action_added", "action_added"]


def test_done_then_verified_by_another_member_never_by_the_one_who_did_it(
    phone: Callable[[str], SmsPhone],  # noqa: F811
    file_case: Callable[..., str],  # noqa: F811
    db: sessionmaker[Session],
) -> None:
    number = file_case()
    doer, other = phone(WALIKALE_SW), phone(WALIKALE_FR)
    doer.send(f"HATUA {number} 3 Kutembelea shimo")
    not_done = commands.NOT_VERIFIABLE["not_done"]
    assert other.send(f"VERIFY {number} 1") == said("fr", not_done, case=number, n="1")
    assert doer.send(f"imefanyika {number} 1") == said(
        "sw", commands.ACTION_DONE, case=number, n="1"
    )
    assert doer.send(f"DONE {number} 1") == said(
        "sw", commands.ACTION_ALREADY_DONE, case=number, n="1"
    )
    own = commands.NOT_VERIFIABLE["own"]
    assert doer.send(f"thibitisha {number} 1") == said("sw", own, case=number, n="1")
    assert actions_of(db, number)[0].status == "done"
    assert other.send(f"Vérifier {number} 1") == said(
        "fr", commands.ACTION_VERIFIED, case=number, n="1"
    )
    assert other.send(f"VERIFY {number} 1") == said(
        "fr", commands.ACTION_ALREADY_VERIFIED, case=number, n="1"
    )
    action = actions_of(db, number)[0]
    assert action.status == "verified"
    assert action.verified_by == f"member:{member_id(db, WALIKALE_FR, 'walikale-local')}"
    kinds = [kind for kind, _ in events(db, number)]
    assert kinds == ["action_added", "action_done", "action_verified"]


def test_the_committee_above_verifies_and_a_committee_below_may_not(
    phone: Callable[[str], SmsPhone],  # noqa: F811
    file_case: Callable[..., str],  # noqa: F811
    db: sessionmaker[Session],
) -> None:
    number = file_case()
    local, other_local = phone(WALIKALE_SW), phone(WALIKALE_FR)
    local.send(f"ACT {number} 5 Kutembelea shimo")
    local.send(f"DONE {number} 1")
    assert phone(NORTH_KIVU).send(f"FAIT {number} 1") == said(  # done already
        "fr", commands.ACTION_ALREADY_DONE, case=number, n="1"
    )
    assert phone(NORTH_KIVU).send(f"EMEZA {number} 1") == said(
        "fr", commands.ACTION_VERIFIED, case=number, n="1"
    )
    # An action of the provincial committee is not verified from the local one.
    phone(NORTH_KIVU).send(f"ACT {number} 10 Mission de la division des mines")
    phone(NORTH_KIVU).send(f"DONE {number} 2")
    below = commands.NOT_VERIFIABLE["below"]
    assert other_local.send(f"VERIFY {number} 2") == said("fr", below, case=number, n="2")
    assert [a.status for a in actions_of(db, number)] == ["verified", "done"]


@pytest.mark.parametrize(
    ("body", "msgid", "values"),
    [
        ("ACT {n}", commands.USAGE[Command.ACT], {}),
        ("ACT {n} Visit the pit", commands.USAGE[Command.ACT], {}),
        ("ACT {n} 0 Visit the pit", commands.USAGE[Command.ACT], {}),
        ("ACT {n} 366 Visit the pit", commands.USAGE[Command.ACT], {}),
        ("ACT {n} 7", commands.USAGE[Command.ACT], {}),
        ("ACT {n} -3 Visit the pit", commands.USAGE[Command.ACT], {}),
        ("DONE {n}", commands.USAGE[Command.DONE], {}),
        ("DONE {n} one", commands.USAGE[Command.DONE], {}),
        ("VERIFY {n} 1 2", commands.USAGE[Command.VERIFY], {}),
        ("DONE {n} 9", commands.NO_ACTION, {"n": "9"}),
        ("VERIFY {n} 9", commands.NO_ACTION, {"n": "9"}),
        ("ACT 482-177-3501 7 Visit", commands.NO_CASE, {"case": "482-177-3501"}),
        ("DONE 482-177-3507 1", commands.BAD_NUMBER, {"number": "482-177-3507"}),
    ],
)
def test_malformed_action_commands_change_nothing(
    phone: Callable[[str], SmsPhone],  # noqa: F811
    file_case: Callable[..., str],  # noqa: F811
    db: sessionmaker[Session],
    body: str,
    msgid: str,
    values: dict[str, str],
) -> None:
    number = file_case()
    values = {"case": number, **values}
    assert phone(WALIKALE_SW).send(body.format(n=number)) == said("sw", msgid, **values)
    assert events(db, number) == []
    assert actions_of(db, number) == []


def test_strangers_other_committees_and_closed_cases_are_refused(
    phone: Callable[[str], SmsPhone],  # noqa: F811
    file_case: Callable[..., str],  # noqa: F811
    db: sessionmaker[Session],
    settings: Settings,
) -> None:
    number = file_case()
    phone(WALIKALE_SW).send(f"ACT {number} 7 Kutembelea shimo")
    refusal = said(settings.sauti_default_language, commands.NOT_A_MEMBER)
    for body in (f"ACT {number} 7 Visit", f"DONE {number} 1", f"VERIFY {number} 1"):
        assert phone(STRANGER).send(body) == refusal
        assert phone(KALEHE).send(body) == said("sw", commands.NOT_YOURS, case=number)
    assert [a.status for a in actions_of(db, number)] == ["planned"]
    phone(WALIKALE_FR).send(f"CLOSE {number} unfounded Nobody there")
    for body in (f"ACT {number} 7 Visit", f"DONE {number} 1", f"VERIFY {number} 1"):
        assert phone(WALIKALE_SW).send(body) == said("sw", commands.IS_CLOSED, case=number)
    assert [a.status for a in actions_of(db, number)] == ["planned"]


def test_resolved_with_an_action_not_done_needs_a_note_saying_why(
    phone: Callable[[str], SmsPhone],  # noqa: F811
    file_case: Callable[..., str],  # noqa: F811
    db: sessionmaker[Session],
) -> None:
    number = file_case()
    member = phone(WALIKALE_FR)
    member.send(f"ACT {number} 7 Visite du site")
    reply = member.send(f"CLOSE {number} resolved")
    assert reply == said("fr", commands.CLOSE_NEEDS_REASON, case=number)
    assert case_of(db, number).status == "routed"
    assert member.send(f"CLOSE {number} resolved Les soldats sont partis") == (
        f"Dossier {number} clos : résolu."
    )
    assert case_of(db, number).outcome == "resolved"


def test_resolved_after_every_action_is_done_needs_no_note(
    phone: Callable[[str], SmsPhone],  # noqa: F811
    file_case: Callable[..., str],  # noqa: F811
    db: sessionmaker[Session],
) -> None:
    number = file_case()
    member = phone(WALIKALE_FR)
    member.send(f"ACT {number} 7 Visite du site")
    member.send(f"DONE {number} 1")
    assert member.send(f"CLOSE {number} resolved") == f"Dossier {number} clos : résolu."
