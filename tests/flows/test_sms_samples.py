"""SMS samples drawn from label tables: the longest translated label, in each language."""

from __future__ import annotations

from flows import lint, sms
from flows.i18n import Catalogs
from flows.model import Bundle

# A label table as the code declares one: stored keys, English texts to translate.
TABLE = {"critical": "CRITICAL", "low": "LOW", "sexual_violence": "Sexual violence"}
CATALOGS = Catalogs(
    {
        "en": {},
        "fr": {"CRITICAL": "CRITIQUE", "LOW": "FAIBLE", "Sexual violence": "Violence sexuelle"},
        "sw": {
            "CRITICAL": "HATARI KUBWA SANA KABISA",
            "LOW": "CHINI",
            "Sexual violence": "Ubakaji",
        },
    }
)


def test_longest_of_a_table_is_its_longest_translated_label() -> None:
    pick = sms.longest(TABLE)
    assert pick(CATALOGS.translator("en")) == "Sexual violence"
    assert pick(CATALOGS.translator("fr")) == "Violence sexuelle"
    assert pick(CATALOGS.translator("sw")) == "HATARI KUBWA SANA KABISA"


def test_longest_never_offers_a_key_of_the_table() -> None:
    keys = set(TABLE)
    for lang in ("en", "fr", "sw"):
        assert sms.longest(TABLE)(CATALOGS.translator(lang)) not in keys
        joined = sms.joined(sms.longest(TABLE), ": ", sms.longest(TABLE))
        assert not keys & set(sms.value(joined, CATALOGS.translator(lang)).split(": "))


def test_longest_mixes_msgids_lists_and_tables() -> None:
    pick = sms.longest("LOW", ["CRITICAL"], {"x": "Sexual violence"})
    assert pick(CATALOGS.translator("fr")) == "Violence sexuelle"
    assert pick(CATALOGS.translator("sw")) == "HATARI KUBWA SANA KABISA"


def test_the_lint_fails_a_template_when_a_translated_label_is_long(bundle: Bundle) -> None:
    msgid = "Case {case} ({severity}): " + "y" * 120
    samples: dict[str, sms.Sample] = {"case": sms.CASE, "severity": sms.longest(TABLE)}
    template = sms.Template(msgid, budget=1, samples=samples)
    languages = ["en", "fr", "sw"]
    report = lint.lint(bundle, CATALOGS, languages, templates=[template], code_messages=[])
    # 22 + 120 septets and the label: 15 in English, 17 in French, 24 in Swahili.
    errors = [error for error in report.errors if error.startswith("SMS")]
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"SMS {msgid[:50]!r} [sw]: takes 2 segments, more than its 1")
    assert "(HATARI KUBWA SANA KABISA)" in errors[0]


def test_the_shipped_alerts_are_sampled_with_translated_labels() -> None:
    from gateway.templates import sms_templates
    from workers.texts import CATEGORY, ESCALATED_ALERT, HAZARD, SEVERITY

    catalogs = Catalogs.load(["sw", "fr", "en", "rw", "rn", "ln"])
    template = next(t for t in sms_templates() if t.msgid == ESCALATED_ALERT)
    for lang in ("sw", "fr", "en", "rw", "rn", "ln"):
        tr = catalogs.translator(lang)
        severity = sms.value(template.samples["severity"], tr)
        assert severity in {tr.gettext(label) for label in SEVERITY.values()}
        category = sms.value(template.samples["category"], tr)
        labels = {
            tr.gettext(c) + ": " + tr.gettext(h) for c in CATEGORY.values() for h in HAZARD.values()
        }
        assert category in labels
