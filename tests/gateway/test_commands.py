"""Focal-point commands by signed Twilio SMS, from the demo committees' numbers
(storage/seed/committees.yaml): each command writes a case event and is confirmed by the
reply; anyone else, an unknown case or a malformed command gets a short reply and
changes nothing."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from flows import gsm
from gateway import commands
from gateway.commands import WORDS, Command, Commands, parse_command
from storage.casenumber import display
from storage.cases import create_report
from storage.keys import load_crypto
from storage.models import Case, CaseEvent, OutboxMessage
from storage.settings import Settings
from tests.conftest import TWILIO_TOKEN
from tests.gateway.conftest import SmsPhone, outbox_texts
from workers import queues
from workers.context import current, message_catalogs
from workers.routing import route_report
from workers.texts import LIST_EMPTY, fill

WALIKALE_SW = "+243810000001"  # walikale-local, Kiswahili
WALIKALE_FR = "+243810000002"  # walikale-local, French
KALEHE = "+243810000003"  # kalehe-local: another territory
NORTH_KIVU = "+243810000101"  # north-kivu-provincial: above Walikale
STRANGER = "+243812345678"


@pytest.fixture
def phone(app_client: TestClient) -> Callable[[str], SmsPhone]:
    def make(number: str) -> SmsPhone:
        return SmsPhone(
            client=app_client,
            number=number,
            token=TWILIO_TOKEN,
            public_url="https://sauti.example.org",
        )

    return make


@pytest.fixture
def file_case(
    app_client: TestClient,
    settings: Settings,
    db: sessionmaker[Session],
    run_jobs: Callable[[], None],
) -> Callable[..., str]:
    """Commit and route a report at Mpama (Walikale); return its number, displayed."""
    crypto = load_crypto(settings)
    rng = random.Random(11)

    def file(*, contact: str | None = None, category: str = "illegal_tax") -> str:
        with db.begin() as session:
            case = create_report(
                session=session,
                crypto=crypto,
                pseudonym=crypto.pseudonym("+243990000042"),
                channel="ussd",
                language="en",
                answers={
                    "category": category,
                    "place_code": "cd-nk-walikale-mpama",
                    "when": "today",
                    "danger_now": "no",
                    "description": "Soldiers take 2000 francs at the barrier",
                    "sms_updates": "yes" if contact else "no",
                },
                contact_e164=contact,
                flow_version="v1",
                rng=rng,
                now=datetime.now(UTC),
            )
        queues.enqueue(queues.ROUTING, route_report, case.id, connection=current().redis)
        run_jobs()
        return display(case.number)

    return file


def said(lang: str, msgid: str, **values: str) -> str:
    """What the service replies with `msgid` in `lang` (the demo committees' Kiswahili
    speakers read Kiswahili where the catalog has it, English where it does not)."""
    translator = message_catalogs(("en",)).translator(lang)
    return fill(translator, msgid, values, shrink="committee")


def case_of(db: sessionmaker[Session], number: str) -> Case:
    with db() as session:
        case = session.scalar(select(Case).where(Case.number == number.replace("-", "")))
        assert case is not None
        return case


def events(db: sessionmaker[Session], number: str) -> list[tuple[str, str]]:
    """(kind, actor) of the case's events after it was routed."""
    case = case_of(db, number)
    with db() as session:
        query = select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        found = [(event.kind, event.actor) for event in session.scalars(query)]
    return [pair for pair in found if pair[0] not in ("received", "routing_requested", "routed")]


def member_id(db: sessionmaker[Session], phone: str, committee: str) -> int:
    from storage.models import Committee, CommitteeMember

    with db() as session:
        found = session.scalar(
            select(CommitteeMember.id)
            .join(Committee)
            .where(CommitteeMember.phone == phone, Committee.code == committee)
        )
        assert found is not None
        return found


def test_ack_acknowledges_and_confirms(
    phone: Callable[[str], SmsPhone], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    number = file_case()
    reply = phone(WALIKALE_FR).send(f"ACK {number}")
    assert reply == f"Dossier {number} pris en charge. Le déclarant le voit dans le suivi."
    assert case_of(db, number).status == "acknowledged"
    actor = f"member:{member_id(db, WALIKALE_FR, 'walikale-local')}"
    assert events(db, number) == [("acknowledged", actor)]
    again = phone(WALIKALE_SW).send(f"ack {number.replace('-', '')}")
    assert again == said("sw", commands.ALREADY_ACKNOWLEDGED, case=number)
    assert len(events(db, number)) == 1


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("POKEA {n}", "acknowledged"),
        ("Vu {n}", "acknowledged"),
        ("maelezo {n} Tumeongea na polisi", "note"),
        ("Escalader {n}", "escalated"),
        ("funga {n} imetatuliwa Polisi wamekuja", "closed"),
        ("Fermer {n} résolu", "closed"),
        ("CLÔRE {n} DOUBLON", "closed"),
    ],
)
def test_french_and_swahili_words_without_case_or_accents(
    phone: Callable[[str], SmsPhone],
    file_case: Callable[..., str],
    db: sessionmaker[Session],
    body: str,
    kind: str,
) -> None:
    number = file_case()
    phone(WALIKALE_SW).send(body.format(n=number))
    assert [k for k, _ in events(db, number)] == [kind]


def test_note_is_kept_encrypted(
    phone: Callable[[str], SmsPhone],
    file_case: Callable[..., str],
    db: sessionmaker[Session],
    settings: Settings,
) -> None:
    number = file_case()
    reply = phone(WALIKALE_SW).send(f"NOTE {number} Tumeongea na polisi wa mgodi")
    assert reply == said("sw", commands.NOTED, case=number)
    with db() as session:
        note = session.scalar(select(CaseEvent).where(CaseEvent.kind == "note"))
        assert note is not None
        assert note.body_enc is not None
        assert b"polisi" not in note.body_enc
        assert load_crypto(settings).decrypt(note.body_enc) == "Tumeongea na polisi wa mgodi"


def test_msg_without_consent_is_shown_in_the_status_only(
    phone: Callable[[str], SmsPhone], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    number = file_case()
    reply = phone(WALIKALE_SW).send(f"MSG {number} The police will come tomorrow")
    assert reply == said("sw", commands.MESSAGE_SAVED, case=number)
    with db() as session:
        kinds = list(session.scalars(select(OutboxMessage.kind)))
    assert "reporter_message" not in kinds
    assert [k for k, _ in events(db, number)] == ["message"]


def test_a_member_of_the_committee_above_may_act(
    phone: Callable[[str], SmsPhone], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    number = file_case()
    assert "pris en charge" in phone(NORTH_KIVU).send(f"ACK {number}")
    assert case_of(db, number).status == "acknowledged"


def test_esc_passes_the_case_up_and_alerts_the_committee_above(
    phone: Callable[[str], SmsPhone],
    file_case: Callable[..., str],
    db: sessionmaker[Session],
    run_jobs: Callable[[], None],
    settings: Settings,
) -> None:
    number = file_case()
    reply = phone(WALIKALE_SW).send(f"ESC {number}")
    committee = "North Kivu provincial stakeholder committee"
    assert reply == said("sw", commands.ESCALATED, case=number, committee=committee)
    with db() as session:
        escalated = session.scalar(select(CaseEvent).where(CaseEvent.kind == "escalated"))
        assert escalated is not None
        assert escalated.data == {
            "reason": "requested",
            "from": "walikale-local",
            "to": "north-kivu-provincial",
        }
    run_jobs()
    assert NORTH_KIVU in settings.console_outbox.read_text()
    escalated = [m for m in outbox_texts(settings, kind="escalation") if m["to"] == NORTH_KIVU]
    assert any("transmis à vous" in str(m["body"]) for m in escalated)


def test_list_shows_the_committees_open_cases(
    phone: Callable[[str], SmsPhone], file_case: Callable[..., str]
) -> None:
    first, second = file_case(), file_case(category="violence")
    reply = phone(WALIKALE_FR).send("liste").splitlines()
    assert reply == [
        "Dossiers ouverts : 2",
        f"{second} ÉLEVÉE Violence, Mpama",
        f"{first} MOYENNE Taxe illégale, Mpama",
    ]
    assert phone(KALEHE).send("orodha") == said("sw", LIST_EMPTY)


def test_help_for_members_lists_the_commands_and_stays_for_reporters(
    phone: Callable[[str], SmsPhone],
) -> None:
    reply = phone(WALIKALE_SW).send("HELP")
    assert reply == " ".join(
        said("sw", msgid)
        for msgid in (commands.HELP, commands.HELP_ACTIONS, commands.HELP_INCIDENTS)
    )
    assert phone(WALIKALE_FR).send("aide").startswith("Commandes Sauti : VU <dossier>")
    reporters_help = phone(STRANGER).send("HELP")
    assert reporters_help
    assert reporters_help not in {said(lang, commands.HELP) for lang in ("en", "fr", "sw")}


@pytest.mark.parametrize(
    ("body", "msgid", "values"),
    [
        ("ACK", commands.USAGE[Command.ACK], {}),
        ("ACK 12345", commands.USAGE[Command.ACK], {}),
        ("NOTE {n}", commands.USAGE[Command.NOTE], {}),
        ("MSG {n}   ", commands.USAGE[Command.MSG], {}),
        ("CLOSE {n} fixed", commands.USAGE[Command.CLOSE], {}),
        ("CLOSE {n}", commands.USAGE[Command.CLOSE], {}),
        ("ACK 482-177-3507", commands.BAD_NUMBER, {"number": "482-177-3507"}),
        ("ACK 482-177-3501", commands.NO_CASE, {"case": "482-177-3501"}),
    ],
)
def test_malformed_commands_and_unknown_cases_change_nothing(
    phone: Callable[[str], SmsPhone],
    file_case: Callable[..., str],
    db: sessionmaker[Session],
    body: str,
    msgid: str,
    values: dict[str, str],
) -> None:
    number = file_case()
    assert phone(WALIKALE_SW).send(body.format(n=number)) == said("sw", msgid, **values)
    assert events(db, number) == []
    assert case_of(db, number).status == "routed"


def test_a_member_of_another_committee_is_refused(
    phone: Callable[[str], SmsPhone], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    number = file_case()
    reply = phone(KALEHE).send(f"CLOSE {number} resolved")
    assert reply == said("sw", commands.NOT_YOURS, case=number)
    assert case_of(db, number).status == "routed"


def test_a_strangers_commands_are_refused(
    phone: Callable[[str], SmsPhone],
    file_case: Callable[..., str],
    db: sessionmaker[Session],
    settings: Settings,
) -> None:
    number = file_case()
    stranger = phone(STRANGER)
    refusal = said(settings.sauti_default_language, commands.NOT_A_MEMBER)
    for body in (f"ACK {number}", f"CLOSE {number} resolved", f"MSG {number} hello", "LIST"):
        assert stranger.send(body) == refusal
    assert events(db, number) == []
    assert case_of(db, number).status == "routed"


def test_a_strangers_free_text_starting_with_a_command_word_goes_to_the_conversation(
    phone: Callable[[str], SmsPhone],
) -> None:
    screen = phone(STRANGER).send("Note: soldiers came back to the pit")
    assert "English" in screen  # the language list of a first conversation


def test_a_closed_case_takes_no_more_commands(
    phone: Callable[[str], SmsPhone], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    number = file_case()
    member = phone(WALIKALE_FR)
    assert member.send(f"CLOSE {number} unfounded Nobody there") == (
        f"Dossier {number} clos : infondé."
    )
    assert member.send(f"ACK {number}") == f"Le dossier {number} est clos."
    assert [k for k, _ in events(db, number)] == ["closed"]


def test_a_repeated_message_sid_acts_once(
    phone: Callable[[str], SmsPhone], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    number = file_case()
    member = phone(WALIKALE_SW)
    form = member.form(f"NOTE {number} once only")
    assert member.post_form(form) == member.post_form(form)
    assert [k for k, _ in events(db, number)] == ["note"]


@given(body=st.text(max_size=300))
def test_parsing_any_text_never_fails(body: str) -> None:
    parsed = parse_command(body)
    if parsed is not None and parsed.typed is not None:
        assert sum(char.isdigit() for char in parsed.typed) == 10


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=st.one_of(
        st.text(max_size=300),
        st.builds(
            "{} {}".format,
            st.sampled_from([w for words in WORDS.values() for w in words]),
            st.text(max_size=200),
        ),
    )
)
def test_any_message_from_a_member_gets_a_short_gsm7_reply(
    app_client: TestClient, settings: Settings, body: str
) -> None:
    runtime = app_client.app.state.runtime
    pseudonym = load_crypto(settings).pseudonym(WALIKALE_SW)
    reply = Commands(runtime, datetime.now(UTC)).answer(pseudonym=pseudonym, body=body)
    if parse_command(body) is None:
        assert reply is None
    else:
        assert reply is not None
        assert gsm.is_gsm7(reply)
        # HELP lists every command, in up to three segments; every other reply is short.
        assert gsm.segments(reply) <= (
            commands.HELP_SEGMENTS if reply.startswith(said("sw", commands.HELP)[:20]) else 2
        )
