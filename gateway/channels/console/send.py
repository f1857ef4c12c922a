"""The console provider: the embedded run's stand-in for a phone network.

Each SMS becomes one JSON line `{"to", "body", "channel", "at"}` appended to
`SAUTI_CONSOLE_OUTBOX`, readable by its owner only. A reporter's number is never written
in clear, not even on a developer's run: it is masked as the console masks numbers
("+243 ••• ••• 678"); focal points' numbers are written as sent. On a loopback run
(`SAUTI_PUBLIC_URL` on this machine, as `make run` sets it) every text is written as sent:
that is how a developer reads what went out. Behind a public URL the console provider
runs only when `SAUTI_CONSOLE_PROVIDER_ALLOWED` asks for it, and the file then keeps no
text that may quote a reporter's words (an alert or an escalation carries an excerpt of
the description and the place as typed, an answer to an SMS may be the summary of the
report being written): such a body is replaced by "[text withheld: N characters, kind
alert]".
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

from storage.committees import mask_phone
from storage.models import MessageKind
from storage.settings import Settings
from workers.outbound import OutboundMessage, SendError, Sent

NAME = "console"
# The kinds whose text may quote what a reporter typed (storage.models.MessageKind): an
# answer to an SMS may be the summary of the report being written.
QUOTES_A_REPORTER = frozenset({MessageKind.ALERT, MessageKind.ESCALATION, MessageKind.REPLY})


class ConsoleProvider:
    """Appends each message to a file and reports it delivered.

    Reporters' numbers are always masked; `in_clear` writes every text as sent (a loopback
    run), otherwise texts that may quote a reporter, or of no known kind, are withheld.
    """

    name = NAME

    def __init__(self, path: Path, *, in_clear: bool = True) -> None:
        self.path = path
        self.in_clear = in_clear

    def send(self, message: OutboundMessage) -> Sent:
        to, body, kind = message.to, message.body, message.kind
        record = {
            "to": mask_phone(to) if message.to_reporter else to,
            "body": body if self.in_clear or kind in _SHOWN_KINDS else withheld(body, kind),
            "channel": message.channel,
            "at": datetime.now(UTC).isoformat(),
        }
        line = json.dumps(record, ensure_ascii=False)
        try:
            self._append((line + "\n").encode())
        except OSError as exc:
            raise SendError(f"console outbox not writable ({exc.errno})", retry=True) from None
        return Sent(
            provider_id=f"console-{uuid.uuid4().hex}", delivered=True, channel=message.channel
        )

    def _append(self, data: bytes) -> None:
        # One write() on an O_APPEND descriptor: lines from several workers never interleave.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


_SHOWN_KINDS = frozenset(set(MessageKind) - QUOTES_A_REPORTER)


def withheld(body: str, kind: str | None) -> str:
    """What the file shows instead of a text it must not keep."""
    return f"[text withheld: {len(body)} characters, kind {kind or 'unknown'}]"


def build(settings: Settings) -> ConsoleProvider:
    """The console provider; refused behind a public URL unless it is allowed."""
    settings.check_console_provider()
    return ConsoleProvider(settings.console_outbox, in_clear=settings.loopback)
