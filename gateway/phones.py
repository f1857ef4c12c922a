"""Turning a caller's number into a pseudonym at the edge.

A gateway may spell one phone "+243812345678", "243812345678", "00243812345678",
"0812345678" or "812345678". The last two say nothing of the country: it is taken from
the provider when it gives one (Africa's Talking's `networkCode`, whose first three digits
are the network's mobile country code; Twilio's `FromCountry`), else from
`SAUTI_DEFAULT_REGION`. `storage.privacy.normalize_phone` holds the rule that turns all of
them into one E.164 form, so that one phone always gets one pseudonym.
"""

from __future__ import annotations

from collections import OrderedDict

import phonenumbers

from storage.privacy import Crypto, InvalidPhone, Phone, normalize_phone

# ITU-T E.212 mobile country codes of the African networks, by the region they serve.
MOBILE_COUNTRY_CODES: dict[str, str] = {
    "602": "EG", "603": "DZ", "604": "MA", "605": "TN", "606": "LY", "607": "GM",
    "608": "SN", "609": "MR", "610": "ML", "611": "GN", "612": "CI", "613": "BF",
    "614": "NE", "615": "TG", "616": "BJ", "617": "MU", "618": "LR", "619": "SL",
    "620": "GH", "621": "NG", "622": "TD", "623": "CF", "624": "CM", "625": "CV",
    "626": "ST", "627": "GQ", "628": "GA", "629": "CG", "630": "CD", "631": "AO",
    "632": "GW", "633": "SC", "634": "SD", "635": "RW", "636": "ET", "637": "SO",
    "638": "DJ", "639": "KE", "640": "TZ", "641": "UG", "642": "BI", "643": "MZ",
    "645": "ZM", "646": "MG", "647": "RE", "648": "ZW", "649": "NA", "650": "MW",
    "651": "LS", "652": "BW", "653": "SZ", "654": "KM", "655": "ZA", "657": "ER",
    "659": "SS",
}  # fmt: skip


def network_region(network_code: str) -> str | None:
    """The region of a network named by its MCC+MNC ("63001" -> "CD"), None if unknown."""
    code = network_code.strip()
    if not (code.isdigit() and 5 <= len(code) <= 6):
        return None
    return MOBILE_COUNTRY_CODES.get(code[:3])


def country_region(country: str) -> str | None:
    """An ISO 3166 alpha-2 code as a provider gives it ("cd" -> "CD"), None if phonenumbers
    does not know it."""
    code = country.strip().upper()
    return code if code in phonenumbers.SUPPORTED_REGIONS else None


class Pseudonyms:
    """Pseudonym and region of a caller's number, parsed once per number and region.

    Parsing a number is the dearest step of a hop, and a USSD session repeats the same
    number on every hop. The cache is keyed by a keyed hash of the number as the provider
    spelled it together with the region it was read in (the same digits are another
    phone in another country), and holds only (pseudonym, region): no number is kept in it.
    `default_region` is `SAUTI_DEFAULT_REGION`, the region tried after the provider's.
    """

    def __init__(
        self, crypto: Crypto, *, default_region: str | None = None, size: int = 20_000
    ) -> None:
        self._crypto = crypto
        self._default_region = default_region
        self._size = size
        self._cache: OrderedDict[str, tuple[str, str | None]] = OrderedDict()

    def regions(self, region: str | None) -> tuple[str, ...]:
        """Where a number without its country code is read: the provider's region, then
        the default region."""
        return tuple(dict.fromkeys(r for r in (region, self._default_region) if r))

    def __call__(self, raw: str, region: str | None = None) -> tuple[str, str | None]:
        """(pseudonym, region of the number) of `raw`, read with the provider's `region`."""
        regions = self.regions(region)
        # Region codes hold no "|", so the pair is spelled without ambiguity.
        key = self._crypto.pseudonym(",".join(regions) + "|" + raw) if raw else ""
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
            return found
        found = pseudonymize(self._crypto, raw, *regions)
        self._cache[key] = found
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return found

    def e164(self, raw: str | None, region: str | None = None) -> str | None:
        """`raw` in E.164 (never cached), read as `__call__` reads it; None if it does not
        parse."""
        phone = parse_caller(raw, *self.regions(region)) if raw else None
        return phone.e164 if phone is not None else None


def pseudonymize(crypto: Crypto, raw: str, *regions: str | None) -> tuple[str, str | None]:
    """(pseudonym, region) of a number; an unparseable one is keyed by its digits."""
    phone = parse_caller(raw, *regions)
    if phone is None:
        digits = "".join(ch for ch in raw if ch.isdigit()) or raw
        return crypto.pseudonym(digits), None
    return crypto.pseudonym(phone.e164), phone.region


def parse_caller(raw: str, *regions: str | None) -> Phone | None:
    """The caller's number, read by `storage.privacy.normalize_phone`'s rule: "+" and "00"
    forms as they are, other digits in `regions` (the provider's, then
    SAUTI_DEFAULT_REGION), then as international digits whose "+" was dropped (or posted
    without URL-encoding, so arrived as a space); None if it does not parse."""
    try:
        return normalize_phone(raw, *regions)
    except InvalidPhone:
        return None
