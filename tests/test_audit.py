"""The dependency audit CI runs (.ci/audit.py), with PyPI faked at its HTTP client: each
answer stands for what PyPI's JSON API serves."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sauti_ci_audit", ROOT / ".ci" / "audit.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


audit = _load()

ADVISORY = {
    "id": "PYSEC-2099-1",
    "aliases": ["CVE-2099-0001", "GHSA-aaaa-bbbb-cccc"],
    "fixed_in": ["2.0.1"],
    "summary": "Crafted input runs code\nmore details",
}


class FakePyPI:
    """Pages by path; a path not listed is a 404, `down` makes every request fail."""

    def __init__(self, pages: dict[str, dict[str, Any]], down: bool = False) -> None:
        self.pages = pages
        self.down = down
        self.asked: list[str] = []

    def __call__(self, path: str) -> dict[str, Any]:
        self.asked.append(path)
        if self.down:
            raise audit.Unreachable(path)
        if path not in self.pages:
            raise audit.NotServed(path)
        return self.pages[path]


def project(latest: str, vulnerabilities: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"info": {"version": latest}, "vulnerabilities": vulnerabilities or []}


def test_pins_are_read_from_a_lock_file_whatever_its_decorations() -> None:
    lines = [
        "# a comment",
        "",
        "Jinja2==3.1.6",
        "uvicorn[standard]==0.38.0 ; python_version >= '3.11'",
        "zope.interface==7.2 \\",
        "    --hash=sha256:abc",
        "pip>=23",
        "-e .",
    ]
    assert audit.read_pins(lines) == [
        ("Jinja2", "3.1.6"),
        ("uvicorn", "0.38.0"),
        ("zope.interface", "7.2"),
    ]


def test_the_project_lock_file_is_read_whole() -> None:
    text = (ROOT / "requirements.lock").read_text().splitlines()
    pins = audit.read_pins(text)
    assert len(pins) == sum("==" in line for line in text) > 50


def test_a_release_page_is_used_when_served() -> None:
    pypi = FakePyPI({"pkg/2.0.0/json": {"vulnerabilities": [ADVISORY]}})
    (result,) = audit.audit([("pkg", "2.0.0")], pypi)
    assert result.checked
    assert result.source == "release"
    assert [a.id for a in result.advisories] == ["PYSEC-2099-1"]
    assert pypi.asked == ["pkg/2.0.0/json"]


def test_the_project_page_counts_only_for_the_latest_release() -> None:
    pypi = FakePyPI({"pkg/json": project("2.0.0", [ADVISORY])})
    latest, older = audit.audit([("pkg", "2.0.0"), ("pkg", "1.9.0")], pypi)
    assert latest.checked
    assert latest.source == "latest"
    assert len(latest.advisories) == 1
    assert not older.checked
    assert "2.0.0" in older.source
    assert older.advisories == []


def test_a_known_vulnerability_fails_the_audit(capsys: pytest.CaptureFixture[str]) -> None:
    results = audit.audit([("pkg", "2.0.0")], FakePyPI({"pkg/json": project("2.0.0", [ADVISORY])}))
    assert audit.report(results, {}, strict=False) == 1
    out = capsys.readouterr().out
    assert "VULNERABLE  pkg 2.0.0  PYSEC-2099-1 (CVE-2099-0001, GHSA-aaaa-bbbb-cccc)" in out
    assert "fixed in: 2.0.1  Crafted input runs code" in out


@pytest.mark.parametrize("accepted_as", ["PYSEC-2099-1", "cve-2099-0001"])
def test_an_accepted_advisory_is_shown_but_does_not_fail(
    accepted_as: str, capsys: pytest.CaptureFixture[str]
) -> None:
    results = audit.audit([("pkg", "2.0.0")], FakePyPI({"pkg/json": project("2.0.0", [ADVISORY])}))
    accepted = audit.read_accepted([f"{accepted_as} only reached from the test suite  # note"])
    assert audit.report(results, accepted, strict=False) == 0
    assert "ACCEPTED: only reached from the test suite  pkg 2.0.0" in capsys.readouterr().out


def test_nothing_reachable_is_a_failure_not_a_pass(capsys: pytest.CaptureFixture[str]) -> None:
    results = audit.audit([("a", "1"), ("b", "2")], FakePyPI({}, down=True))
    assert [r.checked for r in results] == [False, False]
    assert audit.report(results, {}, strict=False) == 2
    assert "no pin could be checked" in capsys.readouterr().out


def test_unchecked_pins_fail_only_when_strict() -> None:
    pypi = FakePyPI({"a/json": project("1"), "b/json": project("3")})
    results = audit.audit([("a", "1"), ("b", "2")], pypi)
    assert audit.report(results, {}, strict=False) == 0
    assert audit.report(results, {}, strict=True) == 3


def test_a_package_missing_from_pypi_is_not_checked() -> None:
    (result,) = audit.audit([("private-thing", "1.0")], FakePyPI({}))
    assert not result.checked
    assert result.source == "not on PyPI"


def test_a_withdrawn_advisory_is_not_counted() -> None:
    withdrawn = {**ADVISORY, "id": "GHSA-xxxx-yyyy-zzzz", "withdrawn": "2099-01-02T00:00:00Z"}
    page = {"vulnerabilities": [withdrawn, {**ADVISORY, "withdrawn": None}]}
    (result,) = audit.audit([("pkg", "2.0.0")], FakePyPI({"pkg/2.0.0/json": page}))
    assert [a.id for a in result.advisories] == ["PYSEC-2099-1"]
