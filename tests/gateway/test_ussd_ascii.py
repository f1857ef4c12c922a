"""SAUTI_USSD_ASCII: networks named in it get plain-ASCII USSD screens, the others GSM-7."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from flows import gsm
from gateway.conversation import Conversation
from gateway.inbound import Channel, InboundMessage, SessionEvent
from storage.settings import Settings, SettingsError, load_settings, ussd_ascii_networks
from tests.conftest import AT_TOKEN
from tests.gateway.conftest import UssdPhone

NUMBER = "+243812345678"
PLAIN_NETWORK = "63002"  # listed in SAUTI_USSD_ASCII below
ACCENTED_NETWORK = "63001"  # not listed: GSM-7, accents and all


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"sauti_ussd_ascii": f"{PLAIN_NETWORK}, 63089", "sauti_default_language": "fr"}
    )


def _french_menu(phone: UssdPhone) -> str:
    screen = phone.dial()
    assert screen.startswith("CON ")
    phone.choose("Fran")
    return phone.last


def test_a_network_in_the_setting_gets_plain_ascii_screens(app_client: TestClient) -> None:
    phone = UssdPhone(client=app_client, number=NUMBER, token=AT_TOKEN)
    phone.network_code = PLAIN_NETWORK
    languages = phone.dial()
    assert "Francais" in languages
    assert gsm.is_ascii(languages)
    menu = phone.choose("Francais")
    assert "Signaler un probleme" in menu
    assert "è" not in menu
    assert gsm.is_ascii(menu)
    screen = phone.choose("Signaler")
    assert "Que s'est-il passe ?" in screen
    assert gsm.is_ascii(screen)


def test_another_network_keeps_the_accents_of_gsm7(app_client: TestClient) -> None:
    phone = UssdPhone(client=app_client, number=NUMBER, token=AT_TOKEN)
    phone.network_code = ACCENTED_NETWORK
    menu = _french_menu(phone)
    assert "Signaler un problème" in menu
    assert not gsm.is_ascii(menu)
    assert "Que s'est-il passé ?" in phone.choose("Signaler")


def test_the_apology_of_a_failed_hop_is_plain_ascii_too(
    app_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def fail(msg: InboundMessage) -> None:
        raise RuntimeError("down")

    monkeypatch.setattr(app_client.app.state.conversation, "hop", fail)  # type: ignore[attr-defined]
    plain = UssdPhone(client=app_client, number=NUMBER, token=AT_TOKEN)
    plain.network_code = PLAIN_NETWORK
    assert plain.dial() == "END Desole, le service est occupe. Reessayez dans quelques minutes."
    accented = UssdPhone(client=app_client, number=NUMBER, token=AT_TOKEN)
    accented.network_code = ACCENTED_NETWORK
    assert accented.dial().startswith("END Désolé, le service est occupé.")


def _message(channel: Channel, network_code: str | None) -> InboundMessage:
    return InboundMessage(
        channel=channel,
        provider="africastalking",
        event=SessionEvent.NEW,
        session_key="at:1",
        pseudonym="p",
        region="CD",
        inputs=(),
        network_code=network_code,
    )


def test_the_alphabet_is_chosen_for_ussd_only(app_client: TestClient) -> None:
    conversation: Conversation = app_client.app.state.conversation  # type: ignore[attr-defined]
    assert conversation.context(_message(Channel.USSD, PLAIN_NETWORK), "fr").alphabet == "ascii"
    assert conversation.context(_message(Channel.USSD, "63089"), "fr").alphabet == "ascii"
    assert conversation.context(_message(Channel.USSD, ACCENTED_NETWORK), "fr").alphabet == "gsm7"
    assert conversation.context(_message(Channel.USSD, None), "fr").alphabet == "gsm7"
    assert conversation.context(_message(Channel.SMS, PLAIN_NETWORK), "fr").alphabet == "gsm7"


def test_the_setting_takes_network_codes_or_all() -> None:
    assert ussd_ascii_networks("") == frozenset()
    assert ussd_ascii_networks(" 63001 ,63002,,635010 ") == {"63001", "63002", "635010"}
    assert ussd_ascii_networks("ALL") == {"all"}
    everywhere = Settings(sauti_ussd_ascii="all")
    assert everywhere.ascii_network("63001")
    assert everywhere.ascii_network(None)
    listed = Settings(sauti_ussd_ascii="63001")
    assert listed.ascii_network("63001")
    assert not listed.ascii_network("63002")
    assert not listed.ascii_network(None)
    assert not Settings().ascii_network("63001")


@pytest.mark.parametrize(
    "value", ["6300", "6300123", "63O01", "630-01", "all,63001", "CD", "٦٣٠٠١"]
)
def test_an_unusable_setting_is_refused_naming_it(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAUTI_USSD_ASCII", value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    (line,) = str(refused.value).splitlines()
    assert line.startswith("SAUTI_USSD_ASCII: ")
    assert "network code" in line
