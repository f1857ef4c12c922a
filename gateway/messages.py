"""Texts the gateway itself sends (not part of a flow); msgids are extracted into the catalogs."""

from __future__ import annotations

from flows.sms import N_, Template

UNAVAILABLE = N_("Sorry, the service is busy. Please try again in a few minutes.")
STOPPED = N_("You will get no more SMS from Sauti. Send START to get them again.")
STARTED = N_("Welcome back. You will get SMS from Sauti again. Send HELP for help.")
REPORT_LIMIT = N_(
    "This phone has sent many reports today. Yours is kept: dial again in {hours} h to send it."
)
STATUS_LIMIT = N_("Too many case checks from this phone. Please try again in {minutes} min.")
SMS_LIMIT = N_("Too many SMS from this phone. Sauti will not reply for {minutes} min.")

# What `sauti flows lint` checks: each reply in one SMS; the busy notice and the limits
# also end a USSD session, so they must fit a screen.
SMS_TEMPLATES = (
    Template(UNAVAILABLE, budget=1, screen=True),
    Template(STOPPED, budget=1),
    Template(STARTED, budget=1),
    Template(REPORT_LIMIT, budget=1, samples={"hours": "24"}, screen=True),
    Template(STATUS_LIMIT, budget=1, samples={"minutes": "60"}, screen=True),
    Template(SMS_LIMIT, budget=1, samples={"minutes": "60"}),
)
