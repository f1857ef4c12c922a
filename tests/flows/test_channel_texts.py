"""A node's own text on one channel (`texts: {"sms:main.help": ...}`), label values refined
with a dot (`closed.resolved`), SMS templates with a tail, and what the lint makes of them."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from flows import lint, sms
from flows.engine import Bundle, Outcome
from flows.i18n import Catalogs
from flows.loader import shipped_texts
from gateway.keywords import WORDS_BY_LANGUAGE, Keyword
from gateway.templates import sms_templates
from tests.flows.conftest import CASE, Session

SHIPPED = ["sw", "fr", "en", "rw", "rn", "ln"]


def test_help_by_sms_names_the_keywords_and_by_ussd_the_keys(
    session: Callable[..., Session],
) -> None:
    by_ussd = session(entry="main.help").text
    by_sms = session(entry="main.help", channel="sms").text
    assert "dial *384*123# and choose 2" in by_ussd
    assert "STATUS" not in by_ussd
    assert by_sms == (
        "Sauti is free and anonymous. Send REPORT to start a report, or STATUS and your case "
        "number to follow one."
    )


def test_a_report_sent_by_sms_says_to_send_status_and_the_number(
    session: Callable[..., Session],
) -> None:
    inputs = ("1", "2", "1", "1", "1", "1", "2", "1", "1", "1")  # accident ... SMS news, Send
    sent = {"case": CASE, "within": "days", "days": "3"}
    by_ussd = session(*inputs, outcome=lambda effect: Outcome(True, sent)).text
    by_sms = session(*inputs, channel="sms", outcome=lambda effect: Outcome(True, sent)).text
    assert by_ussd == (
        f"Report sent. Case {CASE}. To follow it, dial *384*123# and choose 2.\n"
        "The committee answers within 3 days."
    )
    assert by_sms == (
        f"Report sent. Case {CASE}. Keep this number. To follow it, send STATUS {CASE}."
        " The committee answers within 3 days."
    )


@pytest.mark.parametrize("channel", ["ussd", "sms"])
def test_a_committee_that_answers_within_hours_is_said_in_hours(
    session: Callable[..., Session], channel: str
) -> None:
    inputs = ("1", "2", "1", "1", "1", "1", "1", "1", "1", "1")  # accident, danger now ... Send
    soon = {"case": CASE, "within": "hours", "hours": "2"}
    found = session(*inputs, channel=channel, outcome=lambda effect: Outcome(True, soon))
    assert found.state.node == "report.sent_soon"
    assert found.text.endswith("The committee answers within 2 hours.")
    assert "days" not in found.text


@pytest.mark.parametrize("lang", SHIPPED)
def test_each_language_names_its_own_keywords_by_sms(bundle: Bundle, lang: str) -> None:
    tr = Catalogs.load([lang]).translator(lang)
    words = WORDS_BY_LANGUAGE[lang]
    for role, keywords in {
        "sms:main.help": (Keyword.REPORT, Keyword.STATUS),
        "sms:report.sent": (Keyword.STATUS,),
        "sms:add_info.added": (Keyword.STATUS,),
    }.items():
        translated = tr.gettext(bundle.texts[role])
        for keyword in keywords:
            assert f" {words[keyword][0]} " in translated, (lang, translated)


def test_a_closed_status_shows_its_outcome_and_older_flows_show_closed(
    session: Callable[..., Session], bundle_with: Callable[[Mapping[str, str]], Bundle]
) -> None:
    def status(value: str, target: Bundle | None = None) -> str:
        def found(effect: object) -> Outcome:
            return Outcome(True, {"case": CASE, "status": value})

        return session("2442725094", entry="status", outcome=found, target=target).text

    assert status("closed.resolved") == f"Case {CASE}: Closed - the problem was resolved"
    assert status("closed.duplicate") == f"Case {CASE}: Closed - it was already reported"
    assert status("routed") == f"Case {CASE}: Sent to the committee"
    common = shipped_texts()[0]["common"]
    older = "\n".join(line for line in common.splitlines() if "closed." not in line)
    assert status("closed.resolved", bundle_with({"common": older})) == f"Case {CASE}: Closed"


def run(paths: list[Path]) -> tuple[int, str]:
    out = io.StringIO()
    return lint.run(paths, ["en"], out, templates=sms_templates()), out.getvalue()


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("fax:main.help", "texts: 'fax:main.help': 'fax' is not one of ussd, sms"),
        ("sms:main.nowhere", "texts: 'sms:main.nowhere': 'main.nowhere' is no node that shows"),
        ("sms:report.submit", "texts: 'sms:report.submit': 'report.submit' is no node that"),
    ],
)
def test_a_channel_text_must_name_a_channel_and_a_shown_node(
    tmp_path: Path, key: str, problem: str
) -> None:
    path = tmp_path / "extra.yaml"
    path.write_text(f'texts:\n  "{key}": "Hello"\n')
    code, report = run([path])
    assert code == 1
    assert f"error: {problem}" in report


def test_a_channel_text_too_long_fails_naming_the_channel(tmp_path: Path) -> None:
    path = tmp_path / "extra.yaml"
    path.write_text('texts:\n  "sms:main.help": "' + "Send REPORT to report. " * 8 + '"\n')
    code, report = run([path])
    assert code == 1
    assert "error: main.yaml: node 'help' [en, sms, page 1]: screen does not fit" in report


def test_a_template_tail_is_filled_and_counted_in_the_budget(bundle: Bundle) -> None:
    catalogs = Catalogs({"en": {}})
    template = sms.Template(
        "Case {case}: {text}",
        budget=1,
        samples={"case": sms.CASE, "text": "x" * 130},  # fits one segment without the tail
        tail=("Send STATUS {number}.",),
    )
    report = lint.lint(bundle, catalogs, ["en"], templates=[template], code_messages=[])
    assert report.errors == ["SMS 'Case {case}: {text}' [en]: no sample for {number}"]
    sampled = sms.Template(
        template.msgid,
        budget=1,
        samples={**template.samples, "number": sms.CASE_DIGITS},
        tail=template.tail,
    )
    assert sms.fill(sampled, catalogs.translator("en")).endswith(" Send STATUS 4821773506.")
    report = lint.lint(bundle, catalogs, ["en"], templates=[sampled], code_messages=[])
    assert report.errors[0].startswith("SMS 'Case {case}: {text}' [en]: takes 2 segments")
