"""The access table's rows: each console page and API route, and the roles allowed on it.

Each part of the console keeps its rows in `tests/admin/access_<part>.py` as `ROWS`;
`test_access_table.py` tries every row with every role and with nobody signed in.
Placeholders in a path: `{case}` (a filed, routed case's number as shown), `{committee}`
(an active committee's code), `{place}` (a place's code), `{version}` (the published flow
version), `{language}` (a language code), `{message}` (an outbox message id),
`{flow}` (a flow document name), `{member}` (a member id of `{committee}`), `{pseudonym}`
(a pseudonym with no preferences), `{file}` (a voice prompt file name no language has),
`{ref}` (a spoken answer's ref no recording has), `{signal}` (an open signal's id).

The scoped-coordinator column: a coordinator scoped to South Kivu, while `{case}` and
`{signal}` are in North Kivu, gets 404 on every row that names one of them (`out_of_scope`)
and what any coordinator gets on the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from storage.models import Role

ALL = frozenset(Role)
STAFF = frozenset({Role.ADMIN, Role.COORDINATOR})
ADMINS = frozenset({Role.ADMIN})


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    allowed: frozenset[Role]
    # Form fields (console) or JSON body (API) for unsafe methods; the CSRF token is added.
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def out_of_scope(self) -> int | None:
        """What the scoped coordinator gets on a case or signal outside their scope."""
        if Role.COORDINATOR in self.allowed and ("{case}" in self.path or "{signal}" in self.path):
            return 404
        return None

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/")

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"
