"""One case through the whole grievance loop, by USSD and SMS alone, on the demo data:

a reporter files at Bisie by USSD and is told when the committee answers (END screen and
confirmation SMS); the Walikale focal point acknowledges it, records an action due in 3
days, is reminded the day before (the sweep's function run at a frozen local time), marks
it done and another member verifies it; CLOSE resolved sends the outcome with "Reply 1 if
solved, 2 if not."; the reporter's "2" appeals the case to the North Kivu provincial
committee with an alert there; the provincial committee acknowledges and closes it; the
reporter, whose number went at the first closing, answers "solved" in the USSD status
check. Then the quarterly report of both committees shows the figures, /public/stats shows
the performance row with every small count hidden, and the reporter's number is nowhere in
clear at rest.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway import cli, commands
from storage import satisfaction
from storage.keys import load_crypto
from storage.models import (
    Case,
    CaseAction,
    CaseAssignment,
    CaseEvent,
    Committee,
    OutboxMessage,
)
from storage.outbox import message_body
from storage.performance import Quarter, Raw
from storage.quarterly import quarterly_report
from storage.settings import Settings
from tests.conftest import AT_TOKEN, TWILIO_TOKEN
from tests.gateway.conftest import SmsPhone, UssdPhone, outbox_texts
from tests.leaks import find_leaks, number_forms
from workers.actions import REMINDER, remind_due_actions
from workers.context import message_catalogs
from workers.texts import fill

PUBLIC = "https://sauti.example.org"
REPORTER = "+243997004321"
WALIKALE_SW = "+243810000001"  # walikale-local focal point, Kiswahili
WALIKALE_FR = "+243810000002"  # walikale-local mining service, French
NORTH_KIVU = "+243810000101"  # north-kivu-provincial focal point, French
ZONE = ZoneInfo("Africa/Lubumbashi")  # the Walikale committee's calendar
CASE_NUMBER = re.compile(r"\d{3}-\d{3}-\d{4}")
ACTION_TEXT = "Visite de la barriere avec la police des mines"


# -- the phones -----------------------------------------------------------------------------


def sms(client: TestClient, number: str) -> SmsPhone:
    return SmsPhone(client=client, number=number, token=TWILIO_TOKEN, public_url=PUBLIC)


def said(lang: str, msgid: str, **values: str) -> str:
    """What the service replies to a focal point with `msgid` in `lang`."""
    translator = message_catalogs(("en",)).translator(lang)
    return fill(translator, msgid, values, shrink="committee")


def reminder(lang: str, number: str, due_on: date) -> str:
    """The reminder a member reads in `lang` the day before the action is due."""
    values = {
        "case": number,
        "number": number.replace("-", ""),
        "n": "1",
        "due": f"{due_on:%d/%m}",
        "what": ACTION_TEXT,
        "committee": "",
        "severity": "medium",
    }
    translator = message_catalogs(("en",)).translator(lang)
    return fill(translator, REMINDER, values, shrink="what", frame='"{}" ')


def file_by_ussd(phone: UssdPhone) -> str:
    """An illegal tax at Bisie (Walikale), no danger now, SMS news wanted: the END screen."""
    screen = phone.dial()
    if "English" in screen:
        phone.choose("English")
    phone.choose("Report a problem")
    phone.choose("Illegal tax")
    phone.choose("North Kivu")
    phone.choose("Walikale")
    phone.choose("Bisie")
    phone.choose("Today")
    phone.choose("No")
    phone.press("At the barrier")
    phone.choose("Yes")
    return phone.choose("Send")


def status_screen(phone: UssdPhone, number: str) -> str:
    screen = phone.dial()
    if "English" in screen:
        phone.choose("English")
    phone.choose("Check a report")
    return phone.press(number.replace("-", ""))


# -- what was stored ------------------------------------------------------------------------


def the_case(db: sessionmaker[Session], number: str) -> Case:
    with db() as session:
        case = session.scalar(select(Case).where(Case.number == number.replace("-", "")))
        assert case is not None
        session.expunge(case)
        return case


def event_kinds(db: sessionmaker[Session], case_id: int) -> list[str]:
    with db() as session:
        query = select(CaseEvent.kind).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        return [str(kind) for kind in session.scalars(query)]


def events_of(db: sessionmaker[Session], case_id: int, kind: str) -> list[dict[str, object]]:
    with db() as session:
        query = (
            select(CaseEvent.data)
            .where(CaseEvent.case_id == case_id, CaseEvent.kind == kind)
            .order_by(CaseEvent.id)
        )
        return [dict(data or {}) for data in session.scalars(query)]


def the_action(db: sessionmaker[Session], case_id: int) -> CaseAction:
    with db() as session:
        [action] = session.scalars(select(CaseAction).where(CaseAction.case_id == case_id))
        session.expunge(action)
        return action


def holders(db: sessionmaker[Session], case_id: int) -> set[str]:
    """The committees holding the case that have not passed it up."""
    with db() as session:
        query = (
            select(Committee.code)
            .join(CaseAssignment, CaseAssignment.committee_id == Committee.id)
            .where(
                CaseAssignment.case_id == case_id,
                CaseAssignment.active.is_(True),
                CaseAssignment.escalated_at.is_(None),
            )
        )
        return set(session.scalars(query))


def committee_name(db: sessionmaker[Session], code: str) -> str:
    with db() as session:
        name = session.scalar(select(Committee.name).where(Committee.code == code))
        assert name is not None
        return name


def texts_to(settings: Settings, number: str, kind: str | None = None) -> list[str]:
    """The texts queued for a committee member's number (of `kind`), in clear."""
    return [str(m["body"]) for m in outbox_texts(settings, kind) if m["to"] == number]


def to_reporter(db: sessionmaker[Session], settings: Settings, kind: str) -> list[str]:
    """The texts of `kind` sent to REPORTER, in clear. A reporter's number is dropped from
    each row once sent, so the rows are found by the number's pseudonym."""
    crypto = load_crypto(settings)
    with db() as session:
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.to_pseudonym == crypto.pseudonym(REPORTER),
                OutboxMessage.kind == kind,
            )
            .order_by(OutboxMessage.id)
        )
        rows = list(session.scalars(query))
        assert all(row.recipient_kind == "reporter" for row in rows)
        assert all(row.to_enc is None and row.status in ("sent", "delivered") for row in rows)
        return [message_body(crypto=crypto, message=row) for row in rows]


def at_local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE).astimezone(UTC)


# -- the figures ----------------------------------------------------------------------------


def figures(db: sessionmaker[Session], code: str, quarter: Quarter) -> Raw:
    with db() as session:
        report = quarterly_report(
            session=session, committee=code, quarter=quarter, now=datetime.now(UTC)
        )
    assert report.trend[-1][0] == quarter
    return report.figures


def report_html(run_cli: CliRunner, code: str, quarter: Quarter, out: Path) -> str:
    args = ["report", "quarterly", "--committee", code, "--quarter", str(quarter)]
    result = run_cli.invoke(cli.main, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def performance_row(html: str, quarter: Quarter) -> list[str]:
    """The cells of the quarter's row in the report's performance table."""
    found = re.search(rf"<tr><th scope=\"row\">{quarter}</th>\n(.*?)</tr>", html, re.DOTALL)
    assert found is not None, html
    return re.findall(r'<td class="num">(.*?)</td>', found.group(1))


def public_performance_rows(html: str) -> list[str]:
    """The rows of the public page's performance tables (after its heading)."""
    tail = html.split('<h2 id="performance">', 1)[1]
    return re.findall(r"<tr><th scope=\"row\">\d{4}Q[1-4]</th>.*?</tr>", tail, re.DOTALL)


# -- the loop -------------------------------------------------------------------------------


def test_a_case_runs_the_whole_loop_by_ussd_and_sms(
    app_client: TestClient,
    run_cli: CliRunner,
    db: sessionmaker[Session],
    settings: Settings,
    redis_client: redis.Redis,
    run_jobs: Callable[[], None],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    walikale, other_member = sms(app_client, WALIKALE_SW), sms(app_client, WALIKALE_FR)
    provincial = sms(app_client, NORTH_KIVU)
    reporter_ussd = UssdPhone(client=app_client, number=REPORTER, token=AT_TOKEN)
    reporter_sms = sms(app_client, REPORTER)

    # 1. The report, by USSD: the END screen says within how long Walikale answers.
    final = file_by_ussd(reporter_ussd)
    assert final.startswith("END Report sent.")
    assert final.endswith("\nThe committee answers within 3 days.")
    assert len(final) <= 160
    found = CASE_NUMBER.search(final)
    assert found is not None, final
    number = found.group(0)
    digits = number.replace("-", "")
    run_jobs()  # routing, the confirmation and the committee's alert
    case = the_case(db, number)
    assert (case.status, case.severity, case.itsci_level) == ("routed", "medium", 2)
    assert case.consent_updates
    assert case.contact_enc is not None
    assert holders(db, case.id) == {"walikale-local"}
    assert case.routed_at is not None
    answer_due = (case.routed_at + timedelta(days=3)).astimezone(ZONE)
    waiting = status_screen(reporter_ussd, number)
    assert f"\nWaiting, answer due by {answer_due:%d/%m %H:%M}." in waiting
    assert "Is the problem solved?" not in waiting
    # ... and so does the confirmation SMS.
    [confirmation] = to_reporter(db, settings, "confirmation")
    assert number in confirmation
    assert "The committee answers within 3 days. To follow your case, send STATUS" in confirmation
    assert texts_to(settings, WALIKALE_SW, "alert")
    assert texts_to(settings, WALIKALE_FR, "alert")

    # 2. The acknowledgement, by SMS from the Walikale focal point.
    assert walikale.send(f"ACK {number}") == said("sw", commands.ACKNOWLEDGED, case=number)
    case = the_case(db, number)
    assert case.status == "acknowledged"
    assert case.acknowledged_at is not None

    # 3. An action due in 3 days of Walikale's calendar, owned by the focal point.
    recorded = datetime.now(UTC)
    due_on = recorded.astimezone(ZONE).date() + timedelta(days=3)
    reply = walikale.send(f"ACT {number} 3 {ACTION_TEXT}")
    assert reply == said("sw", commands.ACTION_ADDED, case=number, n="1", due=f"{due_on:%d/%m}")
    action = the_action(db, case.id)
    assert (action.n, action.status, action.due_on, action.reminded_at) == (
        1,
        "planned",
        due_on,
        None,
    )
    assert ACTION_TEXT.encode() not in action.what_enc

    # 4. The reminder: nothing before the eve of the due date, nor on the eve before 08:00;
    # from 08:00 local time on the eve, one SMS to each Walikale member, once.
    eve = due_on - timedelta(days=1)
    assert remind_due_actions(now=at_local(eve - timedelta(days=1), 9)) == 0
    assert remind_due_actions(now=at_local(eve, 7, 30)) == 0
    reminded_at = at_local(eve, 9)
    assert remind_due_actions(now=reminded_at) == 1
    assert remind_due_actions(now=reminded_at + timedelta(hours=2)) == 0
    run_jobs()
    for member, lang in ((WALIKALE_SW, "sw"), (WALIKALE_FR, "fr")):
        assert texts_to(settings, member)[-1] == reminder(lang, number, due_on)
    assert the_action(db, case.id).reminded_at is not None
    assert not texts_to(settings, NORTH_KIVU)  # nothing passed up

    # 5. DONE by the focal point, VERIFY by another member of the committee.
    assert walikale.send(f"DONE {number} 1") == said("sw", commands.ACTION_DONE, case=number, n="1")
    assert other_member.send(f"VERIFY {number} 1") == said(
        "fr", commands.ACTION_VERIFIED, case=number, n="1"
    )
    action = the_action(db, case.id)
    assert action.status == "verified"
    assert action.done_at is not None
    assert action.done_at.astimezone(ZONE).date() <= due_on
    assert action.verified_by != action.done_by

    # 6. The first closing: resolved (every action done, no note needed); the reporter is
    # told the outcome and asked for their say, and their number is dropped.
    assert other_member.send(f"CLOSE {number} resolved") == f"Dossier {number} clos : résolu."
    run_jobs()
    assert to_reporter(db, settings, "closing") == [
        f"Sauti case {number} is closed: the problem was resolved. Thank you for reporting. "
        "Reply 1 if solved, 2 if not."
    ]
    case = the_case(db, number)
    assert (case.status, case.outcome, case.contact_enc) == ("closed", "resolved", None)
    first_closing = case.closed_at
    assert first_closing is not None

    # 7. The reporter's "not solved", by SMS: the case goes to the provincial committee as an
    # appeal, with an alert there.
    north_kivu = committee_name(db, "north-kivu-provincial")
    assert reporter_sms.send("2") == (
        f"Sauti case {number} is open again: it goes to {north_kivu}, the committee above. "
        f"To follow it, send STATUS {digits}."
    )
    case = the_case(db, number)
    assert (case.status, case.satisfaction, case.closed_at) == ("appealed", "not_solved", None)
    assert holders(db, case.id) == {"north-kivu-provincial"}
    [appeal] = events_of(db, case.id, "appealed")
    assert (appeal["channel"], appeal["from"], appeal["to"]) == (
        "sms",
        "walikale-local",
        "north-kivu-provincial",
    )
    run_jobs()
    [alert] = texts_to(settings, NORTH_KIVU, "escalation")
    assert alert.startswith(f"Sauti dossier {number} (MOYENNE) en appel chez vous : ")
    assert "pas résolu" in alert  # the provincial focal point reads French
    assert f"VU {digits}" in alert

    # 8. The second closing, by the provincial committee: no SMS to the reporter now.
    assert provincial.send(f"ACK {number}") == said("fr", commands.ACKNOWLEDGED, case=number)
    assert the_case(db, number).status == "acknowledged"
    reply = provincial.send(f"CLOSE {number} resolved La taxe a ete supprimee")
    assert reply == f"Dossier {number} clos : résolu."
    run_jobs()
    assert len(to_reporter(db, settings, "closing")) == 1
    case = the_case(db, number)
    assert case.status == "closed"
    assert case.closed_at is not None
    second_closing = case.closed_at
    assert second_closing > first_closing

    # 9. "Solved", in the USSD status check (the only way left to the reporter).
    screen = status_screen(reporter_ussd, number)
    assert screen.startswith("CON ")
    assert "Is the problem solved?" in screen
    assert len(screen) <= 160
    end = reporter_ussd.choose("Solved")
    assert end.startswith("END ")
    assert f"Case {number} is counted as solved." in end
    case = the_case(db, number)
    assert (case.status, case.satisfaction) == ("closed", "solved")
    kinds = event_kinds(db, case.id)
    assert kinds.count("closed") == 2
    assert kinds.count("appealed") == 1
    assert kinds[-1] == "solved"
    for kind in ("acknowledged", "action_added", "action_done", "action_verified"):
        assert kind in kinds
    assert "action_missed" not in kinds
    [solved] = events_of(db, case.id, "solved")
    assert solved["channel"] == "ussd"
    assert solved["closing"] != appeal["closing"]  # each closing has its own answer
    now = datetime.now(UTC)
    with db() as session:
        months = satisfaction.satisfaction_by_month(
            session=session, start=now - timedelta(days=1), end=now + timedelta(days=1)
        )
    assert [(m.solved, m.not_solved, m.no_answer) for m in months] == [(1, 1, 0)]
    assert "Is the problem solved?" not in status_screen(reporter_ussd, number)

    # 10. The quarterly reports of both committees (an internal document: counts shown).
    quarter = Quarter.of(case.created_at)
    assert Quarter.of(first_closing) == Quarter.of(second_closing) == quarter
    action_quarter = Quarter(due_on.year, (due_on.month - 1) // 3 + 1)
    local = figures(db, "walikale-local", quarter)
    assert (local.received, local.ack_due, local.ack_on_time) == (1, 1, 1)
    assert len(local.ack) == 1
    # Each committee answers for its own closing: Walikale's was called not solved (the
    # appeal), the province's solved.
    assert (local.answered, local.solved, local.appeals) == (1, 0, 1)
    upper = figures(db, "north-kivu-provincial", quarter)
    assert (upper.received, upper.ack_due, upper.ack_on_time) == (1, 1, 1)
    assert (upper.answered, upper.solved, upper.appeals) == (1, 1, 0)
    assert upper.actions_due == 0  # the action was Walikale's
    on_time = figures(db, "walikale-local", action_quarter)
    assert (on_time.actions_due, on_time.actions_on_time) == (1, 1)
    assert on_time.actions == {"verified": 1}

    html = report_html(run_cli, "walikale-local", quarter, tmp_path / "walikale.html")
    assert f"quarterly report {quarter}" in html
    cells = performance_row(html, quarter)
    assert cells[0] == "1"  # reports received
    assert cells[1] == "100% (1 of 1)"  # acknowledged on time
    assert cells[5] == "0% (0 of 1)"  # its closing, called not solved by the reporter
    assert cells[6] == "1"  # appeals
    if action_quarter == quarter:
        assert cells[4] == "100% (1 of 1)"  # actions done on time
        assert f"<td>{number}</td><td>1</td><td>verified</td><td>{due_on}</td>" in html
    assert "Illegal tax" in html
    assert "Bisie" in html
    html = report_html(run_cli, "north-kivu-provincial", quarter, tmp_path / "nk.html")
    cells = performance_row(html, quarter)
    assert (cells[0], cells[1], cells[4], cells[5], cells[6]) == (
        "1",
        "100% (1 of 1)",
        "–",
        "100% (1 of 1)",
        "0",
    )
    for page in (tmp_path / "walikale.html", tmp_path / "nk.html"):
        text = page.read_text(encoding="utf-8")
        assert ACTION_TEXT not in text
        assert "At the barrier" not in text
        assert not any(form in text for form in number_forms(REPORTER))

    # 11. The public page: North Kivu's performance row for the quarter, every figure of
    # this single case hidden, no count from 1 to 4 anywhere in the performance rows.
    page = app_client.get("/public/stats")
    assert page.status_code == 200
    rows = public_performance_rows(page.text)
    [row] = [r for r in rows if f'<th scope="row">{quarter}</th>' in r]
    cells = re.findall(r"<td class=\"num[^\"]*\">(.*?)</td>", row, re.DOTALL)
    assert len(cells) == 7
    shown = cells if action_quarter == quarter else cells[:4] + cells[5:]
    assert all("hidden" in cell for cell in shown), cells
    for each in rows:  # reports received and appeals are the counts among the figures
        counts = re.findall(r"<td class=\"num[^\"]*\">(.*?)</td>", each, re.DOTALL)
        assert not any(re.fullmatch(r"[1-4]", counts[n]) for n in (0, 6)), each
    # Nor in the counts by category and month above: this month's illegal tax is "<5".
    assert not re.findall(r'<td class="num">[1-4]</td>', page.text)
    assert "&lt;5</abbr></td>" in page.text.split('<h2 id="performance">', 1)[0]
    body = app_client.get("/public/stats.json").json()
    [public] = [r for r in body["performance"]["rows"] if r["quarter"] == str(quarter)]
    assert public["province"] == "cd-nk"
    hidden = ["received", "ack_on_time_pct", "median_ack_days", "median_close_days"]
    hidden += ["solved_pct", "appeals"]
    if action_quarter == quarter:
        hidden.append("actions_on_time_pct")
    for name in hidden:
        assert public[name] is None
        assert name in public["suppressed"]

    # 12. The reporter's number is nowhere in clear at rest.
    outbox_file = settings.sauti_console_outbox
    assert outbox_file is not None
    logs = caplog.text + outbox_file.read_text(encoding="utf-8")  # what the console "sent"
    leaks = find_leaks(
        number_forms(REPORTER),
        database_url=settings.db_url,
        redis_client=redis_client,
        logs=logs,
    )
    assert leaks == []
