"""Importing committees from YAML, and the lookups on committees and members."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.committees import (
    DEFAULT_ACK_DEADLINES,
    CommitteeImportError,
    EditRefused,
    ImportResult,
    add_member,
    committee_by_code,
    deactivate_committee,
    import_committees_yaml,
    list_committees,
    members_for_pseudonym,
    update_member,
)
from storage.models import Committee, CommitteeMember, Location
from storage.privacy import Crypto
from storage.seed import load_demo_if_empty

IMPORTED_AT = datetime(2026, 1, 1, tzinfo=UTC)
WALIKALE = """\
- code: walikale-local
  name: Walikale local stakeholder committee
  level: local            # local | provincial | national
  location: cd-nk-walikale  # a location code: the committee covers it and everything below
  categories: all         # or a list of category codes
  language: sw
  timezone: Africa/Lubumbashi
  ack_deadlines: {critical: 2h, high: 24h, medium: 3d, low: 7d}   # optional; s/m/h/d units
  digest_at: "18:00"      # local time of the daily SMS digest
  members:
    - {name: Focal point A, phone: "+243 81 234 5678", language: fr}
"""
NATIONAL = """\
- code: cd-national
  name: DR Congo national committee
  level: national
  location: cd
  categories: [violence, sexual_violence]
  language: fr
  timezone: Africa/Kinshasa
  ack_deadlines: {critical: 90m, low: 10d}
  digest_at: 7:05
  members:
    - {name: National focal point, phone: "081 000 0201"}
    - {name: Second member, phone: "+243 99 000 0202", language: sw}
"""


def _import(session: Session, crypto: Crypto, text: str) -> ImportResult:
    return import_committees_yaml(
        session=session, crypto=crypto, source=io.StringIO(text), now=IMPORTED_AT
    )


def _refusal(session: Session, crypto: Crypto, text: str) -> list[tuple[int, str]]:
    with pytest.raises(CommitteeImportError) as refused:
        _import(session, crypto, text)
    return [(problem.line, problem.field) for problem in refused.value.problems]


def _committee(session: Session, code: str) -> Committee:
    found = committee_by_code(session=session, code=code)
    assert found is not None
    return found


def _count(session: Session, model: type[Committee] | type[CommitteeMember]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


pytestmark = pytest.mark.usefixtures("demo_places")


def test_import_creates_committees_in_the_design_format(session: Session, crypto: Crypto) -> None:
    assert _import(session, crypto, WALIKALE + NATIONAL) == ImportResult(created=2, updated=0)
    walikale = _committee(session, "walikale-local")
    assert (walikale.level, walikale.location.code, walikale.categories) == (
        "local",
        "cd-nk-walikale",
        None,
    )
    assert (walikale.language, walikale.timezone, walikale.digest_at) == (
        "sw",
        "Africa/Lubumbashi",
        "18:00",
    )
    assert walikale.ack_deadlines == DEFAULT_ACK_DEADLINES
    [member] = walikale.members
    assert (member.name, member.phone, member.language) == ("Focal point A", "+243812345678", "fr")
    assert member.phone_pseudonym == crypto.pseudonym("+243812345678")
    assert walikale.created_at == walikale.updated_at == IMPORTED_AT


def test_units_categories_local_numbers_and_defaults(session: Session, crypto: Crypto) -> None:
    _import(session, crypto, NATIONAL)
    national = _committee(session, "cd-national")
    assert national.categories == ["violence", "sexual_violence"]
    assert national.ack_deadlines == {
        **DEFAULT_ACK_DEADLINES,
        "critical": 90 * 60,
        "low": 10 * 86400,
    }
    assert national.digest_at == "07:05"
    first, second = national.members
    # A number without "+" is read in the committee's country; a missing language is the
    # committee's.
    assert (first.phone, first.language) == ("+243810000201", "fr")
    assert (second.phone, second.language) == ("+243990000202", "sw")
    assert national.takes("violence")
    assert not national.takes("accident")


def test_reimport_updates_by_code_and_deactivates_unlisted_members(
    session: Session, crypto: Crypto
) -> None:
    _import(session, crypto, WALIKALE + NATIONAL)
    assert _import(session, crypto, WALIKALE + NATIONAL) == ImportResult(0, 0, unchanged=2)
    changed = NATIONAL.replace("DR Congo national committee", "Comite national").replace(
        '    - {name: National focal point, phone: "081 000 0201"}\n', ""
    )
    changed += '    - {name: New member, phone: "+243 97 000 0300", language: ln}\n'
    assert _import(session, crypto, changed) == ImportResult(created=0, updated=1)
    national = _committee(session, "cd-national")
    assert national.name == "Comite national"
    states = {member.phone: member.active for member in national.members}
    assert states == {"+243810000201": False, "+243990000202": True, "+243970000300": True}
    assert _committee(session, "walikale-local").members[0].active
    # Listed again, a member comes back rather than being duplicated.
    _import(session, crypto, NATIONAL)
    assert _count(session, CommitteeMember) == 4
    assert all(member.active for member in national.members if member.phone != "+243970000300")


BAD = """\
- code: Walikale Local
  name: ""
  level: regional
  location: cd-nowhere
  categories: [accident, gossip, accident]
  language: french
  timezone: Africa/Goma
  ack_deadlines: {critical: soon, urgent: 2h}
  digest_at: "25:00"
  colour: blue
  members:
    - {name: A, phone: "+243 12"}
    - {phone: "+243 81 000 0009", language: sw, name: B}
    - {name: C, phone: "+243810000009"}
- code: ok-but-national-on-a-province
  name: National
  level: national
  location: cd-nk
  language: fr
  timezone: Africa/Kinshasa
  digest_at: "08:00"
  members: []
"""


def test_bad_file_is_refused_whole_with_lines_and_fields(session: Session, crypto: Crypto) -> None:
    _import(session, crypto, WALIKALE)
    before = _committee(session, "walikale-local").name
    text = WALIKALE.replace("Walikale local stakeholder committee", "Renamed") + BAD
    problems = _refusal(session, crypto, text)
    assert problems == [
        (12, "code"),
        (13, "name"),
        (14, "level"),
        (15, "location"),
        (16, "categories"),
        (16, "categories"),
        (17, "language"),
        (18, "timezone"),
        (19, "ack_deadlines"),
        (19, "ack_deadlines"),
        (20, "digest_at"),
        (21, "colour"),
        (23, "members.phone"),
        (25, "members.phone"),
        (29, "location"),
        (33, "members"),
    ]
    session.expire_all()
    assert _committee(session, "walikale-local").name == before
    assert _count(session, Committee) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- code: [\n", [(2, "yaml")]),
        ("- code: " + "[" * 5000, [(1, "yaml")]),
        ("".join("  " * i + "- \n" for i in range(200)), [(65, "yaml")]),
        ("- &c {code: a}\n- *c\n", [(2, "yaml")]),
        ("#" * (5 * 1024 * 1024 + 1), [(1, "yaml")]),
        ("code: walikale\n", [(1, "file")]),
        ("", [(1, "file")]),
        ("- just a string\n", [(1, "committee")]),
        (WALIKALE + WALIKALE, [(12, "code")]),
        (WALIKALE.replace("categories: all", "categories: []"), [(5, "categories")]),
        (WALIKALE.replace("  timezone: Africa/Lubumbashi\n", ""), [(1, "timezone")]),
        (WALIKALE.replace("language: sw", "language: sw\n  language: fr"), [(7, "language")]),
    ],
)
def test_malformed_files_name_the_line(
    session: Session, crypto: Crypto, text: str, expected: list[tuple[int, str]]
) -> None:
    assert _refusal(session, crypto, text) == expected
    assert _count(session, Committee) == 0


def test_lookups_and_deactivation(session: Session, crypto: Crypto, now: datetime) -> None:
    _import(session, crypto, WALIKALE + NATIONAL)
    assert [c.code for c in list_committees(session=session)] == ["cd-national", "walikale-local"]
    [member] = members_for_pseudonym(session=session, pseudonym=crypto.pseudonym("+243812345678"))
    assert member.committee.code == "walikale-local"
    assert deactivate_committee(session=session, code="walikale-local", now=now)
    assert not deactivate_committee(session=session, code="walikale-local", now=now)
    assert not deactivate_committee(session=session, code="nope", now=now)
    assert [c.code for c in list_committees(session=session)] == ["cd-national"]
    assert len(list_committees(session=session, active_only=False)) == 2
    assert members_for_pseudonym(session=session, pseudonym=crypto.pseudonym("+243812345678")) == []
    # Re-importing a committee makes it active again.
    _import(session, crypto, WALIKALE)
    assert _committee(session, "walikale-local").active
    assert _committee(session, "walikale-local").updated_at == IMPORTED_AT


def test_demo_committees_load_into_an_empty_table(session: Session, crypto: Crypto) -> None:
    assert load_demo_if_empty(session=session, crypto=crypto)
    committees = list_committees(session=session)
    assert {c.level for c in committees} == {"local", "provincial", "national"}
    national = {c.location.code for c in committees if c.level == "national"}
    assert national == {"cd", "rw", "bi"}
    assert any(c.categories is not None for c in committees)
    assert all(c.members for c in committees)
    assert not load_demo_if_empty(session=session, crypto=crypto)


def test_demo_committees_are_skipped_without_the_demo_places(
    session: Session, crypto: Crypto
) -> None:
    bukama = session.scalar(select(Location).where(Location.code == "cd-hl-bukama"))
    assert bukama is not None
    bukama.code = "somewhere-else"
    session.flush()
    assert not load_demo_if_empty(session=session, crypto=crypto)
    assert _count(session, Committee) == 0


WHATSAPP = """\
- code: cd-national
  name: DR Congo national committee
  level: national
  location: cd
  language: fr
  timezone: Africa/Kinshasa
  digest_at: "07:05"
  members:
    - {name: By WhatsApp, phone: "+243 81 000 0201", channel: whatsapp}
    - name: By SMS
      phone: "+243 99 000 0202"
      channel: sms
    - {name: Default, phone: "+243 97 000 0203"}
"""


def test_members_channel_is_read_from_the_file_and_defaults_to_sms(
    session: Session, crypto: Crypto
) -> None:
    _import(session, crypto, WHATSAPP + WALIKALE)
    channels = {m.name: m.channel for m in _committee(session, "cd-national").members}
    assert channels == {"By WhatsApp": "whatsapp", "By SMS": "sms", "Default": "sms"}
    assert [m.channel for m in _committee(session, "walikale-local").members] == ["sms"]
    # Re-importing with another channel updates the member; the same file changes nothing.
    moved = WHATSAPP.replace("channel: whatsapp}", "channel: sms}").replace(
        "      channel: sms\n", "      channel: whatsapp\n"
    )
    assert _import(session, crypto, moved) == ImportResult(created=0, updated=1)
    channels = {m.name: m.channel for m in _committee(session, "cd-national").members}
    assert channels == {"By WhatsApp": "sms", "By SMS": "whatsapp", "Default": "sms"}
    assert _import(session, crypto, moved) == ImportResult(created=0, updated=0, unchanged=1)


def test_an_unknown_or_empty_channel_is_refused_with_its_line(
    session: Session, crypto: Crypto
) -> None:
    text = (
        WHATSAPP.replace("channel: whatsapp}", "channel: telegram}")
        .replace("      channel: sms\n", "      channel: WhatsApp\n")
        .replace('"+243 97 000 0203"}', '"+243 97 000 0203", channel: ""}')
    )
    with pytest.raises(CommitteeImportError) as refused:
        _import(session, crypto, text)
    assert [(p.line, p.field, p.message) for p in refused.value.problems] == [
        (9, "members.channel", "one of sms, whatsapp"),
        (12, "members.channel", "one of sms, whatsapp"),
        (13, "members.channel", "empty"),
    ]
    assert str(refused.value).startswith("committees refused: line 9, members.channel: one of")
    assert _count(session, CommitteeMember) == 0


def test_forms_set_a_members_channel_and_an_edit_without_it_keeps_it(
    session: Session, crypto: Crypto, now: datetime
) -> None:
    _import(session, crypto, WALIKALE)
    committee = _committee(session, "walikale-local")
    values = {"name": "Second", "phone": "+243 81 000 0401", "language": "sw"}
    default = add_member(
        session=session, crypto=crypto, committee=committee, values=values, now=now
    )
    assert default.channel == "sms"
    member = add_member(
        session=session,
        crypto=crypto,
        committee=committee,
        values={**values, "phone": "+243 81 000 0402", "channel": "whatsapp"},
        now=now,
    )
    assert member.channel == "whatsapp"
    renamed = {"name": "Renamed", "phone": "+243 81 000 0402", "language": "sw"}
    assert update_member(
        session=session, crypto=crypto, member=member, values=renamed, now=now
    ) == ["name"]
    assert member.channel == "whatsapp"
    changed = update_member(
        session=session, crypto=crypto, member=member, values={**renamed, "channel": "sms"}, now=now
    )
    assert (changed, member.channel) == (["channel"], "sms")
    with pytest.raises(EditRefused) as refused:
        update_member(
            session=session,
            crypto=crypto,
            member=default,
            values={**values, "channel": "fax"},
            now=now,
        )
    assert [(p.field, p.message) for p in refused.value.problems] == [
        ("members.channel", "one of sms, whatsapp")
    ]
