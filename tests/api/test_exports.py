"""`GET /api/v1/exports/cases.csv`: the list's filters, no free text for analysts (403 when
they ask), free text for staff only on request, and every export audited."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from storage.casenumber import display
from storage.exports import COLUMNS, TEXT_COLUMNS
from storage.users import audit_entries
from tests.api.conftest import DESCRIPTION, NOTE, PLACE_TEXT

Headers = Callable[[str], dict[str, str]]
T0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
URL = "/api/v1/exports/cases.csv"


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_filters_like_the_case_list(
    app_client: TestClient, headers: Headers, file_case: Callable[..., str]
) -> None:
    walikale = display(file_case(at=T0))
    lemera = display(
        file_case(category="accident", place="cd-sk-uvira-lemera", at=T0 + timedelta(days=2))
    )
    auth = headers("analyst")

    def numbers(**params: str) -> list[str]:
        response = app_client.get(URL, params=params, headers=auth)
        assert response.status_code == 200, response.text
        assert response.text.splitlines()[0] == ",".join(COLUMNS)
        return [row["number"] for row in rows(response.text)]

    assert numbers() == [walikale, lemera]
    assert numbers(category="accident") == [lemera]
    assert numbers(province="cd-nk") == [walikale]
    assert numbers(committee="uvira-local") == [lemera]
    assert numbers(created_from="2026-10-02T00:00:00Z") == [lemera]
    assert numbers(q=walikale.replace("-", " ")) == [walikale]
    assert numbers(status="closed") == []


def test_analyst_gets_no_free_text_and_is_refused_when_asking(
    app_client: TestClient, headers: Headers, file_case: Callable[..., str]
) -> None:
    file_case()
    auth = headers("analyst")
    plain = app_client.get(URL, headers=auth)
    asked = app_client.get(URL, params={"include_text": "true"}, headers=auth)
    assert (plain.status_code, asked.status_code) == (200, 403)
    for response in (plain, asked):
        for text in (DESCRIPTION, PLACE_TEXT, NOTE):
            assert text not in response.text


def test_staff_get_free_text_on_request_and_it_is_audited(
    app_client: TestClient,
    headers: Headers,
    file_case: Callable[..., str],
    db: sessionmaker[Session],
) -> None:
    file_case()
    response = app_client.get(URL, params={"include_text": 1}, headers=headers("admin"))
    assert response.status_code == 200
    assert response.text.splitlines()[0] == ",".join((*COLUMNS, *TEXT_COLUMNS))
    [row] = rows(response.text)
    assert row["description"] == DESCRIPTION
    with db() as session:
        [entry] = audit_entries(session=session, action="export.cases")
    assert (entry.actor, entry.data) == ("ada", {"filters": {}, "rows": 1, "include_text": True})


@pytest.mark.parametrize(
    "params",
    [
        {"status": "lost"},
        {"province": "CD NK"},
        {"created_from": "yesterday"},
        {"q": "abc"},
        {"include_text": "maybe"},
    ],
)
def test_bad_parameters_are_422(
    app_client: TestClient, headers: Headers, params: dict[str, str]
) -> None:
    assert app_client.get(URL, params=params, headers=headers("admin")).status_code == 422


def test_without_a_token_is_401(app_client: TestClient) -> None:
    assert app_client.get(URL).status_code == 401
