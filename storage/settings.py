"""Settings, read once from the environment and passed in; never read at import time."""

from __future__ import annotations

from functools import cached_property, lru_cache
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage import redis_connect
from storage.models import Category, Provider, Severity

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
# Characters an Africa's Talking token has at least behind a public URL.
MIN_AT_TOKEN = 24
# The outbound providers SAUTI_SMS_PROVIDER may name (gateway/channels/<name>/).
SMS_PROVIDERS = tuple(Provider)
EVERY_COUNTRY = "*"
# SAUTI_USSD_ASCII's word for every network.
EVERY_NETWORK = "all"


def sms_provider_map(value: str) -> dict[str, str]:
    """Read SAUTI_SMS_PROVIDER: one provider name, or `CC=name,…,*=name` by country (ISO
    3166 alpha-2; `*` for every other country, required); raise ValueError if unusable."""
    if "=" not in value:
        pairs = [(EVERY_COUNTRY, value.strip())]
    else:
        pairs = []
        for part in (p.strip() for p in value.split(",")):
            country, _, name = part.partition("=")
            pairs.append((country.strip().upper(), name.strip()))
    found: dict[str, str] = {}
    for country, name in pairs:
        if name not in SMS_PROVIDERS:
            raise ValueError(f"unknown provider: use one of {', '.join(SMS_PROVIDERS)}")
        if country != EVERY_COUNTRY and country not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("a country must be an ISO 3166 alpha-2 code (e.g. CD) or *")
        if country in found:
            raise ValueError("a country is named twice")
        found[country] = name
    if EVERY_COUNTRY not in found:
        raise ValueError("name a provider for every other country too, e.g. *=twilio")
    return found


@lru_cache(maxsize=16)
def spike_absolute_rules(value: str) -> frozenset[tuple[str, str | None]]:
    """Read SAUTI_SPIKE_ABSOLUTE ("sexual_violence,violence:critical"): (category, severity
    or None for any severity) pairs; raise ValueError on an unknown category or severity."""
    found: set[tuple[str, str | None]] = set()
    for part in filter(None, (piece.strip() for piece in value.split(","))):
        category, sep, severity = (piece.strip() for piece in part.partition(":"))
        if category not in set(Category):
            raise ValueError(f"{category!r} is not a category ({', '.join(Category)})")
        if sep and severity not in set(Severity):
            raise ValueError(f"{severity!r} is not a severity ({', '.join(Severity)})")
        found.add((category, severity if sep else None))
    return frozenset(found)


@lru_cache(maxsize=16)
def voice_fallback_map(value: str) -> dict[str, str]:
    """Read SAUTI_VOICE_FALLBACK ("rw=en,ln=fr"); raise ValueError on a malformed pair."""
    found: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in value.split(","))):
        lang, sep, stand_in = (piece.strip() for piece in pair.partition("="))
        if not sep or not lang.isalpha() or not stand_in.isalpha() or lang == stand_in:
            raise ValueError(f"{pair!r} is not language=language (e.g. rw=en)")
        found[lang] = stand_in
    return found


def ussd_ascii_networks(value: str) -> frozenset[str]:
    """Read SAUTI_USSD_ASCII: network codes (MCC+MNC, 5 or 6 digits, as Africa's Talking
    sends `networkCode`), comma-separated, or `all` (`EVERY_NETWORK`); empty: none. Raise
    ValueError if unusable (the message never repeats the value)."""
    codes = [part.strip() for part in value.split(",") if part.strip()]
    if [code.lower() for code in codes] == [EVERY_NETWORK]:
        return frozenset({EVERY_NETWORK})
    for code in codes:
        if code.lower() == EVERY_NETWORK:
            raise ValueError("write all alone, or list network codes without it")
        if not (code.isascii() and code.isdigit() and 5 <= len(code) <= 6):
            raise ValueError(
                "a network code is the 5 or 6 digits of its MCC and MNC as Africa's Talking "
                "sends them in networkCode (e.g. 63001,63002), or write all"
            )
    return frozenset(codes)


class Settings(BaseSettings):
    """Every name has a working default for the embedded run (SQLite, embedded Redis)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    sauti_port: int = 8000
    sauti_var_dir: Path = Path("var")
    database_url: str = ""
    redis_url: str = ""
    sauti_public_url: str = "http://127.0.0.1:8000"
    sauti_at_token: str = ""
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from: str = ""
    # One provider, or one per country: "CD=africastalking,RW=twilio,*=twilio".
    sauti_sms_provider: str = "console"
    twilio_api_url: str = "https://api.twilio.com"
    twilio_whatsapp_from: str = ""
    # A JSON file mapping message kind -> language -> approved WhatsApp template (Content SID)
    # for messages sent outside WhatsApp's 24-hour window.
    twilio_whatsapp_templates: Path | None = None
    at_username: str = ""
    at_api_key: str = ""
    at_sender_id: str = ""
    at_api_url: str = "https://api.africastalking.com"
    sauti_console_outbox: Path | None = None
    # The console provider sends nothing: with a public URL it must be asked for by name.
    sauti_console_provider_allowed: bool = False
    sauti_pseudonym_key: str = ""
    sauti_encryption_key: str = ""
    sauti_sweep_interval: int = Field(default=60, ge=1)
    sauti_sms_rate: int = Field(default=10, ge=1)
    sauti_default_language: str = "en"
    # Where a caller's number written without its country code is read when the provider
    # does not say (ISO 3166 alpha-2, e.g. CD); unset: such a number parses only when the
    # provider names the country.
    sauti_default_region: str | None = None
    sauti_languages: str = "sw,fr,en,rw,rn,ln"
    sauti_service_code: str = "*384*123#"
    # Networks whose USSD screens are plain ASCII, not even GSM-7's accented letters:
    # network codes (MCC+MNC) "63001,63002", or "all"; empty: none.
    sauti_ussd_ascii: str = ""
    sauti_ussd_session_ttl: int = Field(default=300, ge=30)
    sauti_sms_session_ttl: int = Field(default=1800, ge=60)
    sauti_draft_ttl: int = Field(default=86400, ge=60)
    sauti_log_level: str = "INFO"
    # Every log line goes to this file, the terminal then showing only warnings and the
    # service's own announcements (`sauti run` sets it to var/log/sauti.log).
    sauti_log_file: Path | None = None
    # Console sessions end after this many seconds without a request, or after sign-in.
    sauti_console_idle: int = Field(default=1800, ge=60)
    sauti_console_lifetime: int = Field(default=43200, ge=300)
    # Closed cases lose their free text and contacts this many days after closing.
    sauti_retention_days: int = Field(default=365, ge=30)
    # A new report joins the incident of open reports of its category at its place whose
    # latest report is at most this many hours older (storage/incidents.py).
    sauti_incident_window_hours: int = Field(default=72, ge=1)
    # Abuse limits, counted per pseudonym in fixed windows: reports a day, case status
    # checks an hour, inbound SMS an hour that get a reply; failed sign-ins per username
    # and per client address within the sign-in window (seconds).
    sauti_limit_reports: int = Field(default=10, ge=1)
    sauti_limit_status: int = Field(default=30, ge=1)
    sauti_limit_sms_in: int = Field(default=60, ge=1)
    sauti_login_failures: int = Field(default=5, ge=1)
    sauti_login_window: int = Field(default=900, ge=60)
    # The voice line (docs/voice.md). Languages offered to callers (each needs its prompts,
    # or a fallback below); where a language's prompts are missing, the audio of the
    # language it names is played instead, only where the admin says so ("rw=en,ln=fr").
    sauti_voice_languages: str = "sw,fr,en"
    sauti_voice_fallback: str = ""
    # Spoken answers to free-text questions are off: a voice can identify a person. On,
    # they are kept encrypted like descriptions (docs/voice.md "Recordings").
    sauti_voice_recording: bool = False
    sauti_voice_record_seconds: int = Field(default=60, ge=5, le=300)
    # Seconds of silence that end a key press, silences in a row before goodbye, and how
    # long a call's conversation is kept between two key presses.
    sauti_voice_timeout: int = Field(default=5, ge=2, le=30)
    sauti_voice_silences: int = Field(default=2, ge=1, le=5)
    sauti_voice_session_ttl: int = Field(default=900, ge=60)
    # Spikes raised as signals (docs/operations.md "Signals"): a day's reports of one
    # category in one territory are a signal when above the mean plus SD sample standard
    # deviations of the BASELINE_DAYS days that end GAP_DAYS days before it, and at least
    # MIN_COUNT. ABSOLUTE lists what is a signal by itself: a category, or
    # category:severity.
    sauti_spike_baseline_days: int = Field(default=7, ge=2, le=56)
    sauti_spike_gap_days: int = Field(default=2, ge=0, le=14)
    sauti_spike_sd: float = Field(default=3.0, gt=0, le=10)
    sauti_spike_min_count: int = Field(default=3, ge=1)
    sauti_spike_absolute: str = "sexual_violence,violence:critical"
    # The reporters' and the console's time zone (IANA name): a report's "today" is that
    # day here, and the console shows every time here, the zone named on the page. Eastern
    # DRC, Rwanda and Burundi all keep UTC+2 without daylight saving.
    sauti_timezone: str = "Africa/Lubumbashi"

    @field_validator("sauti_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}: give an IANA name") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.sauti_timezone)

    @field_validator("redis_url")
    @classmethod
    def _usable_redis_url(cls, value: str) -> str:
        if value:
            try:
                redis_connect.check_url(value)
            except redis_connect.RedisUrlError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("sauti_sms_provider")
    @classmethod
    def _known_providers(cls, value: str) -> str:
        sms_provider_map(value)
        return value

    @field_validator("sauti_voice_fallback")
    @classmethod
    def _fallback_pairs(cls, value: str) -> str:
        voice_fallback_map(value)
        return value

    @field_validator("sauti_spike_absolute")
    @classmethod
    def _absolute_rules(cls, value: str) -> str:
        spike_absolute_rules(value)
        return value

    @field_validator("sauti_ussd_ascii")
    @classmethod
    def _network_codes(cls, value: str) -> str:
        ussd_ascii_networks(value)
        return value

    def ascii_network(self, network_code: str | None) -> bool:
        """Whether USSD screens to this network (its code as the provider sent it) are
        plain ASCII: it is listed in SAUTI_USSD_ASCII, or the setting says all."""
        networks = ussd_ascii_networks(self.sauti_ussd_ascii)
        if EVERY_NETWORK in networks:
            return True
        return network_code is not None and network_code.strip() in networks

    @field_validator("twilio_api_url", "at_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("an http(s) URL is needed")
        return value.rstrip("/")

    @property
    def sms_providers(self) -> dict[str, str]:
        """Country (ISO 3166, or `*` for every other) -> outbound provider name."""
        return sms_provider_map(self.sauti_sms_provider)

    @field_validator("sauti_default_region", mode="before")
    @classmethod
    def _known_region(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        code = value.strip().upper() if isinstance(value, str) else value
        if code not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("not a region phonenumbers knows: an ISO 3166 alpha-2 code, e.g. CD")
        return code

    @cached_property
    def var_dir(self) -> Path:
        self.sauti_var_dir.mkdir(parents=True, exist_ok=True)
        return self.sauti_var_dir

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.var_dir / 'sauti.db').resolve()}"

    @property
    def https(self) -> bool:
        """Served over TLS: console cookies are then marked Secure."""
        return urlsplit(self.sauti_public_url).scheme == "https"

    @property
    def console_outbox(self) -> Path:
        return self.sauti_console_outbox or self.var_dir / "outbox.jsonl"

    @property
    def loopback(self) -> bool:
        """SAUTI_PUBLIC_URL names this machine only: a developer's run, not a service."""
        return (urlsplit(self.sauti_public_url).hostname or "") in LOOPBACK

    def check_exposure(self) -> None:
        """Refuse to serve a public URL without the Africa's Talking token, or with the
        console SMS provider unless it is asked for.

        The USSD callback has no signature: without the token anyone who can reach it can
        post as any number, and be offered that number's unfinished report.
        """
        if not self.sauti_at_token and not self.loopback:
            raise ValueError(
                f"SAUTI_PUBLIC_URL is {self.sauti_public_url} but SAUTI_AT_TOKEN is empty: set "
                "a long random token and add ?token=... to the callback URLs"
            )
        self.check_at_token()
        self.check_console_provider()

    def check_console_provider(self) -> None:
        """Refuse the console SMS provider behind a public URL unless it is allowed: it
        sends nothing to any phone, so a service that runs it by default would not notice
        that no alert leaves."""
        allowed = self.loopback or self.sauti_console_provider_allowed
        if "console" in self.sms_providers.values() and not allowed:
            raise ValueError(
                "SAUTI_SMS_PROVIDER is the console provider (the default) but "
                "SAUTI_PUBLIC_URL is not a loopback address: no SMS would reach a phone. "
                "Set SAUTI_SMS_PROVIDER to a real provider, or "
                "SAUTI_CONSOLE_PROVIDER_ALLOWED=true to run without sending"
            )

    def check_at_token(self) -> None:
        """Refuse a short Africa's Talking token behind a public URL: it is the callback's
        only protection, and a short one can be guessed (the message never shows it)."""
        host = urlsplit(self.sauti_public_url).hostname or ""
        if host not in LOOPBACK and 0 < len(self.sauti_at_token) < MIN_AT_TOKEN:
            raise ValueError(
                f"SAUTI_AT_TOKEN is shorter than {MIN_AT_TOKEN} characters, and SAUTI_PUBLIC_URL "
                f"is not a loopback address: use a long random token (at least {MIN_AT_TOKEN} "
                "characters, e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(code.strip() for code in self.sauti_languages.split(",") if code.strip())

    @property
    def voice_languages(self) -> tuple[str, ...]:
        """The languages a caller may choose on the voice line (among those enabled)."""
        wanted = (code.strip() for code in self.sauti_voice_languages.split(","))
        return tuple(code for code in wanted if code and code in self.languages)

    @property
    def voice_fallback(self) -> dict[str, str]:
        """Language -> the language whose audio stands in for its missing prompts."""
        return voice_fallback_map(self.sauti_voice_fallback)


class SettingsError(ValueError):
    """Settings that cannot be used: one line per setting, named as in the environment,
    never with the value given (it may be a password or a key)."""


def load_settings() -> Settings:
    """The settings from the environment; SettingsError says which are wrong and why."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for error in exc.errors(include_input=False, include_url=False):
            name = ".".join(str(part) for part in error["loc"]).upper() or "settings"
            message = str(error["msg"]).removeprefix("Value error, ")
            lines.append(f"{name}: {message}")
        raise SettingsError("\n".join(lines)) from None
