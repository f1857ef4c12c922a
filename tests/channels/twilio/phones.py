"""A phone that writes by WhatsApp: Twilio's signed messaging webhook, as Twilio posts a
WhatsApp message (`From=whatsapp:+…`, the person's WhatsApp name and id)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from tests.gateway.conftest import SmsPhone, option

# The WhatsApp number Sauti writes from, and the name a reporter gave WhatsApp: it comes
# with every message of theirs and must be kept nowhere.
WHATSAPP_FROM = "+14155238886"
PROFILE_NAME = "Zawadi Mbuyamba"


@dataclass
class WhatsAppPhone(SmsPhone):
    """Posts signed Twilio webhooks for WhatsApp messages from one number."""

    profile_name: str = PROFILE_NAME

    def form(self, body: str, sid: str | None = None) -> dict[str, str]:
        self.sent += 1
        sid = sid or "SM" + secrets.token_hex(16)
        return {
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "ProfileName": self.profile_name,
            "MessageType": "text",
            "SmsSid": sid,
            "WaId": self.number.lstrip("+"),
            "SmsStatus": "received",
            "Body": body,
            "To": "whatsapp:" + WHATSAPP_FROM,
            "NumSegments": "1",
            "ReferralNumMedia": "0",
            "MessageSid": sid,
            "AccountSid": "AC" + "0" * 32,
            "ChannelMetadata": json.dumps(
                {
                    "type": "whatsapp",
                    "data": {
                        "context": {
                            "ProfileName": self.profile_name,
                            "WaId": self.number.lstrip("+"),
                        }
                    },
                }
            ),
            "From": "whatsapp:" + self.number,
            "ApiVersion": "2010-04-01",
        }


def report_by_whatsapp(phone: SmsPhone, description: str = "Soldiers take 2000 francs") -> str:
    """Pick English, then file a report from Mpama (Walikale) asking for news; the last
    reply (a report by SMS runs the very same conversation)."""
    screen = phone.send("hello")
    phone.send(option(screen, "English"))
    screen = phone.send("REPORT")
    for label in ("Illegal tax", "North Kivu", "Walikale", "Mpama", "This month", "No"):
        screen = phone.send(option(screen, label))
    screen = phone.send(description)
    screen = phone.send(option(screen, "Yes"))
    assert screen.startswith("Your report:"), screen
    return phone.send(option(screen, "Send"))
