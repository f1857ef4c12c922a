"""Committees in the console: list, create, edit, (de)activate, members, YAML import."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import AuditEntry, Committee, CommitteeMember
from tests.admin.conftest import Browser

GOOD_FORM: dict[str, Any] = {
    "code": "masisi-local",
    "name": "Masisi local committee",
    "level": "local",
    "location": "cd-nk-masisi",
    "categories_mode": "some",
    "categories": ["violence", "illegal_tax"],
    "language": "fr",
    "timezone": "Africa/Lubumbashi",
    "digest_at": "17:30",
    "ack_critical": "1h",
    "ack_high": "",
    "ack_medium": "2d",
    "ack_low": "",
    "action_critical": "1d",
    "action_high": "",
    "action_medium": "",
    "action_low": "",
    "close_critical": "5d",
    "close_high": "",
    "close_medium": "",
    "close_low": "45d",
}
FOCAL_PHONE = "+243 81 000 0001"


def _committee(db: sessionmaker[Session], code: str) -> Committee:
    with db() as session:
        committee = session.scalars(select(Committee).where(Committee.code == code)).one()
        _ = committee.members
        return committee


def _actions(db: sessionmaker[Session]) -> list[tuple[str, str | None, dict[str, Any]]]:
    with db() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(entry.action, entry.target, entry.data) for entry in entries]


def _upload(user: Browser, path: str, name: str, content: bytes) -> Any:
    user._use()
    return user.client.post(
        path,
        data={"csrf_token": user.csrf},
        files={"file": (name, io.BytesIO(content), "application/octet-stream")},
        follow_redirects=False,
    )


def test_list_shows_committees_with_counts(browser: Callable[[str], Browser]) -> None:
    page = browser("coordinator").get("/admin/committees")
    assert page.status_code == 200
    assert "walikale-local" in page.text
    assert "Walikale local stakeholder committee" in page.text


def test_create_then_edit_a_committee(
    browser: Callable[[str], Browser], db: sessionmaker[Session]
) -> None:
    admin = browser("admin")
    assert admin.get("/admin/committees/new").status_code == 200
    created = admin.post("/admin/committees", GOOD_FORM)
    assert created.status_code == 303, created.text
    assert created.headers["location"] == "/admin/committees/masisi-local"
    committee = _committee(db, "masisi-local")
    assert committee.categories == ["violence", "illegal_tax"]
    assert committee.ack_deadlines["critical"] == 3600
    assert committee.ack_deadlines["medium"] == 2 * 86400
    assert committee.ack_deadlines["high"] == 24 * 3600
    assert committee.action_deadlines == {
        "critical": 86400,
        "high": 7 * 86400,
        "medium": 14 * 86400,
        "low": 30 * 86400,
    }
    assert committee.close_deadlines["critical"] == 5 * 86400
    assert committee.close_deadlines["low"] == 45 * 86400
    assert committee.close_deadlines["high"] == 30 * 86400
    assert committee.digest_at == "17:30"
    page = admin.follow(created)
    assert "Masisi local committee" in page.text
    for shown in ("1h", "5d", "45d", "14d"):
        assert f"<td>{shown}</td>" in page.text, shown
    form = admin.get("/admin/committees/masisi-local/edit")
    assert 'name="action_critical" value="1d"' in form.text
    assert 'name="close_low" value="45d"' in form.text

    edit = dict(GOOD_FORM, name="Masisi committee", categories_mode="all", digest_at="7:05")
    saved = admin.post("/admin/committees/masisi-local", edit)
    assert saved.status_code == 303
    committee = _committee(db, "masisi-local")
    assert (committee.name, committee.categories, committee.digest_at) == (
        "Masisi committee",
        None,
        "07:05",
    )
    actions = _actions(db)
    assert ("committee.create", "masisi-local", {}) in actions
    update = next(a for a in actions if a[0] == "committee.update")
    assert update[1] == "masisi-local"
    assert update[2] == {"fields": ["categories", "digest_at", "name"]}

    later = dict(edit, action_high="3d", close_critical="")
    assert admin.post("/admin/committees/masisi-local", later).status_code == 303
    committee = _committee(db, "masisi-local")
    assert committee.action_deadlines["high"] == 3 * 86400
    assert committee.close_deadlines["critical"] == 7 * 86400  # empty: the default again
    update = [a for a in _actions(db) if a[0] == "committee.update"][-1]
    assert update[2] == {"fields": ["action_deadlines", "close_deadlines"]}


def test_bad_committee_form_names_each_field_and_writes_nothing(
    browser: Callable[[str], Browser], db: sessionmaker[Session]
) -> None:
    bad = dict(
        GOOD_FORM,
        code="Bad Code",
        location="nowhere",
        timezone="Mars/Olympus",
        digest_at="25:00",
        ack_high="soon",
        action_low="0d",
        close_medium="sixty days",
        language="xx",
    )
    page = browser("admin").post("/admin/committees", bad)
    assert page.status_code == 422
    for text in (
        "code: use lower-case letters, digits and dashes",
        "location: unknown location",
        "timezone: not an IANA time zone name",
        "digest_at: a local time",
        "ack_deadlines: a duration such as 90m, 2h or 3d",
        "action_deadlines: a duration such as 90m, 2h or 3d",
        "close_deadlines: a duration such as 90m, 2h or 3d",
        "language: one of sw, fr",
    ):
        assert text in page.text, text
    assert 'value="Masisi local committee"' in page.text
    with db() as session:
        assert session.scalar(select(Committee).where(Committee.code == "bad code")) is None


def test_duplicate_code_is_refused(browser: Callable[[str], Browser]) -> None:
    page = browser("admin").post("/admin/committees", dict(GOOD_FORM, code="walikale-local"))
    assert page.status_code == 422
    assert "already a committee" in page.text


def test_deactivate_and_reactivate_are_audited(
    browser: Callable[[str], Browser], db: sessionmaker[Session]
) -> None:
    user = browser("coordinator")
    done = user.post("/admin/committees/walikale-local/active", {"active": "no"})
    assert done.status_code == 303
    assert not _committee(db, "walikale-local").active
    assert "inactive" in user.follow(done).text
    user.post("/admin/committees/walikale-local/active", {"active": "yes"})
    assert _committee(db, "walikale-local").active
    actions = [a[:2] for a in _actions(db)]
    assert ("committee.deactivate", "walikale-local") in actions
    assert ("committee.reactivate", "walikale-local") in actions
    bad = user.post("/admin/committees/walikale-local/active", {"active": "maybe"})
    assert bad.status_code == 400


def test_unknown_committee_is_404(browser: Callable[[str], Browser]) -> None:
    user = browser("admin")
    assert user.get("/admin/committees/no-such").status_code == 404
    assert user.get("/admin/committees/NOT%20A%20CODE").status_code == 422
    assert user.post("/admin/committees/no-such", GOOD_FORM).status_code == 404
    assert user.get("/admin/committees/walikale-local/members/999999").status_code == 404
    assert user.get("/admin/committees/walikale-local/members/99999999999").status_code == 422


def test_members_show_masked_numbers_and_edit_form_shows_full(
    browser: Callable[[str], Browser], db: sessionmaker[Session]
) -> None:
    user = browser("coordinator")
    page = user.get("/admin/committees/walikale-local")
    assert "+243 ••• ••• 001" in page.text
    assert "+243810000001" not in page.text
    assert "81 000 0001" not in page.text
    member = next(m for m in _committee(db, "walikale-local").members if m.phone.endswith("1"))
    form = user.get(f"/admin/committees/walikale-local/members/{member.id}")
    assert 'value="+243810000001"' in form.text


def test_add_member_with_a_local_number_and_a_bad_one(
    browser: Callable[[str], Browser], db: sessionmaker[Session]
) -> None:
    user = browser("admin")
    added = user.post(
        "/admin/committees/walikale-local/members",
        {"name": "New focal point", "phone": "0812223344", "language": "ln"},
    )
    assert added.status_code == 303
    members = {m.name: m for m in _committee(db, "walikale-local").members}
    assert members["New focal point"].phone == "+243812223344"
    assert members["New focal point"].language == "ln"

    bad = user.post(
        "/admin/committees/walikale-local/members",
        {"name": "Wrong", "phone": "12", "language": "sw"},
    )
    assert bad.status_code == 422
    assert "phone: " in bad.text
    assert "write it as +243" in bad.text
    again = user.post(
        "/admin/committees/walikale-local/members",
        {"name": "Twice", "phone": "+243812223344", "language": "sw"},
    )
    assert again.status_code == 422
    assert "already a member" in again.text
    wrong_language = user.post(
        "/admin/committees/walikale-local/members",
        {"name": "Lang", "phone": "+243812223355", "language": "de"},
    )
    assert wrong_language.status_code == 422
    assert "language: one of" in wrong_language.text
    names = [m.name for m in _committee(db, "walikale-local").members]
    assert "Wrong" not in names
    assert "Lang" not in names
    audit = [a for a in _actions(db) if a[0] == "member.add"]
    assert len(audit) == 1
    assert "+243" not in repr(audit)


def test_edit_and_deactivate_a_member(
    browser: Callable[[str], Browser], db: sessionmaker[Session]
) -> None:
    user = browser("coordinator")
    member = _committee(db, "walikale-local").members[0]
    path = f"/admin/committees/walikale-local/members/{member.id}"
    bad = user.post(path, {"name": "", "phone": "not a phone", "language": "sw"})
    assert bad.status_code == 422
    assert "name: " in bad.text
    assert "phone: " in bad.text
    done = user.post(path, {"name": "Renamed", "phone": "+243 81 999 0001", "language": "fr"})
    assert done.status_code == 303
    with db() as session:
        saved = session.get_one(CommitteeMember, member.id)
        assert (saved.name, saved.phone, saved.language) == ("Renamed", "+243819990001", "fr")
        assert saved.phone_pseudonym != member.phone_pseudonym
    off = user.post(path + "/active", {"active": "no"})
    assert off.status_code == 303
    with db() as session:
        assert not session.get_one(CommitteeMember, member.id).active
    actions = _actions(db)
    target = f"walikale-local/member/{member.id}"
    assert ("member.update", target, {"fields": ["language", "name", "phone"]}) in actions
    assert ("member.deactivate", target, {}) in actions
    assert "+243" not in repr(actions)


def test_a_members_channel_round_trips_through_the_forms(
    browser: Callable[[str], Browser], db: sessionmaker[Session]
) -> None:
    user = browser("coordinator")
    form = {"name": "By WhatsApp", "phone": "+243 81 222 0001", "language": "sw"}
    added = user.post("/admin/committees/walikale-local/members", form | {"channel": "whatsapp"})
    assert added.status_code == 303, added.text
    member = next(m for m in _committee(db, "walikale-local").members if m.name == "By WhatsApp")
    assert member.channel == "whatsapp"
    page = user.get("/admin/committees/walikale-local")
    assert '<th scope="col">Reached by</th>' in page.text
    assert "<td>WhatsApp</td>" in page.text
    assert '<option value="whatsapp">WhatsApp</option>' in page.text  # the add form: SMS first
    path = f"/admin/committees/walikale-local/members/{member.id}"
    edit = user.get(path)
    assert '<option value="whatsapp" selected>WhatsApp</option>' in edit.text
    # A form without the field keeps the channel; the field changes it.
    assert user.post(path, form | {"name": "Renamed"}).status_code == 303
    with db() as session:
        assert session.get_one(CommitteeMember, member.id).channel == "whatsapp"
    assert user.post(path, form | {"channel": "sms"}).status_code == 303
    with db() as session:
        assert session.get_one(CommitteeMember, member.id).channel == "sms"
    update = [a for a in _actions(db) if a[0] == "member.update"]
    assert [a[2] for a in update] == [{"fields": ["name"]}, {"fields": ["channel", "name"]}]
    default = user.post(
        "/admin/committees/walikale-local/members",
        {"name": "By SMS", "phone": "+243 81 222 0002", "language": "sw"},
    )
    assert default.status_code == 303
    assert {m.name: m.channel for m in _committee(db, "walikale-local").members}["By SMS"] == "sms"


def test_an_unknown_channel_is_refused_in_both_member_forms(
    browser: Callable[[str], Browser], db: sessionmaker[Session]
) -> None:
    user = browser("admin")
    form = {"name": "Pigeon", "phone": "+243 81 222 0003", "language": "sw", "channel": "pigeon"}
    refused = user.post("/admin/committees/walikale-local/members", form)
    assert refused.status_code == 422
    assert "channel: one of sms, whatsapp" in refused.text
    assert "Pigeon" not in [m.name for m in _committee(db, "walikale-local").members]
    member = _committee(db, "walikale-local").members[0]
    path = f"/admin/committees/walikale-local/members/{member.id}"
    edit = user.post(
        path,
        {"name": member.name, "phone": member.phone, "language": "sw"} | {"channel": "telegram"},
    )
    assert edit.status_code == 422
    assert "channel: one of sms, whatsapp" in edit.text
    with db() as session:
        assert session.get_one(CommitteeMember, member.id).channel == "sms"


YAML_CHANNELS = b"""\
- code: walikale-local
  name: Walikale local stakeholder committee
  level: local
  location: cd-nk-walikale
  categories: all
  language: sw
  timezone: Africa/Lubumbashi
  digest_at: "18:00"
  members:
    - {name: A, phone: "+243 81 000 0001", channel: whatsapp}
    - {name: B, phone: "+243 81 000 0009", channel: carrier-pigeon}
"""


def test_yaml_import_reads_channels_and_names_the_line_of_a_bad_one(
    browser: Callable[[str], Browser], db: sessionmaker[Session]
) -> None:
    user = browser("admin")
    page = _upload(user, "/admin/committees/import", "c.yaml", YAML_CHANNELS)
    assert page.status_code == 422
    assert "Line 11, members.channel: one of sms, whatsapp" in page.text
    assert all(m.channel == "sms" for m in _committee(db, "walikale-local").members)
    good = YAML_CHANNELS.replace(b"carrier-pigeon", b"sms")
    assert _upload(user, "/admin/committees/import", "c.yaml", good).status_code == 303
    channels = {m.phone: m.channel for m in _committee(db, "walikale-local").members if m.active}
    assert channels == {"+243810000001": "whatsapp", "+243810000009": "sms"}


YAML_BAD = b"""\
- code: walikale-local
  name: Walikale renamed
  level: local
  location: cd-nk-walikale
  categories: all
  language: sw
  timezone: Africa/Lubumbashi
  digest_at: "18:00"
  members:
    - {name: A, phone: "+243 81 000 0001"}
    - {name: B, phone: "not a number"}
"""

YAML_GOOD = YAML_BAD.replace(b"not a number", b"+243 81 000 0009")


def test_yaml_import_with_an_error_shows_the_line_and_changes_nothing(
    browser: Callable[[str], Browser], db: sessionmaker[Session]
) -> None:
    page = _upload(browser("admin"), "/admin/committees/import", "c.yaml", YAML_BAD)
    assert page.status_code == 422
    assert "Line 11, members.phone: not a phone number" in page.text
    assert "Nothing was imported" in page.text
    assert _committee(db, "walikale-local").name == "Walikale local stakeholder committee"


def test_yaml_import_applies_a_good_file(
    browser: Callable[[str], Browser], db: sessionmaker[Session]
) -> None:
    user = browser("coordinator")
    done = _upload(user, "/admin/committees/import", "c.yaml", YAML_GOOD)
    assert done.status_code == 303
    assert "0 committees created, 1 updated" in user.follow(done).text
    committee = _committee(db, "walikale-local")
    assert committee.name == "Walikale renamed"
    assert {m.phone for m in committee.members if m.active} == {"+243810000001", "+243810000009"}
    assert ("committee.import", None, {"created": 0, "updated": 1, "unchanged": 0}) in _actions(db)


def test_yaml_import_refuses_bad_files_with_4xx(browser: Callable[[str], Browser]) -> None:
    user = browser("admin")
    assert (
        _upload(user, "/admin/committees/import", "c.yaml", b"\xff\xfe\x00bad").status_code == 400
    )
    big = b"#" * (5 * 1024 * 1024 + 10)
    assert _upload(user, "/admin/committees/import", "c.yaml", big).status_code == 413
    not_list = _upload(user, "/admin/committees/import", "c.yaml", b"code: x\n")
    assert not_list.status_code == 422
    assert "expected a list of committees" in not_list.text
    broken = _upload(user, "/admin/committees/import", "c.yaml", b"- [unclosed\n")
    assert broken.status_code == 422
    assert "Line 2, yaml" in broken.text
    deep = _upload(user, "/admin/committees/import", "c.yaml", b"- " + b"[" * 5000)
    assert deep.status_code == 422
    assert "Line 1, yaml: nested deeper than 64 levels" in deep.text
    aliased = _upload(user, "/admin/committees/import", "c.yaml", b"- &c {code: a}\n- *c\n")
    assert aliased.status_code == 422
    assert "Line 2, yaml: aliases (*c) are not accepted" in aliased.text
    assert user.post("/admin/committees/import", {}).status_code == 400


def test_analyst_may_not_open_committees(browser: Callable[[str], Browser]) -> None:
    analyst = browser("analyst")
    assert analyst.get("/admin/committees").status_code == 403
    assert analyst.get("/admin/committees/walikale-local").status_code == 403
    assert analyst.post("/admin/committees", GOOD_FORM).status_code == 403
