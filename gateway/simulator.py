"""The phone simulator of the console: any stored version, any language, the real engine.

A simulated session walks the same `flows.engine` and `flows.render` as a caller does, with
the service's places and catalogs, but its effects are answered here and touch nothing: a
report is not filed (the screen shows the test number `TEST_CASE`), nothing is routed or
sent, no language preference is stored, a case lookup finds nothing. The phone calls from
one of the demo countries (`COUNTRIES`: the number's prefix picks the country, as a real
caller's does, and the report's first place menu starts in it) or from none. Its state lives in
Redis under `PREFIX`, keyed by a hash of its owner (the console session, or an API user
and the session id they chose), and expires after `TTL` seconds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from flows import effects as fx
from flows import engine
from flows.engine import Bundle, Context, FlowError, Outcome, Screen, State, Step
from flows.loader import BundleError, load_bundle
from gateway.flowadmin import FlowAdminError, checked_version
from gateway.runtime import Runtime
from storage import flowstore

PREFIX = "sauti:sim:"
TTL = 1800
TEST_CASE = "TEST-000-000"
MAX_INPUT = 1000
# The countries the simulated phone may call from: code -> (name, number prefix).
COUNTRIES: dict[str, tuple[str, str]] = {
    "cd": ("DR Congo", "+243"),
    "rw": ("Rwanda", "+250"),
    "bi": ("Burundi", "+257"),
}


@dataclass(frozen=True)
class SimScreen:
    """What the simulated phone shows."""

    screen: str
    ended: bool
    version: str
    language: str
    test: bool = True
    country: str | None = None


def owner_key(*parts: str) -> str:
    """The Redis key of an owner's simulated session (the owner itself is not stored)."""
    digest = hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return PREFIX + digest[:40]


def _load_row(runtime: Runtime, version: str) -> dict[str, str] | None:
    with runtime.sessions() as session:
        row = flowstore.bundle_by_version(session=session, version=version)
        return dict(row.texts) if row is not None else None


async def compiled(runtime: Runtime, version: str) -> Bundle:
    """The compiled bundle of a stored version (drafts included), kept by the runtime."""
    checked_version(version)
    found = runtime.bundle_for(version)
    if found is not None:
        return found
    texts = await runtime.db(_load_row, runtime, version)
    if texts is None:
        raise FlowAdminError("no such version", 404)
    try:
        bundle = load_bundle(texts)
    except BundleError as exc:
        raise FlowAdminError("this version does not compile: fix its lint errors first") from exc
    runtime.bundles[version] = bundle
    return bundle


def checked_country(country: str | None) -> str | None:
    """A demo country's code, None for a phone of no known country; refused otherwise."""
    if not country:
        return None
    if country not in COUNTRIES:
        raise FlowAdminError(f"unknown country {country[:16]!r}: use one of {', '.join(COUNTRIES)}")
    return country


def default_country(runtime: Runtime) -> str:
    """The country the simulated phone calls from unless one is chosen: the service's
    default region when it is a demo country, else DR Congo."""
    region = (runtime.settings.sauti_default_region or "").lower()
    return region if region in COUNTRIES else "cd"


def _context(runtime: Runtime, lang: str, country: str | None = None) -> Context:
    settings = runtime.settings
    return Context(
        lang=lang,
        translators=runtime.catalogs.translator,
        places=runtime.places,
        country=country,
        channel="ussd",
        languages=settings.languages,
        service_code=settings.sauti_service_code,
    )


def _outcome(effect: fx.Effect) -> Outcome | None:
    """What the simulator answers an effect with: success, and nothing done."""
    if isinstance(effect, fx.SubmitReport):
        return Outcome(ok=True, values={"case": TEST_CASE})
    if isinstance(effect, fx.AddInformation):
        return Outcome(ok=True, values={"case": TEST_CASE})
    if isinstance(effect, fx.LookupCase):
        return Outcome(ok=False, values={})
    return None


def _settle(bundle: Bundle, step: Step, ctx: Context) -> tuple[State, Screen]:
    for _ in range(64):
        outcome = None
        for effect in step.effects:
            outcome = _outcome(effect)
        if step.screen is not None:
            return step.state, step.screen
        step = engine.resume(bundle, step.state, outcome or Outcome(ok=False, values={}), ctx)
    raise FlowError("the flow kept running effects without showing a screen")


def _language(runtime: Runtime, language: str) -> str:
    if language not in runtime.settings.languages:
        raise FlowAdminError(f"unknown language {language[:16]!r}: use one the service offers")
    return language


async def _saved(runtime: Runtime, key: str) -> tuple[State, bool, str | None] | None:
    """The saved state, whether its session has ended, and the country it calls from."""
    raw = await runtime.aredis.get(key)
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        country = data.get("c")
        return State.from_dict(data["s"]), bool(data["end"]), country if country else None
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


async def run(
    runtime: Runtime,
    *,
    key: str,
    version: str,
    language: str,
    text: str | None,
    country: str | None = None,
) -> SimScreen:
    """Dial from `country` (when `text` is None, or the saved session is of another
    version) or press `text` on the simulated phone of `key`; return the screen."""
    bundle = await compiled(runtime, version)
    lang = _language(runtime, language)
    country = checked_country(country)
    if text is not None and len(text) > MAX_INPUT:
        raise FlowAdminError(f"an input is at most {MAX_INPUT} characters")
    saved = await _saved(runtime, key) if text is not None else None
    state = saved[0] if saved is not None and not saved[1] else None
    if state is not None and state.version != version:
        state = None
    if state is not None and saved is not None:
        country = saved[2]
    ctx = _context(runtime, lang if state is None else state.lang, country)
    if state is None or text is None:
        step = engine.start(bundle, ctx, has_language=True)
    else:
        step = engine.step(bundle, state, text, ctx)
    state, screen = _settle(bundle, step, ctx)
    await _store(runtime, key, state, screen, country)
    return SimScreen(screen.text, screen.final, version, state.lang, country=country)


async def _store(
    runtime: Runtime, key: str, state: State, screen: Screen, country: str | None
) -> None:
    """Keep the state, whether it ended (the next key then dials again) and the country."""
    data: dict[str, Any] = {"s": state.to_dict(), "end": screen.final, "c": country}
    await runtime.aredis.set(key, json.dumps(data), ex=TTL)


async def hang_up(runtime: Runtime, key: str) -> None:
    await runtime.aredis.delete(key)


async def last_screen(runtime: Runtime, key: str) -> SimScreen | None:
    """The screen a simulated session stands on (for the page without JavaScript)."""
    saved = await _saved(runtime, key)
    if saved is None:
        return None
    state, country = saved[0], saved[2]
    try:
        bundle = await compiled(runtime, state.version)
        step = engine.render_step(bundle, state, _context(runtime, state.lang, country))
    except (FlowAdminError, FlowError):
        return None
    if step.screen is None:
        return None
    return SimScreen(
        step.screen.text, step.screen.final, state.version, state.lang, country=country
    )
