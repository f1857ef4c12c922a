"""What a Twilio webhook must hold, checked after its signature.

The signature covers the concatenation of every field name and value, sorted by name
(`signature.py`), not the boundaries between them: `MessageSid=SM…&NumMedia=0` and
`MessageSid=SM…NumMedia0` carry the same signature. So a signed request is taken only
when it has the shape Twilio sends: each field once, the fields of its kind present, and
every id exactly an id (two letters and 32 lower-case hex digits), the account's own when
TWILIO_ACCOUNT_SID is set. A shifted boundary then always breaks one of these, and a
message is never de-duplicated under an id Twilio did not give it.

A WhatsApp message comes on the same webhook, its `From` and `To` written
`whatsapp:+243…`, with fields of its own: `WaId` (the sender's number again, digits
only, so it must be `From`'s), `ProfileName` (the name the person gave WhatsApp, free
text, like `Body`: read by nothing, kept nowhere), `MessageType` and others. Both
addresses are WhatsApp's or neither is.

Each check returns a short plain reason (never a field's value) or None.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from starlette.datastructures import ImmutableMultiDict

MESSAGE_SID = re.compile(r"(SM|MM)[0-9a-f]{32}")
_SIDS = {
    "AccountSid": (re.compile(r"AC[0-9a-f]{32}"), "a Twilio account id (AC + 32 hex)"),
    "CallSid": (re.compile(r"CA[0-9a-f]{32}"), "a Twilio call id (CA + 32 hex)"),
    "RecordingSid": (re.compile(r"RE[0-9a-f]{32}"), "a Twilio recording id (RE + 32 hex)"),
    "MessagingServiceSid": (
        re.compile(r"MG[0-9a-f]{32}"),
        "a Twilio messaging service id (MG + 32 hex)",
    ),
}
_SAME_AS_MESSAGE_SID = ("SmsSid", "SmsMessageSid")
_FORMATS = {
    "NumMedia": (re.compile(r"[0-9]{1,2}"), "a count"),
    "NumSegments": (re.compile(r"[0-9]{1,2}"), "a count"),
    "ApiVersion": (re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"), "a date"),
    "MessageStatus": (re.compile(r"[A-Za-z_-]{1,32}"), "a status word"),
    "SmsStatus": (re.compile(r"[A-Za-z_-]{1,32}"), "a status word"),
    "ErrorCode": (re.compile(r"[0-9]{0,6}"), "a number"),
    "MessageType": (re.compile(r"[a-z_]{1,32}"), "a message type word"),
    "WaId": (re.compile(r"[0-9]{2,15}"), "a WhatsApp id (the number's digits)"),
    "CallStatus": (re.compile(r"[a-z-]{1,20}"), "a call status word"),
    "RecordingDuration": (re.compile(r"-?[0-9]{1,5}"), "a number of seconds"),
    "RecordingStatus": (re.compile(r"[a-z-]{1,20}"), "a recording status word"),
    "CallDuration": (re.compile(r"[0-9]{1,6}"), "a number of seconds"),
    "Direction": (re.compile(r"[a-z-]{1,20}"), "a call direction word"),
}
# A number ("+243812345678", a short code) or a channel's address ("whatsapp:+243…"):
# never letters after the digits, as a neighbouring field's name would be.
_ADDRESS = (re.compile(r"(?:[a-z]{2,20}:)?\+?[0-9]{2,15}"), "a phone number")
_ADDRESSES = {"From": _ADDRESS, "To": _ADDRESS}
# Who calls: a number, or the word a network gives a withheld one ("Anonymous",
# "Restricted", "Unknown"); a call from a browser or a SIP address is not a caller here.
_CALLER = (re.compile(r"\+?[0-9]{2,15}|[A-Za-z]{1,20}"), "a phone number")
# The keys a <Gather> took (`#` ends it and may come with them); a <Record> ended by the
# caller hanging up says so in place of keys.
_DIGITS = (re.compile(r"[0-9*#]{0,64}|hangup"), "keys pressed")
_RECORDING_URL = (
    re.compile(
        r"https://api\.twilio\.com/2010-04-01/Accounts/AC[0-9a-f]{32}/Recordings/RE[0-9a-f]{32}"
    ),
    "a recording of this Twilio account",
)
WHATSAPP_PREFIX = "whatsapp:"
INBOUND_FIELDS = ("MessageSid", "AccountSid", "From", "To", "Body", "NumMedia")
STATUS_FIELDS = ("MessageSid", "MessageStatus")
CALL_FIELDS = ("CallSid", "AccountSid", "From", "To", "CallStatus")
CALL_STATUS_FIELDS = ("CallSid", "AccountSid", "CallStatus")


def _repeated(form: ImmutableMultiDict[str, str]) -> str | None:
    names = [name for name, _ in form.multi_items()]
    twice = sorted({name for name in names if names.count(name) > 1})
    if not twice:
        return None
    name = twice[0] if twice[0].isidentifier() and len(twice[0]) <= 40 else "a field"
    return f"{name} appears more than once"


def _missing(form: ImmutableMultiDict[str, str], required: Iterable[str]) -> str | None:
    absent = [name for name in required if name not in form]
    return "missing " + ", ".join(absent) if absent else None


def _message_sid(form: ImmutableMultiDict[str, str]) -> str | None:
    sid = form.get("MessageSid", "")
    if not MESSAGE_SID.fullmatch(sid):
        return "MessageSid is not a Twilio message id (SM or MM + 32 hex)"
    for name in _SAME_AS_MESSAGE_SID:
        if name in form and form[name] != sid:
            return f"{name} is not the MessageSid"
    return None


def _shapes(form: ImmutableMultiDict[str, str], account_sid: str) -> str | None:
    for name, (pattern, what) in (*_SIDS.items(), *_FORMATS.items()):
        if name in form and not pattern.fullmatch(form[name]):
            return f"{name} is not {what}"
    if account_sid and "AccountSid" in form and form["AccountSid"] != account_sid:
        return "AccountSid is not this service's Twilio account"
    return None


def _problem(
    form: ImmutableMultiDict[str, str], required: Iterable[str], account_sid: str
) -> str | None:
    return (
        _repeated(form)
        or _missing(form, required)
        or _message_sid(form)
        or _shapes(form, account_sid)
    )


def _addresses(form: ImmutableMultiDict[str, str]) -> str | None:
    for name, (pattern, what) in _ADDRESSES.items():
        if name in form and not pattern.fullmatch(form[name]):
            return f"{name} is not {what}"
    return None


def is_whatsapp(address: str) -> bool:
    """Whether a `From` or `To` is a WhatsApp address (`whatsapp:+243…`)."""
    return address.startswith(WHATSAPP_PREFIX)


def bare_number(address: str) -> str:
    """The number of an address, without its `whatsapp:` prefix."""
    return address.removeprefix(WHATSAPP_PREFIX)


def _whatsapp(form: ImmutableMultiDict[str, str]) -> str | None:
    sender, to = form.get("From", ""), form.get("To", "")
    if is_whatsapp(sender) != is_whatsapp(to):
        return "From and To are not both WhatsApp addresses"
    if "WaId" in form and form["WaId"] != bare_number(sender).lstrip("+"):
        return "WaId is not the sender's number"
    return None


def inbound_problem(form: ImmutableMultiDict[str, str], *, account_sid: str) -> str | None:
    """Why a signed inbound message (SMS or WhatsApp) is not one Twilio sent, or None."""
    return _problem(form, INBOUND_FIELDS, account_sid) or _addresses(form) or _whatsapp(form)


def status_problem(form: ImmutableMultiDict[str, str], *, account_sid: str) -> str | None:
    """Why a signed status callback is not one Twilio sent, or None."""
    return _problem(form, STATUS_FIELDS, account_sid)


def _call(form: ImmutableMultiDict[str, str]) -> str | None:
    if "MessageSid" in form:
        return "a call carries no MessageSid"
    for name, (pattern, what) in (
        ("From", _CALLER),
        ("To", _ADDRESS),
        ("Digits", _DIGITS),
        ("RecordingUrl", _RECORDING_URL),
    ):
        if name in form and not pattern.fullmatch(form[name]):
            return f"{name} is not {what}"
    url = form.get("RecordingUrl", "")
    if url and ("RecordingSid" not in form or not url.endswith("/" + form["RecordingSid"])):
        return "RecordingUrl is not the RecordingSid's"
    return None


def call_problem(form: ImmutableMultiDict[str, str], *, account_sid: str) -> str | None:
    """Why a signed voice webhook (the call, a <Gather> or <Record> result) is not one
    Twilio sent, or None."""
    return (
        _repeated(form) or _missing(form, CALL_FIELDS) or _shapes(form, account_sid) or _call(form)
    )


def call_status_problem(form: ImmutableMultiDict[str, str], *, account_sid: str) -> str | None:
    """Why a signed call status callback is not one Twilio sent, or None."""
    return (
        _repeated(form)
        or _missing(form, CALL_STATUS_FIELDS)
        or _shapes(form, account_sid)
        or _call(form)
    )
