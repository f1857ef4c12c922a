"""`sauti simulate`: a USSD session in the terminal, posted exactly as Africa's Talking does;
with `--voice`, a call, posted as Twilio (signed with TWILIO_AUTH_TOKEN) or Africa's Talking
posts it, each spoken screen printed as the texts its prompts say (from the manifests).

After the last screen (END) it waits for Enter, which dials again, or q, which quits, so
the last screen can be read."""

from __future__ import annotations

import contextlib
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import Any, Protocol
from urllib.parse import urlsplit

import click
import httpx
from twilio.request_validator import RequestValidator

from storage.settings import Settings

Post = Callable[[dict[str, str]], str]


class Client(Protocol):
    def post(self, url: str, *, data: Any = ..., headers: Any = ...) -> httpx.Response: ...

    def get(self, url: str) -> httpx.Response: ...


@contextlib.contextmanager
def _client(settings: Settings, url: str | None) -> Iterator[Client]:
    """An HTTP client of the server at `url`, or of the whole service run in process."""
    if url:
        with httpx.Client(base_url=url, timeout=15) as remote:
            yield remote
        return
    from fastapi.testclient import TestClient

    from gateway.app import create_app
    from gateway.prompts.build import first_build
    from gateway.release import prepare
    from gateway.services import ensure_redis

    settings, embedded = ensure_redis(settings)
    prepare(settings)
    line = first_build(settings)  # a fresh install speaks from its first call, as `make run`
    if line:
        click.echo(line)
    try:
        with TestClient(create_app(settings)) as client:
            yield client
    finally:
        if embedded is not None:
            embedded.stop()


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


def _again(question: str = AGAIN) -> bool:
    """After the last screen: wait for Enter (dial again) or q (quit), so the screen can be
    read before anything else is shown."""
    try:
        answer: str = click.prompt(question, default="", show_default=False, prompt_suffix=" ")
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


# -- a call ---------------------------------------------------------------------------------

VOICE_PROVIDERS = ("twilio", "africastalking")
HANG_UP = "(call ended) Press Enter to call again, or type q and Enter to quit:"


def run_call(*, settings: Settings, url: str | None, phone: str, provider: str) -> None:
    """Call the voice line in this terminal: keys and Enter answer, Enter alone is
    silence, Ctrl-D hangs up."""
    if provider == "twilio" and not settings.twilio_auth_token:
        raise click.ClickException(
            "a call posted as Twilio posts it is signed: set TWILIO_AUTH_TOKEN (the server's)"
        )
    with _client(settings, url) as client:
        call = _Call(client, settings, phone, provider)
        click.echo(
            f"Calling the voice line ({provider}) from {phone}. Type the keys and press Enter;"
            " Enter alone is silence, Ctrl-D hangs up."
        )
        while call.run() and _again(HANG_UP):
            click.echo("\nCalling again.")


class _Call:
    def __init__(self, client: Client, settings: Settings, phone: str, provider: str) -> None:
        self.client, self.settings, self.phone, self.provider = client, settings, phone, provider
        self.texts: dict[str, dict[str, str]] = {}
        self.call_id = ""

    def _form(self, extra: dict[str, str]) -> dict[str, str]:
        if self.provider == "twilio":
            base = {
                "CallSid": self.call_id,
                "AccountSid": self.settings.twilio_account_sid or "AC" + "0" * 32,
                "From": self.phone,
                "To": "+10000000000",
                "CallStatus": "in-progress",
                "Direction": "inbound",
            }
        else:
            base = {"sessionId": self.call_id, "isActive": "1", "callerNumber": self.phone}
        return {**base, **extra}

    def post(self, address: str, extra: dict[str, str]) -> str:
        parts = urlsplit(address)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        form = self._form(extra)
        headers = {}
        if self.provider == "twilio":
            full = self.settings.sauti_public_url.rstrip("/") + path
            signer = RequestValidator(self.settings.twilio_auth_token)
            headers["X-Twilio-Signature"] = signer.compute_signature(full, form)
        return _checked(self.client.post(path, data=form, headers=headers))

    def said(self, url: str) -> str:
        _, _, rest = urlsplit(url).path.partition("/voice/prompts/")
        lang, _, file = rest.partition("/")
        if lang not in self.texts:
            found = self.client.get(f"/voice/prompts/{lang}/manifest.json")
            rows = found.json().get("prompts", []) if found.status_code == 200 else []
            self.texts[lang] = {row["file"]: row["text"] for row in rows}
        return self.texts[lang].get(file, f"[{lang}/{file}]")

    def run(self) -> bool:
        """One call, screen by screen; True when the line ended it, False on a hang-up."""
        self.call_id = ("CA" if self.provider == "twilio" else "ATVId_") + secrets.token_hex(16)
        first = "/voice/twilio" if self.provider == "twilio" else "/voice/africastalking"
        token = self.settings.sauti_at_token
        if self.provider != "twilio" and token:
            first += f"?token={token}"
        body = self.post(first, {})
        while True:
            root = ET.fromstring(body.split("?>", 1)[-1])  # noqa: S314 (the line's own answer)
            words: list[str] = []
            keys: str | None = None
            silence: str | None = None
            for element in root.iter():
                if element.tag == "Play":
                    words.append(self.said(element.text or element.get("url") or ""))
                elif element.tag == "Pause":
                    words.append("\n")
                elif element.tag in ("Gather", "GetDigits"):
                    keys = element.get("action") or element.get("callbackUrl")
                elif element.tag == "Redirect":
                    silence = element.text
            text = " ".join(words).replace(" \n ", "\n")
            click.echo("\n" + "-" * 32 + f"\n{text}\n" + "-" * 32)
            if keys is None:
                return True
            try:
                pressed = click.prompt("keys", default="", show_default=False, prompt_suffix="> ")
            except click.Abort:
                click.echo("\n(hung up)")
                return False
            name = "Digits" if self.provider == "twilio" else "dtmfDigits"
            pressed = pressed.strip()
            address, extra = (keys, {name: pressed}) if pressed else (silence or keys, {})
            body = self.post(address, extra)
