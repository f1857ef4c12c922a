"""`sauti simulate`: a USSD session in the terminal, posted exactly as Africa's Talking does.

After the last screen (END) it waits for Enter, which dials again, or q, which quits, so
the last screen can be read."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator

import click
import httpx

from storage.settings import Settings

Post = Callable[[dict[str, str]], str]


@contextlib.contextmanager
def _in_process(settings: Settings) -> Iterator[Post]:
    from fastapi.testclient import TestClient

    from gateway.app import create_app
    from gateway.release import prepare
    from gateway.services import ensure_redis

    settings, embedded = ensure_redis(settings)
    prepare(settings)
    try:
        with TestClient(create_app(settings)) as client:
            yield lambda form: _checked(client.post(_path(settings), data=form))
    finally:
        if embedded is not None:
            embedded.stop()


@contextlib.contextmanager
def _remote(settings: Settings, url: str) -> Iterator[Post]:
    with httpx.Client(base_url=url, timeout=15) as client:
        yield lambda form: _checked(client.post(_path(settings), data=form))


def _path(settings: Settings) -> str:
    token = settings.sauti_at_token
    return "/ussd/africastalking" + (f"?token={token}" if token else "")


def _checked(response: httpx.Response) -> str:
    if response.status_code != 200:
        raise click.ClickException(
            f"the server answered {response.status_code}: {response.text[:200]}"
        )
    return response.text


AGAIN = "(session ended) Press Enter to dial again, or type q and Enter to quit:"
QUIT = frozenset({"q", "quit", "exit"})


def run_simulation(
    *, settings: Settings, url: str | None, phone: str, service_code: str | None
) -> None:
    code = service_code or settings.sauti_service_code
    transport = _remote(settings, url) if url else _in_process(settings)
    with transport as post:
        click.echo(
            f"Dialling {code} from {phone}. Type your answer and press Enter (Ctrl-D hangs up)."
        )
        while _session(post, phone=phone, service_code=code) and _again():
            click.echo(f"\nDialling {code} again.")


def _again() -> bool:
    """After the last screen: wait for Enter (dial again) or q (quit), so the screen can be
    read before anything else is shown."""
    try:
        answer: str = click.prompt(AGAIN, default="", show_default=False, prompt_suffix=" ")
    except click.Abort:  # Ctrl-D or Ctrl-C at the prompt
        click.echo()
        answer = "q"
    if answer.strip().casefold() in QUIT:
        click.echo("(hung up)")
        return False
    return True


def _session(post: Post, *, phone: str, service_code: str) -> bool:
    """One dial, screen by screen; True when the service ended it, False on a hang-up."""
    inputs: list[str] = []
    form = {
        "sessionId": f"SIM{secrets.token_hex(8)}",
        "serviceCode": service_code,
        "phoneNumber": phone,
        "networkCode": "63001",
    }
    while True:
        reply = post({**form, "text": "*".join(inputs)})
        kind, _, screen = reply.partition(" ")
        click.echo("\n" + "-" * 32 + f"\n{screen}\n" + "-" * 32)
        if kind != "CON":
            return True
        try:
            inputs.append(click.prompt(">", default="", show_default=False, prompt_suffix=" "))
        except click.Abort:
            click.echo("\n(hung up)")
            return False
