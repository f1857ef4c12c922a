"""Voice tests: the running app, database sessions and job runners of the gateway and
provider tests, named here so that pytest finds them."""

from __future__ import annotations

from tests.gateway.conftest import app_client, db, run_jobs  # noqa: F401
from tests.workers.conftest import ctx, provider  # noqa: F401
from tests.workers.conftest import run_jobs as worker_jobs  # noqa: F401
