"""/api/v1/places: the tree, the CSV import and changing one place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

Headers = Callable[[str], dict[str, str]]


def _find(nodes: list[dict[str, Any]], code: str) -> dict[str, Any]:
    for node in nodes:
        if node["code"] == code:
            return node
        try:
            return _find(node["children"], code)
        except KeyError:
            continue
    raise KeyError(code)


def test_tree_nests_places(app_client: TestClient, headers: Headers) -> None:
    tree = app_client.get("/api/v1/places", headers=headers("coordinator")).json()
    congo = _find(tree, "cd")
    north_kivu = _find(congo["children"], "cd-nk")
    walikale = next(c for c in north_kivu["children"] if c["code"] == "cd-nk-walikale")
    assert {c["level"] for c in walikale["children"]} == {"site"}


def test_csv_import_refused_then_applied(app_client: TestClient, headers: Headers) -> None:
    auth = {**headers("admin"), "Content-Type": "text/csv"}
    bad = "code,name,parent_code,level\ncd-nk-lubero,Lubero,cd-nowhere,territory\n"
    refused = app_client.post("/api/v1/places/import", content=bad, headers=auth)
    assert refused.status_code == 422
    [problem] = refused.json()["detail"]["problems"]
    assert (problem["line"], problem["field"]) == (2, "parent_code")
    good = bad.replace("cd-nowhere", "cd-nk")
    done = app_client.post("/api/v1/places/import", content=good, headers=auth)
    assert done.json() == {"created": 1, "updated": 0, "unchanged": 0}
    tree = app_client.get("/api/v1/places", headers=auth).json()
    assert _find(tree, "cd-nk-lubero")["name"] == "Lubero"


def test_patch_renames_and_deactivates(app_client: TestClient, headers: Headers) -> None:
    auth = headers("coordinator")
    renamed = app_client.patch("/api/v1/places/cd-nk-masisi", json={"name": "Masisi"}, headers=auth)
    assert renamed.status_code == 200
    off = app_client.patch("/api/v1/places/cd-nk-masisi", json={"active": False}, headers=auth)
    assert off.json()["active"] is False
    tree = app_client.get("/api/v1/places", headers=auth).json()
    assert _find(tree, "cd-nk-masisi-rubaya")["active"] is False
    assert app_client.patch("/api/v1/places/nowhere", json={}, headers=auth).status_code == 404
    empty = app_client.patch("/api/v1/places/cd", json={"name": ""}, headers=auth)
    assert empty.status_code == 422


def test_analyst_is_refused(app_client: TestClient, headers: Headers) -> None:
    assert app_client.get("/api/v1/places", headers=headers("analyst")).status_code == 403
