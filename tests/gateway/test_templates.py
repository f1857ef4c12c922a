"""The service's SMS templates, gathered once for the lint and the console."""

from __future__ import annotations

from babel.messages.pofile import read_po

from flows import sms
from flows.i18n import LOCALES
from gateway import commands, messages
from gateway.templates import SOURCES, sms_templates
from workers import actions, texts


def test_every_module_that_composes_sms_is_gathered() -> None:
    assert set(SOURCES) == {messages, texts, commands, actions}
    found = sms_templates()
    assert len(found) == sum(len(module.SMS_TEMPLATES) for module in SOURCES)
    assert all(isinstance(template, sms.Template) for template in found)


def test_every_template_is_in_the_catalog_template() -> None:
    with (LOCALES / "sauti.pot").open("rb") as handle:
        extracted = {message.id for message in read_po(handle) if message.id}
    assert {msgid for template in sms_templates() for msgid in template.msgids} <= extracted
