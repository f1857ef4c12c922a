"""Every console page, the data that makes them realistic, and what a page must not show.

Shared by the browser test of every page (tests/browser/test_console_pages.py) and the
screenshot script (docs/console/shoot.py): `seed` files cases through the real storage
functions (every kind of event, an incident and a signal), `pages` lists each page with
the roles that see it, and `CHECK` is the script a browser runs on a page to find what
overflows the viewport and which internal codes the visible text shows.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from playwright.sync_api import FilePayload, Page
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage import actions, appeals, prefs, routing
from storage import cases as store
from storage.casenumber import display
from storage.flowstore import published_bundle
from storage.keys import load_crypto
from storage.models import (
    Case,
    Committee,
    CommitteeMember,
    Location,
    OutboxMessage,
    Signal,
    SignalRule,
)
from storage.privacy import Crypto
from storage.settings import Settings
from storage.signals import raise_absolute
from storage.users import audit, find_user, set_scope

REPORTER = "+243990000042"
DESCRIPTION = "Soldiers take 2000 francs at the barrier"
PLACE_TEXT = "behind the old washing pond"

# Codes that belong to the database and the engine, never to a reader of the console.
INTERNAL_CODES = (
    "ohs_hazard",
    "sexual_violence",
    "illegal_tax",
    "mineral_fraud",
    "child_labour",
    "in_progress",
    "not_solved",
    "routing_requested",
    "copied_up",
    "info_added",
    "contact_erased",
    "level_changed",
    "action_added",
    "action_done",
    "action_verified",
    "action_missed",
    "incident_report",
    "command_reply",
    "reporter_message",
    "info_alert",
    "closing_question",
    "by_sms=",
    "reason:",
    "danger_now",
    "place_code",
)

# Committee and place codes: allowed as secondary text (in <code>, <small> or .muted, next
# to the name), never in place of the name.
SECONDARY_CODES = (
    "walikale-local",
    "north-kivu-provincial",
    "cd-national",
    "cd-nk-walikale",
    "cd-nk-walikale-bisie",
)

# Run in the page: what is wider than the viewport (outside a box that scrolls), and
# which codes and raw timestamps the visible text holds.
CHECK = """([codes, secondary]) => {
  const width = window.innerWidth;
  const wide = [];
  const scrolls = (el) => {
    // An absolutely placed box is clipped only by the scrolling boxes around the box it is
    // placed in; a fixed one by none.
    const position = getComputedStyle(el).position;
    let p = position === "fixed" ? null
      : position === "absolute" && "offsetParent" in el ? el.offsetParent : el.parentElement;
    for (; p && p !== document.body; p = p.parentElement) {
      const style = getComputedStyle(p);
      if (["auto", "scroll", "hidden"].includes(style.overflowX)) return true;
    }
    return false;
  };
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if (box.right > width + 1 && !scrolls(el)) {
      const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
        + (el.className && typeof el.className === "string"
           ? "." + el.className.trim().split(/\\s+/).join(".") : "");
      wide.push(name + " (" + Math.round(box.right) + " px)");
    }
  }
  const escape = (code) => code.replace(/[.*+?^${}()|[\\]\\\\]/g, "\\\\$&");
  const shows = (text, code) => new RegExp(
    "(^|[^A-Za-z0-9_-])" + escape(code) + "($|[^A-Za-z0-9_-])").test(text);
  const text = document.body.innerText;
  const found = codes.filter((code) => shows(text, code));
  const aside = document.body.querySelectorAll("code, small, .muted, kbd, samp");
  const shown = Array.from(aside, (el) => el.style.display);
  aside.forEach((el) => { el.style.display = "none"; });
  const main = document.body.innerText;
  aside.forEach((el, i) => { el.style.display = shown[i]; });
  const named = secondary.filter((code) => shows(main, code));
  const stamps = text.match(/\\d{4}-\\d\\d-\\d\\d[T ]\\d\\d:\\d\\d:\\d\\d\\.\\d+/g) || [];
  return {
    scrollWidth: document.documentElement.scrollWidth,
    width: width,
    wide: wide.slice(0, 5),
    codes: found.concat(named, stamps.slice(0, 2)),
  };
}"""


@dataclass
class Seeded:
    """What the seeded pages are about."""

    case: str  # a case with every kind of event
    critical: str  # a critical case in an incident
    committee: str
    member: int
    place: str
    signal: int
    message: int
    version: str
    pseudonym: str  # a number on the STOP list
    numbers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ConsolePage:
    """A page: its name, its address, and the roles that see it (admin first)."""

    name: str
    path: str
    roles: tuple[str, ...] = ("admin", "coordinator", "analyst")
    status: int = 200


STAFF = ("admin", "coordinator")
ADMIN = ("admin",)


def pages(seeded: Seeded) -> list[ConsolePage]:
    """Every page a GET reaches, with the demo data's case, committee, place and so on."""
    s = seeded
    return [
        ConsolePage("dashboard", "/admin/"),
        ConsolePage("cases", "/admin/cases"),
        ConsolePage("case", f"/admin/cases/{display(s.case)}"),
        ConsolePage("case-incident", f"/admin/cases/{display(s.critical)}"),
        ConsolePage("map", "/admin/map"),
        ConsolePage("signals", "/admin/signals"),
        ConsolePage("signal", f"/admin/signals/{s.signal}"),
        ConsolePage("performance", "/admin/performance"),
        ConsolePage("committees", "/admin/committees", STAFF),
        ConsolePage("committee", f"/admin/committees/{s.committee}", STAFF),
        ConsolePage("committee-edit", f"/admin/committees/{s.committee}/edit", STAFF),
        ConsolePage("committee-new", "/admin/committees/new", STAFF),
        ConsolePage("member", f"/admin/committees/{s.committee}/members/{s.member}", STAFF),
        ConsolePage("places", "/admin/places", STAFF),
        ConsolePage("place", f"/admin/places/{s.place}", STAFF),
        ConsolePage("outbox", "/admin/outbox", STAFF),
        ConsolePage("outbox-message", f"/admin/outbox/{s.message}", STAFF),
        ConsolePage("optouts", "/admin/outbox/optouts", STAFF),
        ConsolePage("optout-remove", f"/admin/outbox/optouts/{s.pseudonym}/remove", STAFF),
        ConsolePage("flows", "/admin/flows", ADMIN),
        ConsolePage("flow-version", f"/admin/flows/{s.version}", ADMIN),
        ConsolePage("flow-document", f"/admin/flows/{s.version}/documents/main", ADMIN),
        ConsolePage("translations", "/admin/translations", ADMIN),
        ConsolePage("translation", "/admin/translations/sw", ADMIN),
        ConsolePage("voice", "/admin/voice", ADMIN),
        ConsolePage("voice-language", "/admin/voice/sw", ADMIN),
        ConsolePage("audit", "/admin/audit", ADMIN),
        ConsolePage("public-stats", "/public/stats"),
        ConsolePage("not-found", "/admin/cases/000-000-0000", status=404),
        ConsolePage("forbidden", "/admin/audit", ("coordinator",), status=403),
    ]


def _flows_upload(page: Page) -> None:
    page.goto("/admin/flows")
    page.locator("input[name=file]").first.set_input_files(
        files=[FilePayload(name="other.yaml", mimeType="text/yaml", buffer=b"id: other\n")]
    )
    page.get_by_role("button", name="Save as a draft").first.click()


def _translation_preview(page: Page) -> None:
    po = page.request.get("/admin/translations/sw.po").body()
    page.goto("/admin/translations/sw")
    page.locator("input[name=file]").set_input_files(
        files=[FilePayload(name="sw.po", mimeType="text/x-gettext-translation", buffer=po)]
    )
    page.get_by_role("button", name="Check the file").click()


def _voice_upload(page: Page) -> None:
    page.goto("/admin/voice/sw")
    page.locator("input[name=file]").first.set_input_files(
        files=[FilePayload(name="nothing.wav", mimeType="audio/wav", buffer=b"not audio")]
    )
    page.get_by_role("button", name="Upload as drafts").click()


# The pages a form answers, as an admin: a new draft's version page (its lint and diff),
# a translation's preview, a voice upload's refusals. Each function fills and sends the form.
FORM_PAGES: tuple[tuple[str, Callable[[Page], None]], ...] = (
    ("flows-upload", _flows_upload),
    ("translation-preview", _translation_preview),
    ("voice-upload", _voice_upload),
)


def scope_to_north_kivu(sessions: sessionmaker[Session], username: str) -> None:
    """Make `username` a provincial coordinator of North Kivu: their scope is the province
    and everything under it."""
    with sessions.begin() as session:
        user = find_user(session=session, username=username)
        assert user is not None
        set_scope(session=session, user=user, place="cd-nk")


def _report(
    session: Session, crypto: Crypto, rng: random.Random, at: datetime, **answers: str
) -> Case:
    contact = REPORTER if answers.get("sms_updates") == "yes" else None
    filled = {
        "category": "illegal_tax",
        "place_code": "cd-nk-walikale-mpama",
        "place_text": PLACE_TEXT,
        "when": "today",
        "danger_now": "no",
        "description": DESCRIPTION,
        "sms_updates": "no",
    }
    filled.update(answers)
    channel = filled.pop("channel", "ussd")
    language = filled.pop("language", "en")
    return store.create_report(
        session=session,
        crypto=crypto,
        pseudonym=crypto.pseudonym(REPORTER),
        channel=channel,
        language=language,
        answers=filled,
        contact_e164=contact,
        flow_version="v1",
        rng=rng,
        now=at,
    )


# (category, place, danger now, channel, language, days ago) of the background reports.
_BACKGROUND = (
    ("ohs_hazard", "cd-nk-walikale-bisie", "no", "ussd", "sw", 2),
    ("child_labour", "cd-sk-uvira-lemera", "no", "sms", "fr", 5),
    ("mineral_fraud", "cd-mn-pangi", "no", "whatsapp", "fr", 9),
    ("sexual_violence", "cd-nk-masisi", "no", "voice", "sw", 12),
    ("violence", "cd-nk-walikale-mpama", "yes", "ussd", "sw", 20),
    ("other", "rw-north-rulindo", "no", "sms", "rw", 30),
    ("illegal_tax", "bi-kayanza-kabarore", "no", "ussd", "rn", 45),
)


def _background(
    sessions: sessionmaker[Session], crypto: Crypto, rng: random.Random, now: datetime
) -> list[Case]:
    made = []
    with sessions.begin() as session:
        for category, place, danger, channel, language, days in _BACKGROUND:
            at = now - timedelta(days=days, hours=3)
            made.append(
                _report(
                    session,
                    crypto,
                    rng,
                    at,
                    category=category,
                    place_code=place,
                    danger_now=danger,
                    channel=channel,
                    language=language,
                )
            )
    return made


def _route(sessions: sessionmaker[Session], ids: list[int]) -> None:
    """Route each report as the worker does, a few minutes after it came in."""
    from workers.routing import route_report

    for case_id in ids:
        with sessions() as session:
            case = session.get(Case, case_id)
            assert case is not None
            at = case.created_at + timedelta(minutes=3)
        route_report(case_id, now=at)


def _committee(session: Session, code: str) -> Committee:
    return session.scalars(select(Committee).where(Committee.code == code)).one()


def _follow_up(session: Session, crypto: Crypto, case: Case, now: datetime) -> None:
    """Every step a committee takes on a case, up to its closing and the reporter's appeal."""
    walikale = _committee(session, "walikale-local")
    actor = "user:cora"
    t = now - timedelta(days=6)
    store.acknowledge(session=session, case=case, actor=actor, committee_id=walikale.id, now=t)
    store.set_in_progress(session=session, case=case, actor=actor, now=t + timedelta(hours=1))
    store.add_note(
        session=session,
        crypto=crypto,
        case=case,
        actor=actor,
        text="Spoke to the site chief on Tuesday",
        now=t + timedelta(hours=2),
    )
    store.message_reporter(
        session=session,
        crypto=crypto,
        case=case,
        actor=actor,
        text="The committee visits the barrier on Friday.",
        now=t + timedelta(hours=3),
    )
    store.add_information(
        session=session,
        crypto=crypto,
        case=case,
        text="They were there again this morning",
        channel="sms",
        now=t + timedelta(hours=4),
    )
    routing.set_level(
        session=session,
        case=case,
        level=1,
        actor=actor,
        reason_enc=crypto.encrypt("Armed men at the barrier"),
        now=t + timedelta(hours=5),
    )
    action = actions.add_action(
        session=session,
        crypto=crypto,
        case=case,
        committee=walikale,
        owner=actor,
        actor=actor,
        what="Visit the barrier with the mining police",
        days=3,
        now=t + timedelta(hours=6),
    )
    session.flush()
    actions.mark_done(session=session, action=action, actor=actor, now=t + timedelta(days=1))
    actions.verify(session=session, action=action, actor="user:ada", now=t + timedelta(days=2))
    store.escalate(
        session=session, case=case, actor=actor, now=t + timedelta(days=2), reason="manual"
    )
    store.reassign(
        session=session,
        case=case,
        actor="user:ada",
        committee_id=_committee(session, "north-kivu-provincial").id,
        now=t + timedelta(days=3),
    )
    store.close_case(
        session=session,
        crypto=crypto,
        case=case,
        actor=actor,
        outcome="resolved",
        note="The barrier was removed",
        now=t + timedelta(days=4),
    )
    appeals.answer_closing(
        session=session,
        case=case,
        pseudonym=case.pseudonym,
        answer="not_solved",
        channel="sms",
        now=t + timedelta(days=5),
    )


def _audit_trail(session: Session, numbers: list[str], now: datetime) -> None:
    for action, target in (
        ("case.acknowledge", numbers[0]),
        ("case.note", numbers[0]),
        ("case.close", numbers[0]),
        ("case.level", numbers[0]),
        ("export.cases", None),
    ):
        audit(session=session, actor="cora", action=action, target=target, now=now, data={})


def _signal(session: Session, case: Case, now: datetime) -> int:
    found = raise_absolute(session=session, case=case, now=now)
    masisi = session.scalars(select(Location).where(Location.code == "cd-nk-masisi")).one()
    session.add(
        Signal(
            key="threshold:cd-nk-masisi:violence:demo",
            rule=SignalRule.THRESHOLD,
            category="violence",
            territory_id=masisi.id,
            day=now.date(),
            count=5,
            raised_at=now,
        )
    )
    session.flush()
    if found is not None:
        return found.id
    return int(session.scalars(select(Signal.id).order_by(Signal.id)).first() or 0)


def seed(
    settings: Settings, sessions: sessionmaker[Session], run_jobs: Callable[[], None]
) -> Seeded:
    """File, route and follow up the demo cases; return what the pages are about."""
    crypto = load_crypto(settings)
    rng = random.Random(17)
    now = datetime.now(UTC)
    with sessions.begin() as session:
        full = _report(session, crypto, rng, now - timedelta(days=7), sms_updates="yes")
        first = _report(
            session,
            crypto,
            rng,
            now - timedelta(hours=2),
            category="accident",
            place_code="cd-nk-walikale-bisie",
            danger_now="yes",
        )
        second = _report(
            session,
            crypto,
            rng,
            now - timedelta(hours=1),
            category="accident",
            place_code="cd-nk-walikale-bisie",
            danger_now="yes",
            channel="sms",
        )
        nowhere = _report(session, crypto, rng, now - timedelta(days=1), place_code="")
        ids = [full.id, first.id, second.id, nowhere.id]
    background = _background(sessions, crypto, rng, now)
    _route(sessions, ids + [case.id for case in background])
    run_jobs()
    with sessions.begin() as session:
        case = session.get(Case, full.id)
        critical = session.get(Case, first.id)
        later = session.get(Case, second.id)
        assert case is not None
        assert critical is not None
        assert later is not None
        _follow_up(session, crypto, case, now)
        signal = _signal(session, critical, now)
        numbers = [case.number, critical.number, later.number]
        _audit_trail(session, numbers, now)
        stopped = crypto.pseudonym("+243990000077")
        prefs.set_opted_out(session=session, pseudonym=stopped, opted_out=True, now=now)
        member = session.scalars(
            select(CommitteeMember.id)
            .join(Committee)
            .where(Committee.code == "walikale-local")
            .order_by(CommitteeMember.id)
        ).first()
        message = session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)).first()
        bundle = published_bundle(session=session)
        assert member is not None
        assert message is not None
        assert bundle is not None
        return Seeded(
            case=case.number,
            critical=critical.number,
            committee="walikale-local",
            member=member,
            place="cd-nk-walikale-bisie",
            signal=signal,
            message=message,
            version=bundle.version,
            pseudonym=stopped,
            numbers=numbers,
        )
