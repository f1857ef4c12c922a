"""Every SMS template the service composes, gathered for `sauti flows lint` and the console.

The flows package checks templates it is handed and imports nothing of the service; the
modules that compose SMS each declare theirs in `SMS_TEMPLATES`, listed here once.
"""

from __future__ import annotations

from flows.sms import Template
from gateway import commands, messages
from workers import actions, texts

SOURCES = (messages, texts, commands, actions)


def sms_templates() -> list[Template]:
    """The templates of every module that composes SMS, in order."""
    return [template for module in SOURCES for template in module.SMS_TEMPLATES]
