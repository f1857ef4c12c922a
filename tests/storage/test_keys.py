"""Keys: from the environment, else generated once under var/ with owner-only access."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography.fernet import Fernet

from storage.keys import ENCRYPTION_KEY_FILE, PSEUDONYM_KEY_FILE, load_crypto, load_keys
from storage.settings import Settings

ENCRYPTION_KEY = Fernet.generate_key().decode()


def _settings(var_dir: Path, **keys: str) -> Settings:
    values = {"sauti_pseudonym_key": "", "sauti_encryption_key": ""} | keys
    return Settings(sauti_var_dir=var_dir, **values)  # type: ignore[arg-type]


def test_missing_keys_are_generated_once_with_mode_0600(tmp_path: Path) -> None:
    first = load_crypto(_settings(tmp_path))
    for name in (PSEUDONYM_KEY_FILE, ENCRYPTION_KEY_FILE):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    token = first.encrypt("kept across restarts")
    second = load_crypto(_settings(tmp_path))
    assert second.pseudonym("+243812345678") == first.pseudonym("+243812345678")
    assert second.decrypt(token) == "kept across restarts"
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [PSEUDONYM_KEY_FILE, ENCRYPTION_KEY_FILE]
    )


def test_existing_key_files_are_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / PSEUDONYM_KEY_FILE).write_text("p" * 64 + "\n")
    keys = load_keys(_settings(tmp_path))
    assert keys.pseudonym_key == b"p" * 64
    assert (tmp_path / PSEUDONYM_KEY_FILE).read_text() == "p" * 64 + "\n"


def test_environment_keys_win_and_nothing_is_written(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path, sauti_pseudonym_key="e" * 40, sauti_encryption_key=ENCRYPTION_KEY
    )
    keys = load_keys(settings)
    assert keys.pseudonym_key == b"e" * 40
    assert keys.encryption_key == ENCRYPTION_KEY
    assert list(tmp_path.iterdir()) == []


def test_keys_do_not_show_in_repr(tmp_path: Path) -> None:
    keys = load_keys(_settings(tmp_path))
    assert keys.encryption_key not in repr(keys)
