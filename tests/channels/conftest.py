"""Provider tests: the running app, database sessions and the job runner of the gateway
tests, named here so that pytest finds them for every provider folder; and the workers'
job context (`ctx`, with the `provider` a test may put in it) and their job runner, as
`worker_jobs` (both folders call theirs `run_jobs`: this one runs the jobs with `ctx`)."""

from __future__ import annotations

from tests.gateway.conftest import app_client, db, run_jobs  # noqa: F401
from tests.workers.conftest import ctx, provider  # noqa: F401
from tests.workers.conftest import run_jobs as worker_jobs  # noqa: F401
