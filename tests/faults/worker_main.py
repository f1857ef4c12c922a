"""`sauti worker` with Twilio's REST API at a loopback address (the fault tests' fake).

Only `TWILIO_API_URL` differs from production: the worker command, the jobs, the provider,
its HTTP layer and the retry handling are the ones that run in production.
"""

from __future__ import annotations

import os

from gateway import cli


def main() -> None:
    os.environ["TWILIO_API_URL"] = os.environ["FAULTS_TWILIO_URL"]
    cli.main(["worker"])


if __name__ == "__main__":
    main()
