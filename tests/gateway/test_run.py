"""`sauti run`'s banner and its checks before it starts anything (the processes themselves
are started and stopped in tests/deploy/test_run.py)."""

from __future__ import annotations

import socket
from pathlib import Path

import click
import pytest

from gateway import launcher
from storage.settings import Settings

SECRETS = {
    "sauti_at_token": "at-secret-0123456789abcdefghijkl",
    "twilio_auth_token": "twilio-secret-0123456789",
    "twilio_account_sid": "AC" + "7" * 32,
    "sauti_pseudonym_key": "pseudonym-secret-0123456789abcdef",
    "sauti_encryption_key": "0BIPa6J1bVtlKzqI0g1Rj2sCNBfbJ0dBo1uUqkf4yL8=",
}


def test_the_banner_names_the_token_variable_never_a_secret(tmp_path: Path) -> None:
    settings = Settings(
        sauti_var_dir=tmp_path / "var",
        sauti_port=8123,
        database_url="postgresql+psycopg://sauti:db-password-secret@db.example.org/sauti",
        redis_url="redis://:redis-password-secret@redis.example.org:6379/0",
        **SECRETS,
    )
    text = launcher.banner(settings, tmp_path / "var" / "log" / "sauti.log")
    assert "POST http://127.0.0.1:8123/ussd/africastalking?token=$SAUTI_AT_TOKEN" in text
    assert "simulate --url http://127.0.0.1:8123" in text
    assert "sauti.log" in text
    for secret in [*SECRETS.values(), "db-password-secret", "redis-password-secret"]:
        assert secret not in text


def test_without_a_token_the_callback_has_none(tmp_path: Path) -> None:
    text = launcher.banner(Settings(sauti_var_dir=tmp_path), tmp_path / "sauti.log")
    assert "/ussd/africastalking\n" in text
    assert "?token" not in text


def test_the_log_file_is_under_var_unless_set(tmp_path: Path) -> None:
    assert launcher.log_file(Settings(sauti_var_dir=tmp_path)) == tmp_path / "log" / "sauti.log"
    chosen = tmp_path / "elsewhere.log"
    assert launcher.log_file(Settings(sauti_var_dir=tmp_path, sauti_log_file=chosen)) == chosen


def test_a_port_in_use_stops_the_run_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = Settings(sauti_var_dir=tmp_path, sauti_port=port)
        started: list[Settings] = []
        with pytest.raises(click.ClickException, match=f"port {port} on 127.0.0.1 is in use"):
            launcher.run(settings, prepare=started.append)
    assert started == []
    assert not (tmp_path / "redis").exists()
