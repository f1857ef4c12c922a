"""Every /api/v1 operation, fed what its OpenAPI description allows and more: never a 5xx.

Schemathesis generates the requests from the app's own schema; they are sent through the
running app (real database and Redis) with an admin's token, so every route's handler runs.
The budget per operation is bounded so the suite stays quick.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from gateway.app import create_app
from storage.settings import Settings
from tests.api import conftest as api_fixtures

app_client = api_fixtures.app_client
db = api_fixtures.db
run_jobs = api_fixtures.run_jobs
users = api_fixtures.users
headers = api_fixtures.headers
file_case = api_fixtures.file_case

EXAMPLES = 20


# The schema is the app's own, read without starting it.
SCHEMA = schemathesis.openapi.from_dict(create_app(Settings()).openapi()).include(
    path_regex="^/api/v1/"
)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.fixture
def admin_headers(headers: Callable[[str], dict[str, str]]) -> dict[str, str]:
    return headers("admin")


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_no_server_error(
    operation: Any, app_client: TestClient, admin_headers: dict[str, str], file_case: Any
) -> None:
    file_case()

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: Any) -> None:
        kwargs = case.as_transport_kwargs(base_url=str(app_client.base_url), headers=admin_headers)
        kwargs.pop("base_url", None)
        kwargs.pop("cookies", None)  # the API reads none; the client keeps its own jar
        if isinstance(kwargs.get("data"), bytes | str):  # a raw body, not form fields
            kwargs["content"] = kwargs.pop("data")
        response = app_client.request(**kwargs)
        assert response.status_code < 500, (case.method, case.path, response.text[:300])
        if response.headers.get("content-type", "").startswith("application/json"):
            response.json()

    check()
