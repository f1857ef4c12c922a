"""The layers hold: gateway -> workers -> storage -> flows, provider folders import nothing
above gateway.channels, the console and the API never import each other.

The contracts are import-linter's (pyproject.toml, `lint-imports` in CI); these tests run
the same checker on this tree and on a copy with an upward import planted in it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gateway", "workers", "storage", "flows")
# The modules provider folders may use besides their own: the channels' toolkit.
CHANNEL_TOOLKIT = {"channels", "forms", "inbound", "phones", "metrics", "messages"}


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"]
    return subprocess.run(  # noqa: S603 (our own venv's lint-imports)
        command, cwd=root, capture_output=True, text=True, timeout=120, check=False
    )


def copy_tree(target: Path) -> Path:
    for name in PACKAGES:
        shutil.copytree(ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def contracts() -> list[dict[str, object]]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        found: list[dict[str, object]] = tomllib.load(handle)["tool"]["importlinter"]["contracts"]
    return found


def test_the_tree_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("planted_in", "line", "contract"),
    [
        ("workers/planted.py", "from gateway import conversation", "gateway -> workers"),
        ("storage/planted.py", "import workers.notify", "gateway -> workers"),
        ("flows/planted.py", "from storage import cases", "gateway -> workers"),
        (
            "gateway/channels/twilio/planted.py",
            "from gateway.conversation import Conversation",
            "provider folders import nothing",
        ),
        ("gateway/api/planted.py", "from gateway.admin import web", "the console and the API"),
        ("gateway/simulate_planted.py", "from gateway import cli", None),
    ],
)
def test_a_planted_upward_import_breaks_its_contract(
    tmp_path: Path, planted_in: str, line: str, contract: str | None
) -> None:
    tree = copy_tree(tmp_path)
    (tree / planted_in).write_text(f'"""Planted."""\n\n{line}\n', encoding="utf-8")
    if contract is None:  # a module importing the CLI sits above it: name it in the layers
        pyproject = tree / "pyproject.toml"
        text = pyproject.read_text(encoding="utf-8")
        pyproject.write_text(
            text.replace('"simulate | launcher"', '"simulate | launcher | simulate_planted"'),
            encoding="utf-8",
        )
        contract = "the command line is the top"
    result = lint_imports(tree)
    assert result.returncode != 0, result.stdout
    assert f"{contract}" in result.stdout
    assert "BROKEN" in result.stdout
    print(result.stdout)  # what CI shows for a broken contract


def test_every_gateway_module_is_placed_for_the_provider_folders() -> None:
    """A new gateway module is either the channels' toolkit or forbidden to them."""
    [channels] = [c for c in contracts() if c.get("id") == "channels"]
    forbidden = {str(name).removeprefix("gateway.") for name in channels["forbidden_modules"]}  # type: ignore[attr-defined]
    modules = {
        path.stem if path.is_file() else path.name
        for path in (ROOT / "gateway").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__")
        or (path.is_dir() and (path / "__init__.py").exists())
    }
    assert modules - CHANNEL_TOOLKIT == forbidden
