"""A caller's number in every form a gateway sends it: one phone, one E.164 form, one
pseudonym, with phonenumbers as the independent reference for what the number is."""

from __future__ import annotations

from collections.abc import Callable

import phonenumbers
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.phones import (
    MOBILE_COUNTRY_CODES,
    Pseudonyms,
    country_region,
    network_region,
    parse_caller,
    pseudonymize,
)
from storage.db import make_engine, make_sessionmaker
from storage.keys import load_crypto
from storage.models import Case, NumberPrefs
from storage.privacy import Crypto
from storage.settings import Settings, SettingsError, load_settings
from tests.conftest import AT_TOKEN, TWILIO_TOKEN
from tests.gateway.conftest import SmsPhone, UssdPhone, settle
from tests.gateway.test_follow_up import report_with_updates


def reference(e164: str) -> str:
    """The number's E.164 form as phonenumbers writes it, checked valid there."""
    parsed = phonenumbers.parse(e164, None)
    assert phonenumbers.is_valid_number(parsed)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


# (the number, the forms a gateway may send it in, the region the provider gives)
FORMS = [
    (
        "+243812345678",
        [
            *("+243812345678", "243812345678", " 243812345678", "00243812345678"),
            *("0812345678", "812345678", "+243 81 234 5678", "081 234 5678"),
            "00 243 81 234 5678",
        ],
        "CD",
    ),
    ("+250788123456", ["+250788123456", "250788123456", "0788123456", "788123456"], "RW"),
    ("+25779123456", ["+25779123456", "25779123456", "0025779123456", "79123456"], "BI"),
    # Lumitel's 61 range: as bare digits also a valid Australian number.
    ("+25761134621", ["+25761134621", "25761134621", "61134621"], "BI"),
    # The 98 range: as bare digits also a valid number in Iran.
    ("+243984489355", ["+243984489355", "243984489355", "0984489355", "984489355"], "CD"),
]


@pytest.fixture
def crypto(settings: Settings) -> Crypto:
    return load_crypto(settings)


@pytest.mark.parametrize(("e164", "forms", "region"), FORMS, ids=[f[0] for f in FORMS])
def test_every_form_of_a_number_gets_its_one_pseudonym(
    crypto: Crypto, e164: str, forms: list[str], region: str
) -> None:
    expected = reference(e164)
    for form in forms:
        phone = parse_caller(form, region)
        assert phone is not None, form
        assert (phone.e164, phone.region) == (expected, region), form
        assert pseudonymize(crypto, form, region) == (crypto.pseudonym(expected), region)
    # The same, when the region is SAUTI_DEFAULT_REGION instead of the provider's.
    by_default = Pseudonyms(crypto, default_region=region)
    assert {by_default(form) for form in forms} == {(crypto.pseudonym(expected), region)}


def test_burundi_eight_digits_are_never_read_as_russia() -> None:
    phone = parse_caller("79123456", "BI")
    assert phone is not None
    assert (phone.e164, phone.region) == ("+25779123456", "BI")
    assert parse_caller("79123456", "RW", "BI") == phone  # not a Rwandan number: the next
    # Without a region, the digits are read as they were before: as "+79123456".
    bare = parse_caller("79123456")
    assert bare is not None
    assert bare.region == phonenumbers.region_code_for_number(phonenumbers.parse("+79123456"))


def test_a_number_with_its_country_code_is_never_read_again_with_a_region() -> None:
    for form in ("+243812345678", "00243812345678", "243812345678"):
        for region in ("RW", "BI", "CD"):
            phone = parse_caller(form, region)
            assert phone is not None
            assert phone.e164 == "+243812345678", (form, region)
    # "+" and "00" are international whatever follows: never a national number.
    assert parse_caller("+79123456", "BI") == parse_caller("+79123456")
    assert parse_caller("0079123456", "BI") == parse_caller("+79123456")
    assert parse_caller("+61134621", "BI") == parse_caller("+61134621")


def test_without_a_region_only_international_forms_parse() -> None:
    for form in ("+243812345678", "243812345678", "00243812345678"):
        phone = parse_caller(form)
        assert phone is not None
        assert phone.e164 == "+243812345678"
    assert parse_caller("0812345678") is None
    assert parse_caller("hello", "CD") is None
    assert parse_caller("", "CD") is None


def test_the_cache_keeps_a_number_read_in_one_region_apart_from_another(crypto: Crypto) -> None:
    pseudonyms = Pseudonyms(crypto)
    in_burundi, bare = pseudonyms("79123456", "BI"), pseudonyms("79123456")
    assert in_burundi == (crypto.pseudonym("+25779123456"), "BI")
    assert bare == (crypto.pseudonym("+79123456"), "RU")
    assert pseudonyms("79123456", "BI") == in_burundi  # cached, in either order
    assert Pseudonyms(crypto)("79123456") == bare
    assert pseudonyms("0788123456", "RW") != pseudonyms("0788123456", "CD")


def test_network_codes_and_provider_countries_name_regions() -> None:
    assert network_region("63001") == "CD"
    assert network_region("63510") == "RW"
    assert network_region("64201") == "BI"
    assert network_region(" 640002 ") == "TZ"
    for unknown in ("", "630", "abcde", "99901", "6300123"):
        assert network_region(unknown) is None
    assert set(MOBILE_COUNTRY_CODES.values()) <= phonenumbers.SUPPORTED_REGIONS
    assert country_region("RW") == "RW"
    assert country_region(" cd ") == "CD"
    assert country_region("XX") is None
    assert country_region("") is None


def test_sauti_default_region_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().sauti_default_region is None
    assert Settings(sauti_default_region="cd").sauti_default_region == "CD"
    assert Settings(sauti_default_region=" ").sauti_default_region is None
    monkeypatch.setenv("SAUTI_DEFAULT_REGION", "ZQ")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert "SAUTI_DEFAULT_REGION" in str(refused.value)
    assert "ZQ" not in str(refused.value)
    monkeypatch.setenv("SAUTI_DEFAULT_REGION", "BI")
    assert load_settings().sauti_default_region == "BI"


def _has_language(db: sessionmaker[Session], pseudonym: str) -> bool:
    with db() as session:
        pref = session.get(NumberPrefs, pseudonym)
        return pref is not None and pref.language is not None


def test_a_ussd_caller_is_one_reporter_whatever_form_the_gateway_sends(
    app_client: TestClient,
    db: sessionmaker[Session],
    crypto: Crypto,
    run_jobs: Callable[[], None],
) -> None:
    first = UssdPhone(client=app_client, number="+243812345678", token=AT_TOKEN)
    assert "English" in first.dial()
    first.choose("English")
    settle(app_client)
    run_jobs()  # the choice reaches the database through a job
    assert _has_language(db, crypto.pseudonym("+243812345678"))
    for form in ("0812345678", "812345678", "00243812345678", "243812345678"):
        again = UssdPhone(client=app_client, number=form, token=AT_TOKEN, network_code="63001")
        screen = again.dial()
        assert "English" not in screen, form  # the language picked is this number's
        assert "Report a problem" in screen, form
    # The same digits on a Rwandan network are another phone.
    rwandan = UssdPhone(client=app_client, number="812345678", token=AT_TOKEN, network_code="63510")
    assert "English" in rwandan.dial()


def test_a_national_number_asking_for_sms_news_is_kept_in_e164(
    app_client: TestClient, db: sessionmaker[Session], crypto: Crypto
) -> None:
    reporter = UssdPhone(client=app_client, number="0812345678", token=AT_TOKEN)
    report_with_updates(reporter)
    with db() as session:
        case = session.scalars(select(Case)).one()
        assert case.pseudonym == crypto.pseudonym("+243812345678")
        assert case.contact_enc is not None
        assert crypto.decrypt(case.contact_enc) == "+243812345678"


def test_an_sms_from_a_national_number_uses_twilios_from_country(
    app_client: TestClient, db: sessionmaker[Session], crypto: Crypto
) -> None:
    def send(number: str, body: str, country: str | None) -> None:
        phone = SmsPhone(app_client, number, TWILIO_TOKEN, "https://sauti.example.org")
        form = phone.form(body)
        if country is not None:
            form["FromCountry"] = country
        status, _ = phone.post_form(form)
        assert status == 200

    def opted_out(e164: str) -> bool | None:
        with db() as session:
            pref = session.get(NumberPrefs, crypto.pseudonym(e164))
            return None if pref is None else pref.opted_out_at is not None

    send("0788123456", "STOP", "RW")
    assert opted_out("+250788123456") is True
    send("+250788123456", "START", "RW")
    assert opted_out("+250788123456") is False
    send("788123456", "STOP", "RW")
    assert opted_out("+250788123456") is True
    # Without FromCountry (and no SAUTI_DEFAULT_REGION) a national number stays unparsed:
    # it is not taken for the Rwandan phone.
    send("0788123456", "START", None)
    assert opted_out("+250788123456") is True


def test_sauti_default_region_reads_numbers_the_provider_gives_no_country_for(
    settings: Settings, redis_client: object, run_jobs: Callable[[], None]
) -> None:
    from gateway.app import create_app
    from gateway.release import prepare

    cd_default = settings.model_copy(update={"sauti_default_region": "CD"})
    prepare(cd_default)
    engine = make_engine(cd_default.db_url)
    db = make_sessionmaker(engine)
    crypto = load_crypto(cd_default)
    try:
        with TestClient(create_app(cd_default)) as client:
            phone = UssdPhone(client=client, number="0812345678", token=AT_TOKEN, network_code="")
            assert "English" in phone.dial()
            phone.choose("English")
            settle(client)
            run_jobs()  # the choice reaches the database through a job
            assert _has_language(db, crypto.pseudonym("+243812345678"))
            # The provider's country comes first: on a Rwandan network, a Rwandan number.
            rwandan = UssdPhone(client, "0788123456", AT_TOKEN, network_code="63510")
            rwandan.dial()
            rwandan.choose("English")
            settle(client)
            run_jobs()
            assert _has_language(db, crypto.pseudonym("+250788123456"))
    finally:
        engine.dispose()
