"""What a provider's webhooks need of the service, named here so that no provider folder
imports the modules that provide it (`gateway.runtime`, `gateway.conversation`).

The app keeps a `Services` and a `Replier` on `app.state` (as `runtime` and
`conversation`); a route reads them from there, and a plain ASGI `Webhook` (served ahead
of the framework, `gateway.app.Sauti`) from the state it is given.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import redis
from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from flows.engine import Bundle, Screen
from flows.i18n import Catalogs
from gateway.channels.formbody import Receive, Scope, Send
from gateway.inbound import InboundMessage
from gateway.metrics import Metrics
from gateway.phones import Pseudonyms
from storage.privacy import Crypto
from storage.sessions import SessionStore
from storage.settings import Settings

T = TypeVar("T")


class PromptFiles(Protocol):
    """Which language folder plays a prompt (`gateway.prompts.index.PromptIndex`)."""

    def where(self, lang: str, file: str) -> str | None: ...


class Services(Protocol):
    """The long-lived services (`gateway.runtime.Runtime`)."""

    settings: Settings
    crypto: Crypto
    sessions: sessionmaker[Session]
    redis: redis.Redis
    store: SessionStore
    catalogs: Catalogs
    metrics: Metrics
    pseudonyms: Pseudonyms
    bundle: Bundle  # the published flows (their texts name the voice prompts)

    @property
    def voice_prompts(self) -> PromptFiles: ...

    async def db(self, func: Callable[..., T], /, *args: Any) -> T: ...

    async def transaction(self, func: Callable[..., T], /, *args: Any) -> T: ...


class Replier(Protocol):
    """Answers a caller (`gateway.conversation.Conversation`)."""

    async def hop(self, msg: InboundMessage) -> Screen: ...

    async def sms(self, msg: InboundMessage) -> str | None: ...


# A webhook served as plain ASGI: the app's state, then the ASGI call's own arguments.
Webhook = Callable[[Any, Scope, Receive, Send], Awaitable[None]]


def services(request: Request) -> Services:
    return services_of(request.app.state)


def replier(request: Request) -> Replier:
    return replier_of(request.app.state)


def services_of(state: Any) -> Services:
    found: Services = state.runtime
    return found


def replier_of(state: Any) -> Replier:
    found: Replier = state.conversation
    return found
