"""The audit log writes one entry per action, filters by case and by users, says every
entry in a sentence, and exports the filtered entries as CSV (audited, admins only)."""

from __future__ import annotations

import ast
import csv
import io
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.backoffice.auditwords import SENTENCES, Names, sentence
from gateway.casework import Action
from storage import outbox
from storage.casenumber import display
from storage.db import utcnow
from storage.keys import load_crypto
from storage.models import AuditEntry, CommitteeMember
from storage.settings import Settings
from storage.users import VIEW_WINDOW, audit, audit_view
from tests.admin.conftest import Browser
from tests.api.conftest import DESCRIPTION, NOTE, PLACE_TEXT

ROOT = Path(__file__).resolve().parents[2]
AUDIT_CALLS = {"audit", "record", "_audit", "audit_view"}
CODE = re.compile(r"[a-z_]+\.[a-z_]+")


def _entries(db: sessionmaker[Session], actor: str | None = None) -> list[tuple[str, str | None]]:
    query = select(AuditEntry).order_by(AuditEntry.id)
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    with db() as session:
        return [(e.action, e.target) for e in session.scalars(query)]


def _case_entries(db: sessionmaker[Session], number: str) -> list[str]:
    return [action for action, target in _entries(db, "cora") if target == number]


# -- one entry per action ---------------------------------------------------------------------


def test_view_acknowledge_and_landing_back_are_two_entries(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    """Reading the case (its description shown) is one entry, acknowledging another; the
    page shown again after the acknowledgement, and a reload, add none."""
    number = file_case()
    cora = browser("coordinator")
    assert DESCRIPTION in cora.get(f"/admin/cases/{number}").text
    done = cora.post(f"/admin/cases/{number}/acknowledge")
    landing = cora.follow(done)
    assert landing.status_code == 200
    assert DESCRIPTION in landing.text
    assert cora.get(f"/admin/cases/{number}").status_code == 200
    assert _case_entries(db, number) == ["case.view_text", "case.acknowledge"]


def test_each_action_is_one_entry_and_the_landings_none(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    number = file_case()
    cora = browser("coordinator")
    cora.get(f"/admin/cases/{number}")
    cora.follow(cora.post(f"/admin/cases/{number}/note", {"text": "Called the chief"}))
    cora.follow(cora.post(f"/admin/cases/{number}/acknowledge"))
    assert _case_entries(db, number) == ["case.view_text", "case.note", "case.acknowledge"]


def test_another_users_view_is_its_own_entry_and_analysts_write_none(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    number = file_case()
    browser("coordinator").get(f"/admin/cases/{number}")
    browser("admin").get(f"/admin/cases/{number}")
    page = browser("analyst").get(f"/admin/cases/{number}")
    assert page.status_code == 200
    assert DESCRIPTION not in page.text
    views = [(a, t) for a, t in _entries(db) if a == "case.view_text"]
    assert len(views) == 2
    assert [a for a, t in _entries(db, "ana") if t == number] == []


def test_a_view_after_the_window_is_written_again(db: sessionmaker[Session]) -> None:
    """The rule itself, with the clock given: no entry of the same kind by the same user on
    the same target in the last VIEW_WINDOW, else the view is covered."""
    start = utcnow() - timedelta(hours=1)

    def view(actor: str, target: str, at: timedelta, action: str = "case.view_text") -> bool:
        with db.begin() as session:
            entry = audit_view(
                session=session, actor=actor, action=action, target=target, now=start + at
            )
            return entry is not None

    assert view("cora", "4821773506", timedelta(0))
    assert not view("cora", "4821773506", VIEW_WINDOW - timedelta(seconds=1))
    assert view("cora", "4821773506", VIEW_WINDOW * 2)
    assert view("ada", "4821773506", VIEW_WINDOW * 2)
    assert view("cora", "1111111111", VIEW_WINDOW * 2)
    # A signal and a message with the same id are different targets.
    assert view("cora", "7", timedelta(0), "outbox.view_text")
    assert view("cora", "7", timedelta(0), "signal.view_text")
    # An action on the case covers the view that follows it.
    with db.begin() as session:
        audit(
            session=session,
            actor="cora",
            action="case.acknowledge",
            target="2222222222",
            now=start + VIEW_WINDOW * 3,
        )
    assert not view("cora", "2222222222", VIEW_WINDOW * 3 + timedelta(minutes=1))


def test_outbox_message_view_retry_and_landing(
    browser: Callable[[str], Browser], db: sessionmaker[Session], settings: Settings
) -> None:
    """Reading a message, retrying it and landing back on it: two entries."""
    now = utcnow()
    with db.begin() as session:
        member = session.scalars(select(CommitteeMember).order_by(CommitteeMember.id)).first()
        assert member is not None
        message = outbox.queue_sms(
            session=session,
            crypto=load_crypto(settings),
            dedupe_key="audit-retry",
            to_e164=member.phone,
            body="Alert: case 482-177-3506",
            language="sw",
            kind="alert",
            recipient_kind="member",
            member_id=member.id,
            now=now,
        )
        assert message is not None
        message_id = message.id
    with db.begin() as session:
        assert outbox.claim_for_sending(session=session, message_id=message_id, now=now)
        outbox.mark_failed(
            session=session,
            message_id=message_id,
            final=True,
            error="refused",
            retry_at=None,
            now=now,
        )
    cora = browser("coordinator")
    cora.get(f"/admin/outbox/{message_id}")
    landing = cora.follow(cora.post(f"/admin/outbox/{message_id}/retry"))
    assert "is queued again" in landing.text
    cora.get(f"/admin/outbox/{message_id}")
    mine = [a for a, t in _entries(db, "cora") if t == str(message_id)]
    assert mine == ["outbox.view_text", "outbox.retry"]


# -- filters ----------------------------------------------------------------------------------


def _shown(page: str) -> list[str]:
    return re.findall(r'<td class="action"><code>([^<]+)</code></td>', page)


def test_filter_by_case_formatted_or_not(
    browser: Callable[[str], Browser], file_case: Callable[..., str]
) -> None:
    first, second = file_case(), file_case()
    cora = browser("coordinator")
    cora.get(f"/admin/cases/{first}")
    cora.follow(cora.post(f"/admin/cases/{first}/acknowledge"))
    cora.get(f"/admin/cases/{second}")
    admin = browser("admin")
    for typed in (first, display(first), display(first).replace("-", " ")):
        page = admin.get("/admin/audit", params={"case": typed})
        assert page.status_code == 200
        assert _shown(page.text) == ["case.acknowledge", "case.view_text"], typed
    bad = admin.get("/admin/audit", params={"case": "12345"})
    assert bad.status_code == 400
    assert "10 digits" in bad.text


def test_filter_by_a_list_of_users(
    browser: Callable[[str], Browser], db: sessionmaker[Session]
) -> None:
    now = utcnow()
    with db.begin() as session:
        for actor in ("cora", "ana", "someone"):
            audit(session=session, actor=actor, action="export.stats", data={"rows": 3}, now=now)
    admin = browser("admin")
    page = admin.get("/admin/audit?action=export.stats&user=cora&user=ana").text
    assert _shown(page) == ["export.stats", "export.stats"]
    assert '<option value="cora" selected>cora</option>' in page
    assert '<option value="ana" selected>ana</option>' in page
    assert '<option value="ada">ada</option>' in page
    only = admin.get("/admin/audit?action=export.stats&user=someone").text
    assert _shown(only) == ["export.stats"]
    # The page links keep every user chosen.
    assert "user=cora&amp;user=ana" in page
    many = "&".join(f"user=u{n}" for n in range(51))
    assert admin.get(f"/admin/audit?{many}").status_code == 400


# -- sentences --------------------------------------------------------------------------------


def _sources() -> Iterator[Path]:
    for package in ("gateway", "storage", "workers"):
        yield from (ROOT / package).rglob("*.py")


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _codes(node: ast.AST, constants: dict[str, str]) -> Iterator[str]:
    """Every action code an expression may be: literals, both sides of an if, constants,
    and case.{Action} for an f-string that starts with "case."."""
    for sub in ast.walk(node):
        if (
            isinstance(sub, ast.Constant)
            and isinstance(sub.value, str)
            and CODE.fullmatch(sub.value)
        ):
            yield sub.value
        elif isinstance(sub, ast.Name) and sub.id in constants:
            yield constants[sub.id]
        elif isinstance(sub, ast.JoinedStr) and sub.values:
            head = sub.values[0]
            if isinstance(head, ast.Constant) and head.value == "case.":
                yield from (f"case.{action}" for action in Action)


def _module_codes(tree: ast.Module) -> Iterator[str]:
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name)
        and isinstance(node.value.value, str)
        and CODE.fullmatch(node.value.value)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func) in AUDIT_CALLS:
            for arg in [*node.args, *(k.value for k in node.keywords if k.arg in (None, "action"))]:
                yield from _codes(arg, constants)
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "action" for t in node.targets
        ):
            yield from _codes(node.value, constants)


def written_codes() -> set[str]:
    """Every action code the code base writes into the audit log."""
    found: set[str] = set()
    for path in _sources():
        found.update(_module_codes(ast.parse(path.read_text(), str(path))))
    # File names and the voice texts' ids reach these calls too; they are no actions.
    return {code for code in found if not code.endswith((".html", ".csv", ".py"))}


def test_every_action_code_has_a_sentence() -> None:
    codes = written_codes()
    # The collector finds the codes of every layer: console, API, commands, storage, jobs.
    assert {"case.acknowledge", "case.view_text", "export.cases", "recording.listen"} <= codes
    assert {
        "retention.purge",
        "keys.rotate_pseudonym",
        "flows.rollback",
        "outbox.previews",
    } <= codes
    assert "audit.export" in codes
    missing = sorted(code for code in codes if code not in SENTENCES)
    assert missing == []


@pytest.mark.parametrize("code", sorted(SENTENCES))
def test_each_sentence_reads_without_its_code(code: str) -> None:
    entry = AuditEntry(action=code, target="4821773506", data={}, actor="ada", at=utcnow())
    said = str(sentence(entry, Names()))
    assert said
    assert said[0].isupper()
    assert code not in said


def test_page_says_entries_in_sentences_with_the_case_linked(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    number = file_case()
    cora = browser("coordinator")
    cora.get(f"/admin/cases/{number}")
    cora.follow(cora.post(f"/admin/cases/{number}/acknowledge"))
    cora.follow(
        cora.post(f"/admin/cases/{number}/reassign", {"committee": "north-kivu-provincial"})
    )
    with db.begin() as session:
        audit(
            session=session,
            actor="ada",
            action="export.cases",
            data={"rows": 120, "filters": {}, "include_text": False},
            now=utcnow(),
        )
    page = browser("admin").get("/admin/audit").text
    link = f'<a href="/admin/cases/{number}">{display(number)}</a>'
    assert f"Acknowledged case {link}" in page
    assert f"Viewed the description of case {link}" in page
    assert "Exported cases (CSV, 120 rows)" in page
    assert '<td class="action"><code>case.acknowledge</code></td>' in page
    assert "changed=" not in page
    assert "by_sms=" not in page


# -- CSV export -------------------------------------------------------------------------------


def test_export_is_the_filtered_entries_audited_and_without_free_text(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    number = file_case()
    cora = browser("coordinator")
    cora.get(f"/admin/cases/{number}")
    cora.follow(cora.post(f"/admin/cases/{number}/note", {"text": NOTE}))
    admin = browser("admin")
    page = admin.get("/admin/audit", params={"case": display(number)}).text
    assert f'href="/admin/audit/export.csv?case={display(number)}"' in page
    response = admin.get("/admin/audit/export.csv", params={"case": display(number)})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["action"] for row in rows] == ["case.note", "case.view_text"]
    assert rows[0]["sentence"] == f"Added a note to case {display(number)}"
    assert {row["target"] for row in rows} == {number}
    for text in (DESCRIPTION, NOTE, PLACE_TEXT, "+243990000042", "990000042"):
        assert text not in response.text
    with db() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.export")).one()
    assert (entry.actor, entry.data) == ("ada", {"filters": ["target"], "rows": 2})


@pytest.mark.parametrize("role", ["coordinator", "analyst"])
def test_only_admins_export(
    browser: Callable[[str], Browser], db: sessionmaker[Session], role: str
) -> None:
    assert browser(role).get("/admin/audit/export.csv").status_code == 403
    assert "audit.export" not in [action for action, _ in _entries(db)]


def test_bad_export_filters_are_4xx(browser: Callable[[str], Browser]) -> None:
    admin = browser("admin")
    assert admin.get("/admin/audit/export.csv?case=nope").status_code == 400
    assert admin.get("/admin/audit/export.csv?from=2026-05-02&to=2026-05-01").status_code == 400
    assert admin.get("/admin/audit/export.csv?action=" + "a" * 65).status_code == 422
