"""The reporter's answer to a closing, by SMS or WhatsApp, or from the status check.

The closing SMS asks "Reply 1 if solved, 2 if not." A message that is only such an answer
("1", "2", or a word below in any language) is taken as the answer to a closing when,
and only when:

1. no focal-point command or keyword matched it;
2. no SMS conversation of this number waits for input (a bare "1" inside a conversation
   answers the conversation's question: the conversation always comes first);
3. the number made a case closed in the last 30 days whose closing has no answer yet
   (the most recently closed one, when there are several).

A number with no closing waiting but one closed or answered before is told that nothing
waits for its answer; any other number's "1" goes to the conversation as before.
The status check offers the same choice (`flows/definitions/status.yaml`) to the number
that made the report, and takes it through `in_flow`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from flows.i18n import Catalogs
from gateway.keywords import fold
from gateway.runtime import Runtime
from storage import appeals, cases
from storage.models import Satisfaction
from workers.appeals import take_answer
from workers.context import live_catalogs
from workers.notify import enqueue_sends
from workers.texts import NOTHING_TO_ANSWER, answer_text

# The Kinyarwanda, Ikirundi and Lingala words are drafts for a native speaker to check.
WORDS: dict[Satisfaction, tuple[str, ...]] = {
    Satisfaction.SOLVED: (
        "1",
        "SOLVED",
        "RESOLU",
        "IMETATULIWA",
        "BYAKEMUTSE",
        "VYATUNGANIJWE",
        "ESILI",
    ),
    Satisfaction.NOT_SOLVED: (
        "2",
        "NOT SOLVED",
        "NON RESOLU",
        "PAS RESOLU",
        "HAIJATATULIWA",
        "NTIBYAKEMUTSE",
        "NTIVYATUNGANIJWE",
        "ESILI TE",
    ),
}
_LOOKUP = {word: answer for answer, words in WORDS.items() for word in words}
_SPACES = re.compile(r"\s+")


def parse_answer(body: str) -> Satisfaction | None:
    """The answer a message is, when it is nothing but an answer word; else None."""
    word = _SPACES.sub(" ", fold(body).strip(" .!")).strip()
    return _LOOKUP.get(word)


@dataclass(frozen=True)
class ClosingAnswers:
    """Takes reporters' answers with the service's database, keys and Redis."""

    runtime: Runtime
    now: datetime

    def _catalogs(self) -> Catalogs:
        return live_catalogs(self.runtime.sessions, self.runtime.settings)

    def by_sms(self, *, pseudonym: str, answer: str, channel: str) -> str | None:
        """The reply to a bare answer, or None when it is for the conversation."""
        catalogs = self._catalogs()
        with self.runtime.sessions.begin() as session:
            case = appeals.awaiting_for(session=session, pseudonym=pseudonym, now=self.now)
            taken = None
            if case is not None:
                taken = take_answer(
                    session=session,
                    crypto=self.runtime.crypto,
                    catalogs=catalogs,
                    case=case,
                    pseudonym=pseudonym,
                    answer=answer,
                    channel=channel,
                    now=self.now,
                )
            if taken is None:
                earlier = case or appeals.ever_closed_for(session=session, pseudonym=pseudonym)
                if earlier is None:
                    return None
                translator = catalogs.translator(earlier.language)
                return answer_text(translator, NOTHING_TO_ANSWER, earlier.number)
        enqueue_sends(taken.to_send, connection=self.runtime.redis)
        return taken.reply

    def in_flow(self, *, pseudonym: str, number: str, answer: str, channel: str) -> str | None:
        """Take an answer given in the status check; the satisfaction taken, or None."""
        catalogs = self._catalogs()
        with self.runtime.sessions.begin() as session:
            case = cases.find_case(session=session, number=number)
            if case is None:
                return None
            taken = take_answer(
                session=session,
                crypto=self.runtime.crypto,
                catalogs=catalogs,
                case=case,
                pseudonym=pseudonym,
                answer=answer,
                channel=channel,
                now=self.now,
            )
        if taken is None:
            return None
        enqueue_sends(taken.to_send, connection=self.runtime.redis)
        return taken.answered.satisfaction
