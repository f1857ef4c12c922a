"""Each of the six languages end to end: a first dial picks the language from a list that
names each by its own name (the country's first), a report by USSD in that language, the
committee's focal point alerted in theirs and answering by SMS, the reporter's SMS and
status check in the language they chose."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from flows import gsm
from flows.places import place_name
from flows.sources import LANGUAGE_NAMES
from gateway import commands
from storage.committees import mask_phone
from storage.settings import Settings
from tests.conftest import AT_TOKEN, TWILIO_TOKEN
from tests.gateway.conftest import OPTION, SmsPhone, UssdPhone, outbox_texts
from tests.gateway.test_commands import said
from tests.gateway.test_ussd import case_number_in
from workers import texts
from workers.context import message_catalogs

DESCRIPTION = "Two diggers hurt when the shaft wall fell"
MESSAGE = "The mining service comes on Friday"
WALIKALE = ("North Kivu", "Walikale", "Bisie")


@dataclass(frozen=True)
class Round:
    """Who reports where, in which language, and which focal point answers, and how."""

    lang: str
    reporter: str
    places: tuple[str, ...]
    focal: str
    focal_lang: str
    msg_word: str
    first: str  # the language the country lists first


ROUNDS = [
    Round("sw", "+243812340001", WALIKALE, "+243810000001", "sw", "UJUMBE", "sw"),
    Round("fr", "+243812340002", WALIKALE, "+243810000002", "fr", "MESSAGE", "sw"),
    Round("en", "+243812340003", WALIKALE, "+243810000001", "sw", "MSG", "sw"),
    Round("ln", "+243812340004", WALIKALE, "+243810000001", "sw", "UJUMBE", "sw"),
    Round("rw", "+250788120001", ("Northern Province", "Rulindo", "Nyakabingo"), "+250780000001",
          "rw", "MSG", "rw"),
    Round("rn", "+25779120001", ("Kayanza", "Kabarore", "Kivuvu"), "+25779000001", "rn", "MSG",
          "rn"),
]  # fmt: skip


def shown(lang: str, msgid: str) -> str:
    """A text as a screen in `lang` shows it: translated and in GSM-7."""
    return gsm.transliterate(message_catalogs(("en",)).translator(lang).gettext(msgid))


def shown_place(lang: str, name: str) -> str:
    """A place name as a screen in `lang` shows it: translated where the catalog has it."""
    return gsm.transliterate(place_name(message_catalogs(("en",)).translator(lang), name))


def before(lang: str, msgid: str, placeholder: str) -> str:
    """The translated text up to a placeholder, e.g. "Sauti kesi " for "{case}"."""
    return shown(lang, msgid).split("{" + placeholder + "}")[0]


def pick(phone: UssdPhone, label: str) -> str:
    """Choose the option that starts with `label`, paging on with 98 until it shows."""
    for _ in range(10):
        if any(text.startswith(label) for _, text in OPTION.findall(phone.last)):
            return phone.choose(label)
        phone.press("98")
    raise AssertionError(f"no option {label!r}:\n{phone.last}")


def outbox(settings: Settings, to: str) -> list[str]:
    """The texts the console file shows as sent to `to` (a reporter's number is masked)."""
    path = settings.console_outbox
    lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [line["body"] for line in lines if line["to"] == to]


def report(phone: UssdPhone, r: Round) -> str:
    """Pick the language on a first dial and file a report in it; return the last screen."""
    screen = phone.dial()
    names = [text for _, text in OPTION.findall(screen)]
    assert names[0] == gsm.transliterate(LANGUAGE_NAMES[r.first])
    assert sorted(names) == sorted(gsm.transliterate(n) for n in LANGUAGE_NAMES.values())
    phone.choose(gsm.transliterate(LANGUAGE_NAMES[r.lang]))
    pick(phone, shown(r.lang, "Report a problem"))
    pick(phone, shown(r.lang, "Accident (injury/death)"))
    for place in r.places:
        pick(phone, shown_place(r.lang, place))
    pick(phone, shown(r.lang, "Today"))
    pick(phone, shown(r.lang, "Yes"))  # someone is in danger now
    phone.press(DESCRIPTION)
    pick(phone, shown(r.lang, "Yes"))  # SMS news
    assert shown(r.lang, "Your report:") in phone.last
    return pick(phone, shown(r.lang, "Send"))


@pytest.mark.parametrize("r", ROUNDS, ids=[r.lang for r in ROUNDS])
def test_a_whole_round_in_each_language(
    app_client: TestClient, settings: Settings, run_jobs: Callable[[], None], r: Round
) -> None:
    reporter = UssdPhone(client=app_client, number=r.reporter, token=AT_TOKEN)
    final = report(reporter, r)
    number = case_number_in(final)
    sent = shown(
        r.lang, "Report sent. Case {case}. To follow it, dial {service_code} and choose 2."
    )
    first, timeline = final.split("\n")
    assert first == "END " + sent.format(case=number, service_code=settings.sauti_service_code)
    # Danger now: a critical case, answered within hours (the committee's deadline).
    hours = re.sub(r"\D", "", timeline)
    within = shown(r.lang, "The committee answers within {hours} hours.")
    assert timeline == within.format(hours=hours)

    run_jobs()
    assert len(outbox(settings, r.focal)) == 1
    [alert] = [m["body"] for m in outbox_texts(settings, kind="alert") if m["to"] == r.focal]
    assert alert is not None
    assert alert.startswith(before(r.focal_lang, texts.ALERT, "case") + number)

    focal = SmsPhone(app_client, r.focal, TWILIO_TOKEN, "https://sauti.example.org")
    reply = focal.send(f"{r.msg_word} {number} {MESSAGE}")
    assert reply == said(r.focal_lang, commands.MESSAGE_SENT, case=number)
    run_jobs()
    translator = message_catalogs(("en",)).translator(r.lang)
    expected = texts.reporter_message_text(translator, number.replace("-", ""), MESSAGE)
    confirmation = texts.confirmation_text(
        translator, number.replace("-", ""), {"within": "hours", "hours": hours}
    )
    assert outbox(settings, mask_phone(r.reporter)) == [confirmation, expected]

    reporter.dial()  # the language is remembered: straight to the main menu
    pick(reporter, shown(r.lang, "Check a report"))
    status = reporter.press(number.replace("-", ""))
    assert status.startswith("END " + before(r.lang, "Case {case}: {status}", "case") + number)
    assert before(r.lang, "Committee: {message}", "message") + MESSAGE in status
