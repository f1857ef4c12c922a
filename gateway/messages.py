"""Texts the gateway itself sends (not part of a flow); msgids are extracted into the catalogs."""

from __future__ import annotations

from flows.sms import Template


def N_(message: str) -> str:
    """Mark a message for extraction; translated where it is shown."""
    return message


UNAVAILABLE = N_("Sorry, the service is busy. Please try again in a few minutes.")
STOPPED = N_("You will get no more SMS from Sauti. Send START to get them again.")
STARTED = N_("Welcome back. You will get SMS from Sauti again. Send HELP for help.")

# What `sauti flows lint` checks: each reply in one SMS; the busy notice also ends a USSD
# session, so it must fit a screen.
SMS_TEMPLATES = (
    Template(UNAVAILABLE, budget=1, screen=True),
    Template(STOPPED, budget=1),
    Template(STARTED, budget=1),
)
