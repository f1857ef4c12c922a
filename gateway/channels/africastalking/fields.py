"""What an Africa's Talking SMS callback must hold, checked after its token.

Africa's Talking signs nothing: a callback is taken on its `?token=` (`settings.authorised`)
and then only in the shape it sends: every field it names at most once, the fields a
message cannot go without present (an inbound SMS: `from`, `id`, `text`; a delivery
report: `id`, `status`), the id a bounded run of visible characters, the sender a phone
number. Anything else it may add is left alone, and an odd optional field (a
`networkCode` that names no network) is read as absent.

Each check returns a short plain reason (never a field's value) or None.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from starlette.datastructures import ImmutableMultiDict

INBOUND_FIELDS = ("from", "to", "text", "date", "id", "linkId", "networkCode")
INBOUND_REQUIRED = ("from", "id", "text")
DELIVERY_FIELDS = (
    "id",
    "status",
    "phoneNumber",
    "networkCode",
    "failureReason",
    "retryCount",
)
DELIVERY_REQUIRED = ("id", "status")
# The id of an inbound message (only ever hashed); a delivery report's id is the
# `messageId` the send request was answered with, kept as the outbox row's provider id.
MESSAGE_ID = re.compile(r"[\x21-\x7e]{1,100}")
PROVIDER_ID = re.compile(r"[\x21-\x7e]{1,64}")
# A number as a phone sends it ("+243812345678"); a "+" posted without URL-encoding
# arrives as a space, hence the strip.
SENDER = re.compile(r"\+?[0-9]{3,15}")
STATUS_WORD = re.compile(r"[A-Za-z]{1,20}")


def _repeated(form: ImmutableMultiDict[str, str], known: Iterable[str]) -> str | None:
    for name in known:
        if len(form.getlist(name)) > 1:
            return f"{name} appears more than once"
    return None


def _missing(form: ImmutableMultiDict[str, str], required: Iterable[str]) -> str | None:
    absent = [name for name in required if name not in form]
    return "missing " + ", ".join(absent) if absent else None


def inbound_problem(form: ImmutableMultiDict[str, str]) -> str | None:
    """Why an inbound SMS callback is not one Africa's Talking sends, or None."""
    found = _repeated(form, INBOUND_FIELDS) or _missing(form, INBOUND_REQUIRED)
    if found:
        return found
    if not MESSAGE_ID.fullmatch(form["id"]):
        return "id is not a message id (1 to 100 visible characters)"
    if not SENDER.fullmatch(form["from"].strip()):
        return "from is not a phone number"
    return None


def delivery_problem(form: ImmutableMultiDict[str, str]) -> str | None:
    """Why a delivery report is not one Africa's Talking sends, or None."""
    found = _repeated(form, DELIVERY_FIELDS) or _missing(form, DELIVERY_REQUIRED)
    if found:
        return found
    if not PROVIDER_ID.fullmatch(form["id"]):
        return "id is not a message id (1 to 64 visible characters)"
    if not STATUS_WORD.fullmatch(form["status"]):
        return "status is not a status word"
    return None


VOICE_FIELDS = (
    "sessionId",
    "isActive",
    "direction",
    "callerNumber",
    "destinationNumber",
    "dtmfDigits",
    "recordingUrl",
    "durationInSeconds",
    "callSessionState",
    "hangupCause",
)
VOICE_REQUIRED = ("sessionId", "isActive")
SESSION_ID = re.compile(r"[\x21-\x7e]{1,100}")
# A caller as AT names one: a number, or a word for one withheld.
CALLER = re.compile(r"\+?[0-9]{3,15}|[A-Za-z]{1,20}")
DTMF = re.compile(r"[0-9*#]{0,64}")
RECORDING_URL = re.compile(r"https://[\x21-\x7e]{1,500}")


def voice_problem(form: ImmutableMultiDict[str, str]) -> str | None:
    """Why a voice callback is not one Africa's Talking sends, or None."""
    found = _repeated(form, VOICE_FIELDS) or _missing(form, VOICE_REQUIRED)
    if found:
        return found
    if not SESSION_ID.fullmatch(form["sessionId"]):
        return "sessionId is not a session id (1 to 100 visible characters)"
    if form["isActive"] not in ("0", "1"):
        return "isActive is not 0 or 1"
    caller = form.get("callerNumber", "").strip()
    if caller and not CALLER.fullmatch(caller):  # empty or absent: a withheld number
        return "callerNumber is not a phone number"
    if "dtmfDigits" in form and not DTMF.fullmatch(form["dtmfDigits"].strip()):
        return "dtmfDigits is not keys pressed"
    if form.get("recordingUrl") and not RECORDING_URL.fullmatch(form["recordingUrl"]):
        return "recordingUrl is not an https address"
    return None
