"""The console provider: the embedded run's stand-in for a phone network.

Each SMS becomes one JSON line `{"to", "body", "at"}` appended to `SAUTI_CONSOLE_OUTBOX`.
Like a real network's own records, this file holds numbers in clear: it is the phone
network, not the service's storage, and it is readable by its owner only.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

from gateway.settings import Settings
from workers.providers import SendError, Sent

NAME = "console"


class ConsoleProvider:
    """Appends each message to a file and reports it delivered."""

    name = NAME

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, *, to: str, body: str) -> Sent:
        record = {"to": to, "body": body, "at": datetime.now(UTC).isoformat()}
        line = json.dumps(record, ensure_ascii=False)
        try:
            self._append((line + "\n").encode())
        except OSError as exc:
            raise SendError(f"console outbox not writable ({exc.errno})", retry=True) from None
        return Sent(provider_id=f"console-{uuid.uuid4().hex}", delivered=True)

    def _append(self, data: bytes) -> None:
        # One write() on an O_APPEND descriptor: lines from several workers never interleave.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


def build(settings: Settings) -> ConsoleProvider:
    return ConsoleProvider(settings.console_outbox)
