"""Provider tests: the running app, database sessions and the job runner of the gateway
tests, named here so that pytest finds them for every provider folder."""

from __future__ import annotations

from tests.gateway.conftest import app_client, db, run_jobs  # noqa: F401
