"""One hop of a conversation: load the session, step the engine, apply effects, save.

USSD and SMS share this path. Africa's Talking sends every input of a USSD session joined by
`*` on each hop, so the session record counts the inputs already consumed and only the new
ones are fed to the engine (a dial with pre-entered inputs is just a first hop with several).
A hop seen before (a gateway retry) gets the reply cached for it and has no second effect.

On the reply path a hop reads Redis once and writes it once (`SessionStore.load_hop`,
`save_hop`), all within one timeout (HOP_TIMEOUT_SECONDS). The only database work that
makes the caller wait is a report's commit, a status check, added information, and the
language of a number the cache knows nothing of. A language choice is cached in Redis
with the hop's write and reaches the database through a job (`workers.languages`), or
with the conversation's report when the job could not be enqueued; a report's routing
is enqueued on the asyncio client
once the report is committed, and the sweep routes any report whose enqueue failed.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from flows import effects as fx
from flows import engine
from flows.engine import Bundle, Context, FlowError, Outcome, Screen, State, Step
from flows.gsm import ASCII, GSM7, Alphabet, spell, transliterate
from flows.state import DRAFT_NAME
from flows.voice import speech_of
from gateway import messages
from gateway.closing_answers import ClosingAnswers, parse_answer
from gateway.commands import Commands, parse_command
from gateway.inbound import Channel, InboundMessage
from gateway.keywords import Keyword, match
from gateway.limits import Limit, Limits, Verdict
from gateway.runtime import HOP_TIMEOUT_SECONDS, Runtime
from storage import cases, prefs, timelines
from storage.appeals import may_answer
from storage.casenumber import display
from storage.models import Case
from storage.sessions import NO_LANGUAGE, DraftChange, HopLoad, LanguageChange, SessionStore
from workers import queues
from workers.languages import save_language
from workers.routing import route_report

log = logging.getLogger(__name__)
T = TypeVar("T")

COUNTRY_LANGUAGES = {
    "CD": ("sw", "fr", "ln", "en"),
    "RW": ("rw", "en", "fr"),
    "BI": ("rn", "fr", "en"),
}
FALLBACK_ORDER = ("en", "fr", "sw", "rw", "rn", "ln")
LANGUAGE_CACHE_TTL = 7 * 86400
# How long the deadline a confirmation screen names ("answers within 3 days") is reused for
# reports that routing sends the same way (place, category, severity, ITSCI level):
# planning the routing costs as much as filing the report, and committees' deadlines
# change seldom. A changed deadline is on new confirmations within this.
WITHIN_CACHE_SECONDS = 60.0
WITHIN_CACHE_SIZE = 4096


@dataclass
class Record:
    """What Redis keeps of a conversation between hops."""

    state: State
    consumed: int = 0
    drop_draft: bool = False  # set for this hop only: the draft was sent or discarded
    resumable: bool = True  # False for this hop only: ended waiting on an effect
    keep_draft: int = 0  # set for this hop only: keep the draft at least this many seconds
    chose: str | None = None  # the language chosen in this conversation, for its report
    remember: str | None = None  # set for this hop only: the language to cache for the number

    def to_dict(self, inputs: tuple[str, ...] = ()) -> dict[str, Any]:
        """With the session's USSD `inputs`, also the digest of those consumed so far."""
        data: dict[str, Any] = {"s": self.state.to_dict(), "n": self.consumed}
        if inputs:
            data["p"] = inputs_digest(inputs[: self.consumed])
        if self.chose:
            data["c"] = self.chose
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        chose = data.get("c")
        return cls(
            state=State.from_dict(data["s"]),
            consumed=int(data.get("n", 0)),
            chose=chose if isinstance(chose, str) else None,
        )


def inputs_digest(inputs: tuple[str, ...]) -> str:
    """Names a sequence of USSD inputs (in a sealed record only, never as a key)."""
    return hashlib.sha256("*".join(inputs).encode("utf-8", "surrogatepass")).hexdigest()


def continues(data: Mapping[str, Any], inputs: tuple[str, ...]) -> bool:
    """Whether `inputs` go on from the conversation `data` was saved from: it consumed at
    least one input, and those it consumed are the first of `inputs`."""
    consumed = data.get("n")
    if not isinstance(consumed, int) or not 0 < consumed <= len(inputs):
        return False
    return bool(data.get("p") == inputs_digest(inputs[:consumed]))


def hop_id(msg: InboundMessage) -> str:
    """USSD: the whole input so far identifies a hop; SMS and WhatsApp: the provider's
    message id."""
    source = msg.message_id if msg.channel is not Channel.USSD and msg.message_id else msg.text
    return hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def submission_key(msg: InboundMessage) -> str:
    """Names the hop that submits a report, so its repeats find the report already filed."""
    return hashlib.sha256(f"{msg.session_key}|{hop_id(msg)}".encode()).hexdigest()


# The answer under which an unfinished report carries its own name (never shown, never
# stored with the case): the report it becomes is filed under that name.
DRAFT_ID = DRAFT_NAME


def _name_the_draft(record: Record) -> None:
    """Give an unfinished report a name the first time it is saved.

    A report is filed under its draft's name, so sending the same draft twice files it
    once: after a Redis restart that kept the draft of a report already filed, or when the
    caller continues, in a later session, a draft whose sending they never saw confirmed.
    """
    state = record.state
    if state.draft_node is None or not state.answers or DRAFT_ID in state.answers:
        return
    record.state = replace(state, answers={**state.answers, DRAFT_ID: secrets.token_hex(16)})


def report_key(msg: InboundMessage, answers: Mapping[str, str]) -> str:
    """The key a report is filed under: its draft's name, else its submitting hop's."""
    name = answers.get(DRAFT_ID)
    if name:
        return hashlib.sha256(f"draft|{msg.pseudonym}|{name}".encode()).hexdigest()
    return submission_key(msg)


class LimitReached(Exception):
    """A report or status check past the caller's limit: the hop ends with `screen`."""

    def __init__(self, record: Record, screen: Screen) -> None:
        super().__init__("limit reached")
        self.record = record
        self.screen = screen


class Conversation:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        # The conversation's own client: no timeout on each read, one around the hop.
        self.store = SessionStore(runtime.hop_redis, crypto=runtime.crypto)
        self.limits = Limits(runtime.hop_redis, runtime.settings)
        self._pending: set[asyncio.Task[bool]] = set()
        self._deadlines: dict[tuple[object, ...], tuple[float, timedelta]] = {}

    # -- context -------------------------------------------------------------------------

    def languages_for(self, region: str | None) -> tuple[str, ...]:
        enabled = self.rt.settings.languages
        order = COUNTRY_LANGUAGES.get(region or "", ()) + FALLBACK_ORDER + enabled
        return tuple(dict.fromkeys(code for code in order if code in enabled))

    def first_language(self, region: str | None, hint: tuple[str, ...] = ()) -> str:
        """The language to greet a number that never chose one in: a language its first
        keyword was written in, if offered, else its country's default."""
        offered = self.languages_for(region)
        hinted = [code for code in offered if code in hint]
        return (hinted or list(offered) or [self.rt.settings.sauti_default_language])[0]

    def alphabet(self, msg: InboundMessage) -> Alphabet:
        """What the hop's screens are spelled in: plain ASCII on USSD to a network named in
        SAUTI_USSD_ASCII (by the code the provider sent), else GSM-7."""
        if msg.channel is Channel.USSD and self.rt.settings.ascii_network(msg.network_code):
            return ASCII
        return GSM7

    def languages_of(self, msg: InboundMessage) -> tuple[str, ...]:
        """The languages a caller may choose: on the voice line only those it speaks."""
        offered = self.languages_for(msg.region)
        if msg.channel is not Channel.VOICE:
            return offered
        voice = self.rt.settings.voice_languages
        return tuple(code for code in offered if code in voice) or voice

    def context(self, msg: InboundMessage, lang: str) -> Context:
        country = (msg.region or "").lower() or None
        if country is not None and self.rt.places.get(country) is None:
            country = None
        settings = self.rt.settings
        return Context(
            lang=lang,
            translators=self.rt.catalogs.translator,
            channel=msg.channel.screens,
            places=self.rt.places,
            country=country,
            languages=self.languages_of(msg),
            service_code=settings.sauti_service_code,
            alphabet=self.alphabet(msg),
            record=msg.channel is Channel.VOICE and settings.sauti_voice_recording,
        )

    # -- one hop -------------------------------------------------------------------------

    async def hop(
        self,
        msg: InboundMessage,
        *,
        entry: str | None = None,
        feed: tuple[str, ...] = (),
        hint: tuple[str, ...] = (),
    ) -> Screen:
        """Answer one hop; the same hop sent twice gets the same screen and one effect.

        `entry` starts a new conversation at that flow or node (SMS keywords) and `feed`
        gives it its first inputs; otherwise an SMS continues its conversation with its body.
        Past HOP_TIMEOUT_SECONDS it raises TimeoutError (the caller is told to try again).
        """
        async with asyncio.timeout(HOP_TIMEOUT_SECONDS):
            return await self._hop(msg, entry, feed, hint)

    async def _hop(
        self,
        msg: InboundMessage,
        entry: str | None,
        feed: tuple[str, ...],
        hint: tuple[str, ...],
    ) -> Screen:
        hop = hop_id(msg)
        load = await self.store.load_hop(
            msg.session_key, hop, pseudonym=msg.pseudonym, last=msg.channel is Channel.USSD
        )
        if load.reply is not None:
            return Screen(text=load.reply[1:], final=load.reply[0] == "E")
        try:
            record, screen = await self._run(msg, load, entry, feed, hint)
        except LimitReached as hit:
            # Ended on the effect it waits for: a later hop asks again, never goes on here.
            record, screen = hit.record, hit.screen
            record.resumable = False
        await self._save(msg, record, screen, hop)
        return screen

    async def _run(
        self,
        msg: InboundMessage,
        load: HopLoad,
        entry: str | None,
        feed: tuple[str, ...],
        hint: tuple[str, ...],
    ) -> tuple[Record, Screen]:
        record = await self._recall(msg, load) if entry is None else None
        if record is None:
            # A USSD hop with inputs and no conversation they go on from is a dial with
            # inputs typed ahead, unless Redis lost what it held: no latest conversation of
            # this number, and no sign of any hop, or only of hops younger than a session.
            # Those inputs then answered screens nobody can tell again: the caller starts
            # again, told so.
            lost = (
                msg.channel is Channel.USSD
                and bool(msg.inputs)
                and load.last is None
                and self._lost(load)
            ) or (msg.channel is Channel.VOICE and bool(msg.inputs))  # a call's turn, lost
            record, step = await self._begin(msg, entry, load, hint, restarted=lost)
            inputs = () if lost else msg.inputs if msg.channel is Channel.USSD else feed
        else:
            step = None
            inputs = msg.inputs[record.consumed :] if msg.channel is Channel.USSD else msg.inputs
        try:
            step = await self._feed(msg, record, step, inputs)
            return record, _screen(step)
        except FlowError:
            log.warning("session state did not fit its flows; starting over")
            record, step = await self._begin(msg, None, load, restarted=bool(msg.inputs))
            record.consumed = len(msg.inputs)
        return record, _screen(step)

    def _lost(self, load: HopLoad) -> bool:
        """Whether Redis may have lost this conversation: it holds no sign of any hop, or
        only of hops younger than a USSD session can last."""
        since = load.kept_since
        return since is None or time.time() - since < self.rt.settings.sauti_ussd_session_ttl

    async def _recall(self, msg: InboundMessage, load: HopLoad) -> Record | None:
        """The conversation this hop goes on: its session's record or, when that is gone
        (expired, or the gateway opened a new session with every input again), the
        number's latest USSD conversation if these inputs go on from it."""
        record = await self._restore(load.record)
        if record is not None or msg.channel is not Channel.USSD or load.last is None:
            return record
        return await self._restore(load.last) if continues(load.last, msg.inputs) else None

    async def _restore(self, data: dict[str, Any] | None) -> Record | None:
        """The saved conversation, or None when there is none or it no longer fits."""
        if data is None:
            return None
        try:
            record = Record.from_dict(data)
        except (KeyError, TypeError, ValueError):
            return None
        return record if await self._bundle(record.state.version) is not None else None

    async def _bundle(self, version: str) -> Bundle | None:
        return self.rt.bundle_for(version) or await self.rt.load_bundle_version(version)

    async def _pinned(self, version: str) -> Bundle:
        bundle = await self._bundle(version)
        if bundle is None:
            raise FlowError(f"no flows of version {version[:12]}")
        return bundle

    async def _begin(
        self,
        msg: InboundMessage,
        entry: str | None,
        load: HopLoad,
        hint: tuple[str, ...] = (),
        *,
        restarted: bool = False,
    ) -> tuple[Record, Step]:
        language, fetched = await self._known(msg.pseudonym, load.language)
        if msg.channel is Channel.VOICE and language not in self.languages_of(msg):
            # A language the voice line does not speak: the caller chooses one it does.
            language = None
        draft = load.draft
        lang = language or self.first_language(msg.region, hint)
        if msg.channel is Channel.VOICE and lang not in self.languages_of(msg):
            lang = self.languages_of(msg)[0]
        ctx = self.context(msg, lang)
        step = engine.start(
            self.rt.bundle,
            ctx,
            has_language=language is not None,
            draft=draft,
            entry=entry,
            restarted=restarted,
        )
        # What the database said is cached with the hop's write (NO_LANGUAGE for none).
        record = Record(state=step.state, remember=fetched)
        return record, await self._settle(msg, record, step)

    async def _known(self, pseudonym: str, cached: str | None) -> tuple[str | None, str | None]:
        """The number's language from the Redis cache, else from the database; and what to
        cache for it then (None when the cache had it): a number the cache knows never to
        have chosen one costs no database read."""
        if cached is not None:
            return (None if cached == NO_LANGUAGE else cached), None
        language = await self.rt.transaction(_known_language, pseudonym)
        return language, language or NO_LANGUAGE

    async def _language(self, pseudonym: str) -> str | None:
        """The number's language outside a hop (`_known`, after a read of the cache), cached
        at once when read from the database."""
        cached = await _bounded(self.store.language(pseudonym))
        language, fetched = await self._known(pseudonym, cached)
        if fetched is not None:
            await self.store.remember_language(pseudonym, language, LANGUAGE_CACHE_TTL)
        return language

    async def _feed(
        self, msg: InboundMessage, record: Record, step: Step | None, inputs: tuple[str, ...]
    ) -> Step:
        bundle = await self._pinned(record.state.version)
        pending = list(inputs)
        while pending:
            if step is not None and step.screen is not None and step.screen.final:
                break
            ctx = self.context(msg, record.state.lang)
            if len(pending) > 1 and engine.expects_text(bundle, record.state):
                # A '*' typed in free text cannot be told from the separator: the rest of
                # the hop is the text, never answers to the next questions (docs/flows.md).
                pending = ["*".join(pending)]
            step = engine.step(bundle, record.state, pending.pop(0), ctx)
            record.state = step.state
            record.consumed += 1
            step = await self._settle(msg, record, step)
        if step is None:
            step = engine.render_step(bundle, record.state, self.context(msg, record.state.lang))
        record.consumed = (
            max(record.consumed, len(msg.inputs)) if msg.channel is Channel.USSD else 0
        )
        return step

    async def _settle(self, msg: InboundMessage, record: Record, step: Step) -> Step:
        """Run the step's effects; feed each pending effect's outcome back to the engine."""
        bundle = await self._pinned(step.state.version)
        while True:
            outcome = None
            for effect in step.effects:
                outcome = await self._apply(msg, record, effect)
            record.state = step.state
            if step.screen is not None:
                return step
            ctx = self.context(msg, record.state.lang)
            step = engine.resume(bundle, step.state, outcome or Outcome(ok=False, values={}), ctx)

    async def _save(self, msg: InboundMessage, record: Record, screen: Screen, hop: str) -> None:
        reply = ("E" if screen.final else "C") + screen.text
        settings = self.rt.settings
        ttl = {
            Channel.USSD: settings.sauti_ussd_session_ttl,
            Channel.VOICE: settings.sauti_voice_session_ttl,
        }.get(msg.channel, settings.sauti_sms_session_ttl)
        _name_the_draft(record)
        draft = record.state.draft()
        change = None
        if draft is not None:
            keep = max(settings.sauti_draft_ttl, record.keep_draft)
            change = DraftChange(msg.pseudonym, draft, keep)
        elif record.drop_draft:
            change = DraftChange(msg.pseudonym, None)
        saved = None if screen.final else record.to_dict()
        last = None
        if msg.channel is Channel.USSD and record.resumable:
            # Kept beyond the session, ended or not, for a hop that comes after its
            # session record is gone: it goes on from here (or gets the same END again).
            keep = ttl if screen.final else max(ttl, settings.sauti_draft_ttl)
            last = DraftChange(msg.pseudonym, record.to_dict(msg.inputs), keep)
        language = None
        if record.remember is not None:
            language = LanguageChange(msg.pseudonym, record.remember, LANGUAGE_CACHE_TTL)
        await self.store.save_hop(
            msg.session_key, saved, ttl, hop, reply, ttl, draft=change, last=last, language=language
        )

    # -- effects -------------------------------------------------------------------------

    async def _apply(
        self, msg: InboundMessage, record: Record, effect: fx.Effect
    ) -> Outcome | None:
        if isinstance(effect, fx.SubmitReport):
            return await self._submit(msg, record, effect)
        if isinstance(effect, fx.LookupCase):
            await self._within(msg, record, Limit.STATUS)
            return await self.rt.transaction(self._lookup, effect.number, msg.pseudonym)
        if isinstance(effect, fx.AddInformation):
            return await self.rt.transaction(self._add_information, msg, effect)
        if isinstance(effect, fx.AnswerClosing):
            return await self.rt.db(self._answer_closing, msg, effect)
        if isinstance(effect, fx.SetLanguage):
            # Cached with the hop's write and stored by a job; when the job cannot be
            # enqueued, stored with the conversation's report.
            record.remember = effect.lang
            args = (msg.pseudonym, effect.lang, datetime.now(UTC).isoformat())
            queued = await self.rt.enqueuer.enqueue(queues.MAINTENANCE, save_language, *args)
            record.chose = None if queued else effect.lang
            return None
        if isinstance(effect, fx.DiscardDraft):
            record.drop_draft = True
            return None
        raise TypeError(f"unknown effect {effect!r}")

    async def _within(self, msg: InboundMessage, record: Record, limit: Limit) -> None:
        """Count a report or a status check; past the limit, end the hop with a notice."""
        verdict = await self.limits.take(limit, msg.pseudonym, submission_key(msg))
        if verdict.allowed:
            return
        self.rt.metrics.refused.labels(reason=f"limit_{limit.value}").inc()
        if limit is Limit.REPORTS:
            # The report stays the caller's unfinished report until it can be sent.
            record.keep_draft = verdict.retry_after + self.rt.settings.sauti_ussd_session_ttl
        notice = self._notice(msg, record, limit, verdict)
        raise LimitReached(record, Screen(text=notice, final=True))

    def _notice(self, msg: InboundMessage, record: Record, limit: Limit, verdict: Verdict) -> str:
        if msg.channel is Channel.VOICE:
            return self._spoken_notice(msg, record, limit, verdict)
        translator = self.rt.catalogs.translator(record.state.lang)
        if limit is Limit.REPORTS:
            text = translator.gettext(messages.REPORT_LIMIT).format(hours=verdict.hours)
        else:
            text = translator.gettext(messages.STATUS_LIMIT).format(minutes=verdict.minutes)
        return spell(text, self.alphabet(msg))

    def _spoken_notice(
        self, msg: InboundMessage, record: Record, limit: Limit, verdict: Verdict
    ) -> str:
        """The limit notice of a call, spoken: its count read digit by digit."""
        state = record.state
        if limit is Limit.REPORTS:
            role, values = "voice.report_limit", {"hours": str(verdict.hours)}
        else:
            role, values = "voice.status_limit", {"minutes": str(verdict.minutes)}
        said = State(version=state.version, lang=state.lang, node=state.node, values=values)
        bundle = self.rt.bundle_for(state.version) or self.rt.bundle
        return speech_of(bundle, self.context(msg, state.lang), said, role).text

    async def _submit(
        self, msg: InboundMessage, record: Record, effect: fx.SubmitReport
    ) -> Outcome:
        await self._within(msg, record, Limit.REPORTS)
        try:
            case_id, number, within = await self.rt.transaction(
                self._commit_report, msg, record, effect
            )
        except Exception:
            log.exception("report could not be committed; the draft is kept")
            self.rt.metrics.errors.labels(where="submit").inc()
            await self.limits.give_back(Limit.REPORTS, msg.pseudonym, submission_key(msg))
            return Outcome(ok=False, values={})
        self.rt.metrics.reports.labels(channel=msg.channel.value).inc()
        record.drop_draft = True
        self._enqueue_routing(case_id)
        return Outcome(ok=True, values={"case": display(number), **within})

    def _enqueue_routing(self, case_id: int) -> None:
        """Hand the committed report to routing without making the caller wait for it; if
        Redis is out of reach the sweep finds the report unrouted and enqueues it again."""
        self._background(self.rt.enqueuer.enqueue(queues.ROUTING, route_report, case_id))

    def _background(self, enqueue: Awaitable[bool]) -> None:
        """Run an enqueue beside the hop (kept until done; it logs its own failure)."""

        async def run() -> bool:
            return await enqueue

        task = asyncio.create_task(run())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def settle_background(self) -> None:
        """Wait for the enqueues still in flight (at shutdown, and in tests)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    def _commit_report(
        self, session: Session, msg: InboundMessage, record: Record, effect: fx.SubmitReport
    ) -> tuple[int, str, dict[str, str]]:
        """File the report (and the language chosen on the way); return its id, its number
        and when its committee answers."""
        now = datetime.now(UTC)
        if record.chose:
            prefs.set_language_chosen(
                session=session, pseudonym=msg.pseudonym, language=record.chose, at=now
            )
        case = cases.create_report(
            session=session,
            crypto=self.rt.crypto,
            pseudonym=msg.pseudonym,
            channel=msg.channel.value,
            language=record.state.lang,
            answers=effect.answers,
            contact_e164=self.rt.pseudonyms.e164(msg.contact, msg.network_region)
            if effect.answers.get("sms_updates") == "yes"
            else None,
            flow_version=record.state.version,
            rng=self.rt.rng,
            now=now,
            submission_key=report_key(msg, effect.answers),
            zone=self.rt.settings.zone,
        )
        session.flush()
        within = self._answer_within(session, case)
        return case.id, case.number, timelines.within_values(within)

    def _answer_within(self, session: Session, case: Case) -> timedelta:
        """`timelines.answer_within`, reused for WITHIN_CACHE_SECONDS by routing's key."""
        key = (case.location_id, case.category, case.severity, case.itsci_level)
        now = time.monotonic()
        found = self._deadlines.get(key)
        if found is not None and now - found[0] < WITHIN_CACHE_SECONDS:
            return found[1]
        within = timelines.answer_within(session=session, case=case)
        if len(self._deadlines) >= WITHIN_CACHE_SIZE:
            self._deadlines.clear()
        self._deadlines[key] = (now, within)
        return within

    def _lookup(self, session: Session, number: str, pseudonym: str) -> Outcome:
        case = cases.find_case(session=session, number=number)
        if case is None:
            return Outcome(ok=False, values={})
        view = cases.status_view(session=session, crypto=self.rt.crypto, case=case)
        # The number that made the report may say whether a recent closing solved it.
        answerable = may_answer(case, pseudonym=pseudonym, now=datetime.now(UTC))
        timeline = timelines.status_timeline(session=session, case=case)
        values = {"case": display(view.number), "status": view.status, **timeline}
        if view.message:
            values["message"] = view.message
        if answerable:
            values["answerable"] = "yes"
        return Outcome(ok=True, values=values)

    def _add_information(
        self, session: Session, msg: InboundMessage, effect: fx.AddInformation
    ) -> Outcome:
        case = cases.find_case(session=session, number=effect.number)
        if case is None:
            return Outcome(ok=False, values={})
        cases.add_information(
            session=session,
            crypto=self.rt.crypto,
            case=case,
            text=effect.text,
            channel=msg.channel.value,
            submission_key=submission_key(msg),
            pseudonym=msg.pseudonym,
        )
        return Outcome(ok=True, values={"case": display(case.number)})

    def _answer_closing(self, msg: InboundMessage, effect: fx.AnswerClosing) -> Outcome:
        """The status check's answer to a closing (gateway/closing_answers.py)."""
        answers = ClosingAnswers(self.rt, datetime.now(UTC))
        taken = answers.in_flow(
            pseudonym=msg.pseudonym,
            number=effect.number,
            answer=effect.answer,
            channel=msg.channel.value,
        )
        if taken is None:
            return Outcome(ok=False, values={})
        return Outcome(ok=True, values={"case": display(effect.number), "satisfaction": taken})

    async def _closing_answer(self, msg: InboundMessage, body: str) -> str | None:
        """A bare "1" or "2" (or an answer word) to a recent closing, only when no SMS
        conversation of this number waits for input (gateway/closing_answers.py)."""
        answer = parse_answer(body)
        if answer is None:
            return None
        load = await _bounded(self.store.load_hop(msg.session_key, hop_id(msg)))
        if load.record is not None or load.reply is not None:
            return None
        answers = ClosingAnswers(self.rt, datetime.now(UTC))
        return await asyncio.to_thread(
            answers.by_sms, pseudonym=msg.pseudonym, answer=answer, channel=msg.channel.value
        )

    # -- SMS keywords --------------------------------------------------------------------

    async def sms(self, msg: InboundMessage) -> str | None:
        """Answer an inbound SMS (or WhatsApp message) within the number's allowance of
        the channel it came by (WhatsApp messages are counted apart from SMS).

        Past the allowance the message is still handled (whatever it adds to a report is
        kept, and a report it sends is filed) but not answered: the first one past it is
        told so, the others get no reply, and so cost no outbound SMS, until the window ends.
        """
        limit = Limit.WHATSAPP_IN if msg.channel is Channel.WHATSAPP else Limit.SMS_IN
        verdict = await _bounded(self.limits.count_sms(msg.pseudonym, limit))
        try:
            reply = await self._sms_reply(msg)
        except Exception:
            # Not answered: the provider's retry of it is counted then, not twice.
            await _bounded(self.limits.give_back_sms(msg.pseudonym, limit))
            raise
        if verdict.allowed:
            return reply
        self.rt.metrics.refused.labels(reason=f"limit_{limit.value}").inc()
        return await self._sms_notice(msg, verdict) if verdict.notice else None

    async def _sms_notice(self, msg: InboundMessage, verdict: Verdict) -> str:
        """Say, in the sender's language, that replies stop until the window ends."""
        found = match(msg.inputs[0] if msg.inputs else "")
        hint = found.languages if found is not None else ()
        lang = await self._language(msg.pseudonym) or self.first_language(msg.region, hint)
        text = self.rt.catalogs.translator(lang).gettext(messages.SMS_LIMIT)
        return transliterate(text.format(minutes=verdict.minutes))

    async def _sms_reply(self, msg: InboundMessage) -> str | None:
        """A focal point's command, a keyword, or the next step of the conversation."""
        body = msg.inputs[0] if msg.inputs else ""
        if parse_command(body) is not None:
            commands = Commands(self.rt, datetime.now(UTC))
            reply = await asyncio.to_thread(commands.answer, pseudonym=msg.pseudonym, body=body)
            if reply is not None:
                return reply
        found = match(body)
        if found is None:
            answered = await self._closing_answer(msg, body)
            if answered is not None:
                return answered
            return (await self.hop(msg)).text
        hint = found.languages
        if found.keyword in (Keyword.STOP, Keyword.START):
            return await self._opt(msg, stop=found.keyword is Keyword.STOP, hint=hint)
        if found.keyword is Keyword.HELP:
            return (await self.hop(msg, entry="main.help", hint=hint)).text
        if found.keyword is Keyword.REPORT:
            return (await self.hop(msg, entry="report", hint=hint)).text
        feed = (found.argument,) if found.argument else ()
        return (await self.hop(msg, entry="status", feed=feed, hint=hint)).text

    async def _opt(self, msg: InboundMessage, *, stop: bool, hint: tuple[str, ...]) -> str:
        stored = await self.rt.db(self._opt_write, msg.pseudonym, stop)
        # The cache holds a choice its job may not have stored yet.
        lang = await self._language(msg.pseudonym) or stored
        await _bounded(self.store.drop(msg.session_key))
        translator = self.rt.catalogs.translator(lang or self.first_language(msg.region, hint))
        return transliterate(translator.gettext(messages.STOPPED if stop else messages.STARTED))

    def _opt_write(self, pseudonym: str, stop: bool) -> str | None:
        with self.rt.sessions.begin() as session:
            prefs.set_opted_out(
                session=session, pseudonym=pseudonym, opted_out=stop, now=datetime.now(UTC)
            )
            found = prefs.get_prefs(session=session, pseudonym=pseudonym)
            return found.language if found else None


def _screen(step: Step) -> Screen:
    if step.screen is None:
        raise FlowError("an effect is still pending after the hop")
    return step.screen


def _known_language(session: Session, pseudonym: str) -> str | None:
    found = prefs.get_prefs(session=session, pseudonym=pseudonym)
    return found.language if found is not None else None


async def _bounded(work: Awaitable[T]) -> T:
    """One Redis call of an SMS outside a hop, within the hop's timeout."""
    async with asyncio.timeout(HOP_TIMEOUT_SECONDS):
        return await work
