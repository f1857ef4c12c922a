"""Who may see which part of the console and the API: one table, used by both.

Admins may do everything. Coordinators follow cases, committees and places. Analysts see
statistics and anonymised case fields, never free text or contacts.
"""

from __future__ import annotations

from storage.models import Role

EVERYONE = frozenset(Role)
STAFF = frozenset({Role.ADMIN, Role.COORDINATOR})
ADMINS = frozenset({Role.ADMIN})

SECTIONS: dict[str, frozenset[Role]] = {
    "dashboard": EVERYONE,
    "map": EVERYONE,
    "signals": EVERYONE,
    "cases": EVERYONE,
    "case_actions": STAFF,
    "exports": EVERYONE,
    "committees": STAFF,
    "places": STAFF,
    "outbox": STAFF,
    "flows": ADMINS,
    "translations": ADMINS,
    "voice": ADMINS,
    "audit": ADMINS,
}

# The console's menu: (section, path, label), in order.
MENU: tuple[tuple[str, str, str], ...] = (
    ("dashboard", "/admin/", "Dashboard"),
    ("cases", "/admin/cases", "Cases"),
    ("map", "/admin/map", "Map"),
    ("signals", "/admin/signals", "Signals"),
    ("committees", "/admin/committees", "Committees"),
    ("places", "/admin/places", "Places"),
    ("flows", "/admin/flows", "Flows"),
    ("translations", "/admin/translations", "Translations"),
    ("voice", "/admin/voice", "Voice prompts"),
    ("outbox", "/admin/outbox", "Outbox"),
    ("audit", "/admin/audit", "Audit log"),
)


def may(role: Role, section: str) -> bool:
    return role in SECTIONS[section]
