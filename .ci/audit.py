#!/usr/bin/env python3
"""Audit the pinned dependencies against the advisories PyPI publishes.

Reads every `name==version` pin of a lock file and asks PyPI's JSON API which known
vulnerabilities (OSV, PYSEC and GitHub advisories) affect that release: first the
release's own page (`/pypi/NAME/VERSION/json`, the source pip-audit uses), and where that
is not served, the project's page (`/pypi/NAME/json`), whose advisories are those of the
latest release, so they count only when the pin is the latest release. A pin that neither
answers for is listed as not checked, with the release to move to so that it can be.

Exits 1 when a pinned release has a known vulnerability not accepted in the accepted
file (one advisory id per line, a reason after it), 2 when no pin could be checked at all
(PyPI unreachable), 3 with --strict when some pins could not be checked; 0 otherwise.
Standard library only, so it runs before anything is installed.

    python .ci/audit.py [--lock requirements.lock] [--accepted .ci/audit-accepted.txt]
        [--index https://pypi.org/pypi] [--strict]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==\s*([^\s;#\\]+)")


class NotServed(Exception):
    """PyPI answered, but has no such page (404)."""


class Unreachable(Exception):
    """PyPI could not be asked (network, timeout, server error, not JSON)."""


Fetch = Callable[[str], dict[str, Any]]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(lines: Iterable[str]) -> list[tuple[str, str]]:
    """(name, version) of each `name==version` line; comments, markers, extras and hash
    options ignored."""
    pins = []
    for line in lines:
        match = PIN.match(line)
        if match:
            pins.append((match.group(1), match.group(2)))
    return pins


def read_accepted(lines: Iterable[str]) -> dict[str, str]:
    """Advisory id -> the reason it is accepted."""
    accepted = {}
    for line in lines:
        text = line.split("#", 1)[0].strip()
        if text:
            advisory, _, reason = text.partition(" ")
            accepted[advisory.upper()] = reason.strip() or "(no reason given)"
    return accepted


@dataclass
class Advisory:
    id: str
    aliases: list[str]
    fixed_in: list[str]
    summary: str

    @classmethod
    def of(cls, data: dict[str, Any]) -> Advisory:
        text = str(data.get("summary") or data.get("details") or "").strip()
        return cls(
            id=str(data.get("id", "?")),
            aliases=[str(a) for a in data.get("aliases") or []],
            fixed_in=[str(v) for v in data.get("fixed_in") or []],
            summary=text.splitlines()[0][:120] if text else "",
        )

    def names(self) -> set[str]:
        return {self.id.upper(), *(a.upper() for a in self.aliases)}


@dataclass
class Result:
    name: str
    version: str
    checked: bool
    source: str  # "release", "latest" or why it was not checked
    advisories: list[Advisory] = field(default_factory=list)


def fetch_json(index: str, timeout: float) -> Fetch:
    def fetch(path: str) -> dict[str, Any]:
        url = f"{index.rstrip('/')}/{path}"
        if not url.startswith(("https://", "http://")):
            raise Unreachable(f"{url}: not an http(s) address")
        request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                data = json.load(response)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise NotServed(path) from None
            raise Unreachable(f"{path}: HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            raise Unreachable(f"{path}: {exc}") from None
        if not isinstance(data, dict):
            raise Unreachable(f"{path}: not a JSON object")
        return data

    return fetch


def advisories_of(page: dict[str, Any]) -> list[Advisory]:
    """The page's advisories, less any that was withdrawn (found not to be one)."""
    return [Advisory.of(v) for v in page.get("vulnerabilities") or [] if not v.get("withdrawn")]


def check(name: str, version: str, fetch: Fetch) -> Result:
    """What PyPI knows of one pinned release."""
    try:
        release = fetch(f"{name}/{version}/json")
    except (NotServed, Unreachable):
        pass
    else:
        return Result(name, version, True, "release", advisories_of(release))
    try:
        project = fetch(f"{name}/json")
    except NotServed:
        return Result(name, version, False, "not on PyPI")
    except Unreachable as exc:
        return Result(name, version, False, f"unreachable ({exc})")
    latest = str(project.get("info", {}).get("version", ""))
    if latest != version:
        return Result(
            name,
            version,
            False,
            f"PyPI served advisories for the latest release only ({latest}), "
            f"which is not the one pinned",
        )
    return Result(name, version, True, "latest", advisories_of(project))


def audit(pins: list[tuple[str, str]], fetch: Fetch, workers: int = 8) -> list[Result]:
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(lambda pin: check(pin[0], pin[1], fetch), pins))


def report(results: list[Result], accepted: dict[str, str], strict: bool) -> int:
    """Print what was found; the exit code."""
    vulnerable = 0
    for result in results:
        for advisory in result.advisories:
            reason = next((accepted[n] for n in sorted(advisory.names()) if n in accepted), None)
            fixed = ", ".join(advisory.fixed_in) or "no fixed release"
            aliases = f" ({', '.join(advisory.aliases)})" if advisory.aliases else ""
            status = f"ACCEPTED: {reason}" if reason else "VULNERABLE"
            print(
                f"{status}  {result.name} {result.version}  {advisory.id}{aliases}  "
                f"fixed in: {fixed}  {advisory.summary}"
            )
            vulnerable += reason is None
    unchecked = [r for r in results if not r.checked]
    for result in unchecked:
        print(f"NOT CHECKED  {result.name} {result.version}: {result.source}")
    checked = [r for r in results if r.checked]
    by_release = sum(r.source == "release" for r in checked)
    print(
        f"{len(results)} pinned releases: {len(checked)} checked ({by_release} by their own "
        f"page, {len(checked) - by_release} as the latest release), {len(unchecked)} not "
        f"checked; {vulnerable} with a known vulnerability not accepted"
    )
    if vulnerable:
        return 1
    if results and not checked:
        print("no pin could be checked: is PyPI reachable?")
        return 2
    if strict and unchecked:
        return 3
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lock", type=Path, default=ROOT / "requirements.lock")
    parser.add_argument("--accepted", type=Path, default=ROOT / ".ci" / "audit-accepted.txt")
    parser.add_argument("--index", default="https://pypi.org/pypi")
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--strict", action="store_true", help="fail when a pin is not checked")
    args = parser.parse_args(argv)
    try:
        pins = read_pins(args.lock.read_text(encoding="utf-8").splitlines())
        accepted = (
            read_accepted(args.accepted.read_text(encoding="utf-8").splitlines())
            if args.accepted.exists()
            else {}
        )
    except OSError as exc:
        parser.error(str(exc))
    if not pins:
        parser.error(f"{args.lock}: no name==version pins")
    results = audit(pins, fetch_json(args.index, args.timeout))
    return report(results, accepted, args.strict)


if __name__ == "__main__":
    sys.exit(main())
