"""`sauti worker` with Twilio's REST API at a loopback address (the fault tests' fake).

Only the twilio client's HTTP layer is redirected: the worker command, the jobs, the
provider and the retry handling are the ones that run in production.
"""

from __future__ import annotations

import os
from typing import Any

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

from gateway import cli
from workers.providers import twilio

TWILIO_API = "https://api.twilio.com"


class LoopbackTwilioHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """Sends what the twilio client would send to api.twilio.com to `target` (by default
    FAULTS_TWILIO_URL)."""

    def __init__(self, *args: Any, target: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.target = target or os.environ["FAULTS_TWILIO_URL"]

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if not url.startswith(TWILIO_API):
            raise RuntimeError(f"unexpected Twilio URL {url}")
        return super().request(method, self.target + url[len(TWILIO_API) :], *args, **kwargs)


def main() -> None:
    setattr(twilio, "TwilioHttpClient", LoopbackTwilioHttpClient)  # noqa: B010
    cli.main(["worker"])


if __name__ == "__main__":
    main()
