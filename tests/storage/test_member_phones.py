"""Focal points' numbers in the forms people write them: read in the committee's country,
then in SAUTI_DEFAULT_REGION, so a member's pseudonym is the one their SMS arrive with."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import phonenumbers
import pytest
from sqlalchemy.orm import Session

from storage.committees import add_member, committee_by_code, import_committees_yaml
from storage.privacy import Crypto, InvalidPhone, normalize_phone

NOW = datetime(2026, 1, 1, tzinfo=UTC)
COMMITTEE = """\
- code: walikale-local
  name: Walikale local stakeholder committee
  level: local
  location: cd-nk-walikale
  categories: all
  language: sw
  timezone: Africa/Lubumbashi
  digest_at: "18:00"
  members:
"""
WRITTEN = ["+243 81 000 0301", "00243 81 000 0302", "243810000303", "081 000 0304", "810000305"]

pytestmark = pytest.mark.usefixtures("demo_places")


def e164(text: str) -> str:
    """The reference: phonenumbers reading the number with its country code."""
    parsed = phonenumbers.parse(text, None)
    assert phonenumbers.is_valid_number(parsed)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _import(session: Session, crypto: Crypto, phones: list[str], **kwargs: str) -> None:
    members = "".join(f'    - {{name: Member {n}, phone: "{p}"}}\n' for n, p in enumerate(phones))
    import_committees_yaml(
        session=session,
        crypto=crypto,
        source=io.StringIO(COMMITTEE + members),
        now=NOW,
        **kwargs,
    )


def test_members_numbers_in_every_form_are_kept_in_e164(session: Session, crypto: Crypto) -> None:
    _import(session, crypto, WRITTEN)
    committee = committee_by_code(session=session, code="walikale-local")
    assert committee is not None
    expected = [e164(f"+24381000030{i}") for i in range(1, 6)]
    assert sorted(m.phone for m in committee.members) == expected
    assert all(m.phone_pseudonym == crypto.pseudonym(m.phone) for m in committee.members)


def test_a_members_number_falls_back_on_the_default_region(
    session: Session, crypto: Crypto
) -> None:
    _import(session, crypto, ["+243 81 000 0301"])
    committee = committee_by_code(session=session, code="walikale-local")
    assert committee is not None
    # Not a valid number of the committee's country (DRC), a valid one in Burundi.
    member = add_member(
        session=session,
        crypto=crypto,
        committee=committee,
        values={"name": "Across the border", "phone": "79 12 34 56", "language": "fr"},
        now=NOW,
        default_region="BI",
    )
    assert member.phone == e164("+25779123456")
    assert member.phone_pseudonym == crypto.pseudonym("+25779123456")


@pytest.mark.parametrize(("raw", "region"), [("577221", None), ("+981337", "CD"), ("980894", "BI")])
def test_a_possible_number_shorter_than_e164_allows_is_refused(
    raw: str, region: str | None
) -> None:
    """Every number read is one `is_e164` takes, so nothing downstream (a reporter's
    contact, an answer's recipient) refuses what the edge accepted."""
    with pytest.raises(InvalidPhone):
        normalize_phone(raw, region)
