"""SMS texts: in the reader's language, in GSM-7, within their segment budget, with the case
number and the instructions never cut."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows import gsm
from flows.i18n import Catalogs, Translator
from storage.inbox import CaseLine
from workers.texts import (
    ALERT,
    ALERT_SEGMENTS,
    DIGEST_SEGMENTS,
    SMS_SEGMENTS,
    AlertFacts,
    DigestFacts,
    alert_text,
    digest_text,
    excerpt,
    fill,
    list_text,
    reporter_closed_text,
    reporter_message_text,
)

AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LONG = (
    "Le mur du puits s’est effondré « d’un coup » — deux creuseurs sont piégés sous les "
    "pierres depuis ce matin, l’eau monte et personne n’est venu les aider… " * 3
)


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs.load(["en", "fr"])


def facts(description: str | None = LONG, place: str | None = "Bisie, Walikale") -> AlertFacts:
    return AlertFacts(
        number="4821773506",
        category="ohs_hazard",
        hazard="collapse",
        severity="critical",
        occurred="today",
        place=place,
        excerpt=excerpt(description),
        created_at=AT,
    )


def line(index: int, severity: str = "high", place: str | None = "Bisie") -> CaseLine:
    return CaseLine(f"48217735{index:02d}", "violence", severity, place, AT)


@pytest.mark.parametrize("lang", ["en", "fr", "sw"])
@pytest.mark.parametrize("escalated", [False, True])
def test_alert_says_what_where_when_and_how_to_answer(
    catalogs: Catalogs, lang: str, escalated: bool
) -> None:
    text = alert_text(
        catalogs.translator(lang), facts(), timezone="Africa/Lubumbashi", escalated=escalated
    )
    assert gsm.is_gsm7(text)
    assert gsm.segments(text) <= ALERT_SEGMENTS
    assert "482-177-3506" in text
    assert "4821773506" in text  # what to type back
    assert "Bisie, Walikale" in text
    assert "26/11 14:00" in text  # local time of the committee
    assert '"Le mur du puits s\'est effondré " d\'un coup " - deux...' in text
    assert "..." in text  # the description, cut to its first words


def test_alert_in_french(catalogs: Catalogs) -> None:
    text = alert_text(catalogs.translator("fr"), facts(), timezone="Africa/Lubumbashi")
    assert text.startswith("Sauti dossier 482-177-3506 (CRITIQUE)")
    assert "Danger au puits: Éboulement, Bisie, Walikale" in text
    assert "VU 4821773506" in text


def test_alert_without_description_or_place(catalogs: Catalogs) -> None:
    text = alert_text(catalogs.translator("en"), facts(None, None), timezone="Africa/Lubumbashi")
    assert '"' not in text
    assert "place not given" in text


def test_excerpt_keeps_whole_words() -> None:
    cut = excerpt("one two three four five six seven eight nine ten eleven twelve thirteen")
    assert cut == "one two three four five six seven eight nine ten eleven..."
    assert excerpt("  short  text ") == "short text"
    assert excerpt("   ") is None


@given(st.text(min_size=0, max_size=600))
def test_any_committee_message_fits_two_segments(text: str) -> None:
    translator = Translator("en", {})
    sms = reporter_message_text(translator, "4821773506", text)
    assert gsm.is_gsm7(sms)
    assert gsm.segments(sms) <= SMS_SEGMENTS
    assert sms.startswith("Sauti case 482-177-3506.")


def test_a_broken_translation_falls_back_to_english() -> None:
    translator = Translator("xx", {ALERT: "Sauti {case} {oops"})
    text = alert_text(translator, facts(), timezone="Africa/Lubumbashi")
    assert text.startswith("Sauti case 482-177-3506")


def test_fill_cuts_hard_only_when_nothing_can_be_shortened() -> None:
    translator = Translator("en", {})
    text = fill(translator, "{a}", {"a": "x" * 1000}, budget=2)
    assert gsm.segments(text) == 2


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_digest_lists_overdue_then_new_then_open(catalogs: Catalogs, lang: str) -> None:
    digest = DigestFacts(
        local_date="26/11",
        committee="Walikale",
        overdue=[line(1, "critical")],
        new=[line(2), line(3, "low", None)],
        open=[line(4, "medium")],
    )
    text = digest_text(catalogs.translator(lang), digest)
    numbers = ["482-177-3501", "482-177-3502", "482-177-3503", "482-177-3504"]
    positions = [text.index(n) for n in numbers]
    assert positions == sorted(positions)
    assert gsm.segments(text) <= DIGEST_SEGMENTS
    assert "more" not in text
    assert "autres" not in text
    first = text.splitlines()[0]
    assert first.startswith("Sauti 26/11, Walikale")
    assert ("1 overdue" in first) or ("1 en retard" in first)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_long_digest_stops_at_three_segments_and_says_how_many_more(
    catalogs: Catalogs, lang: str
) -> None:
    lines = [line(i, place="A mine site with a very long name indeed") for i in range(40)]
    digest = DigestFacts("26/11", "Walikale", overdue=lines[:5], new=lines[5:20], open=lines[20:])
    text = digest_text(catalogs.translator(lang), digest)
    assert gsm.segments(text) <= DIGEST_SEGMENTS
    shown = sum(1 for row in text.splitlines() if row.startswith("482-"))
    last = text.splitlines()[-1]
    assert last in (f"+{40 - shown} more, reply LIST", f"+{40 - shown} autres, répondez LISTE")
    assert shown >= 5


def test_list_reply(catalogs: Catalogs) -> None:
    translator = catalogs.translator("en")
    assert list_text(translator, []) == "No open cases for your committee."
    short = list_text(translator, [line(1), line(2)])
    assert short.splitlines() == [
        "Open cases: 2",
        "482-177-3501 HIGH Violence, Bisie",
        "482-177-3502 HIGH Violence, Bisie",
    ]
    long = list_text(translator, [line(i) for i in range(30)])
    assert gsm.segments(long) <= SMS_SEGMENTS
    assert long.splitlines()[-1].startswith("+")


def test_closing_tells_the_reporter_the_outcome_in_their_language(catalogs: Catalogs) -> None:
    text = reporter_closed_text(catalogs.translator("fr"), "4821773506", "resolved")
    assert text.startswith("Sauti : le dossier 482-177-3506 est clos : le problème a été résolu")
    assert gsm.segments(text) <= SMS_SEGMENTS


def test_a_long_translation_shortens_the_description_not_the_number() -> None:
    padding = "Taarifa ndefu sana ya tahadhari. " * 6
    translator = Translator("xx", {ALERT: padding + "{case} {words}ACK {number}"})
    text = alert_text(translator, facts(), timezone="Africa/Lubumbashi")
    assert gsm.segments(text) <= ALERT_SEGMENTS
    assert text.endswith('..." ACK 4821773506')
    assert '"Le mur' in text
