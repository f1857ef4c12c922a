"""A report is exactly what the reporter entered, however the inputs reach the service.

Africa's Talking sends every input of a session joined by '*' on each hop. The same inputs
may come hop by hop, typed ahead in a first dial, split any other way, or again whole under
a new session id after the session record is gone: each way gives the same screens and
files the same report, or the caller is told the session starts again.
"""

from __future__ import annotations

import itertools
import re
import secrets
from collections.abc import Callable

import redis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from flows.engine import State, expects_text
from storage.keys import load_crypto
from storage.models import Case
from storage.settings import Settings
from tests.conftest import AT_TOKEN
from tests.gateway.conftest import UssdPhone, settle
from tests.gateway.test_languages import shown

# The review's reproduction: English, Report, mineral fraud (page 2), Northern Province,
# Rulindo, "Not in the list", a typed place, this week, no danger, a description, no SMS,
# then Change -> When.
REVIEW = "2*1*98*7*2*2*3*Gifurwe*2*2*Traders mix tin*2*2*3".split("*")  # noqa: SIM905
RWANDA = "+250788000555"
CASE_NUMBER = re.compile(r"\d{3}-\d{3}-\d{4}")
RESTARTED = "Session cut off. Please go on from here."


def _phone(client: TestClient, number: str = RWANDA) -> UssdPhone:
    return UssdPhone(client=client, number=number, token=AT_TOKEN)


def _drop_sessions(redis_client: redis.Redis) -> None:
    """As if every session record had expired (drafts and the rest stay)."""
    for key in redis_client.scan_iter(match="sauti:s:*"):
        redis_client.delete(key)


def _established(redis_client: redis.Redis) -> None:
    """As if Redis had held hops for longer than a USSD session lasts."""
    redis_client.set("sauti:kept", b"0")


def _cases(db: sessionmaker[Session]) -> list[Case]:
    with db() as session:
        found = list(session.scalars(select(Case).order_by(Case.id)))
        for case in found:
            _ = case.location
        return found


def test_the_reviewed_sequence_resent_whole_gets_the_live_screen(app_client: TestClient) -> None:
    live = _phone(app_client)
    live.dial()
    for key in REVIEW:
        live.press(key)
    assert live.last.startswith("CON When did it happen?")
    expected = live.press("1")
    assert expected.startswith("CON Your report:")
    assert "Today." in expected
    again = _phone(app_client)  # a new sessionId carrying every input so far
    assert again.dial(*REVIEW, "1") == expected


def test_the_reviewed_sequence_whole_after_the_session_expired(
    app_client: TestClient, redis_client: redis.Redis
) -> None:
    live = _phone(app_client)
    live.dial()
    for key in REVIEW:
        live.press(key)
    _drop_sessions(redis_client)
    screen = live.press("1")  # the same session id, its record gone
    assert screen.startswith("CON Your report:")
    assert "Rulindo Gifurwe" in screen
    assert '"Traders mix tin"' in screen


def test_a_session_lost_mid_edit_files_exactly_the_reporters_answers(
    app_client: TestClient,
    redis_client: redis.Redis,
    db: sessionmaker[Session],
    settings: Settings,
) -> None:
    live = _phone(app_client)
    live.dial()
    for key in REVIEW:
        live.press(key)
    live.press("3")  # when: this month
    _drop_sessions(redis_client)
    redial = _phone(app_client)
    summary = redial.dial(*live.inputs)
    assert summary.startswith("CON Your report:")
    assert "This month." in summary
    assert redial.press("1").startswith("END Report sent.")
    [case] = _cases(db)
    crypto = load_crypto(settings)
    assert case.category == "mineral_fraud"
    assert case.location is not None
    assert case.location.code == "rw-north-rulindo"
    assert case.place_text_enc is not None
    assert crypto.decrypt(case.place_text_enc) == "Gifurwe"
    assert case.description_enc is not None
    assert crypto.decrypt(case.description_enc) == "Traders mix tin"
    assert case.occurred == "month"
    assert case.danger_now is False


def test_a_sent_report_resent_under_a_new_session_id_is_filed_once(
    app_client: TestClient, db: sessionmaker[Session]
) -> None:
    live = _phone(app_client)
    live.dial()
    for key in [*REVIEW[:-2], "1"]:
        live.press(key)
    assert live.last.startswith("END Report sent.")
    again = _phone(app_client)
    assert again.dial(*live.inputs) == live.last
    assert len(_cases(db)) == 1


def test_a_store_that_lost_its_data_restarts_the_session_with_a_notice(
    app_client: TestClient,
    redis_client: redis.Redis,
    db: sessionmaker[Session],
    run_jobs: Callable[[], None],
) -> None:
    """Nothing tells which screens the inputs answered: nothing is guessed or filed. The
    language chosen is the number's still: its job stored it before Redis lost its data."""
    live = _phone(app_client, "+243812345670")
    live.dial()
    live.choose("English")
    live.choose("Report a problem")
    live.choose("Violence")
    settle(app_client)
    run_jobs()
    redis_client.flushdb()  # a Redis that kept nothing
    _phone(app_client, "+243812345675").dial()  # someone else dials first: the store is new
    screen = live.choose("North Kivu")
    assert screen.startswith(f"CON {RESTARTED}\nSauti - anonymous reports")
    assert _cases(db) == []
    live.dial()
    live.choose("Report a problem")
    assert live.last.startswith("CON What happened?")


def test_a_dial_typed_ahead_from_a_new_number_is_followed_once_the_store_is_established(
    app_client: TestClient, redis_client: redis.Redis
) -> None:
    _established(redis_client)
    # A first dial from the DRC: the language list, "1" picks Kiswahili, then the menu.
    assert _phone(app_client, "+243812345672").dial("1").startswith("CON Sauti - ripoti")


def test_a_dial_typed_ahead_soon_after_the_store_lost_its_data_starts_again(
    app_client: TestClient, redis_client: redis.Redis
) -> None:
    """Within a session's life of Redis holding anything again, inputs with no known
    conversation behind them may be a lost session's: nothing is guessed from them."""
    _phone(app_client, "+243812345673").dial()  # another caller's hop marks the store
    assert "kept" in {key.decode().split(":")[-1] for key in redis_client.keys("sauti:*")}
    screen = _phone(app_client, "+243812345674").dial("1")
    assert screen.startswith(f"CON {shown('sw', RESTARTED)}\n")
    assert screen.endswith("6 Ikirundi")  # the language list, nothing chosen


def test_back_after_continue_goes_to_the_previous_question_of_the_draft(
    app_client: TestClient,
) -> None:
    phone = _phone(app_client, "+243812345671")
    phone.dial()
    phone.choose("English")
    phone.choose("Report a problem")
    phone.choose("Violence")
    phone.choose("South Kivu")  # the session drops here
    offer = phone.dial()
    assert offer.startswith("CON You have an unfinished report.")
    assert "0 Back" not in offer
    assert phone.press("0") == offer  # re-shown as it was, no error line
    assert phone.choose("Continue").startswith("CON In which territory?")
    assert phone.press("0").startswith("CON In which province?")
    assert phone.press("0").startswith("CON What happened?")


# -- any input sequence, any split ---------------------------------------------------------

KEYS = ["0", "00", "98", "1", "2", "3", "4", "5", "6", "7", "8", "9", "77", ""]
WORDS = ["Gifurwe", "Pit owner took the ore", "4821773506", "482-177-3501", "ok"]
sequences = st.lists(st.one_of(st.sampled_from(KEYS), st.sampled_from(WORDS)), max_size=14)


def _normal(screen: str) -> str:
    return CASE_NUMBER.sub("NNN-NNN-NNNN", screen)


def _splits(inputs: list[str], cuts: list[int], texts: list[int]) -> list[list[str]]:
    """`inputs` cut into hops at `cuts` and after each free-text answer (positions `texts`):
    at a free-text question the rest of a hop is the text, so a hop ends there."""
    ends = {position + 1 for position in texts}
    bounds = sorted({c % (len(inputs) + 1) for c in cuts} | ends | {0, len(inputs)})
    return [inputs[a:b] for a, b in itertools.pairwise(bounds) if a < b]


def _at_text(client: TestClient, phone: UssdPhone) -> bool:
    """Whether the phone's session stands at a free-text question (read from Redis)."""
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    load = client.portal.call(runtime.store.load_hop, f"at:{phone.session_id}", "")
    if load.record is None:
        return False
    state = State.from_dict(load.record["s"])
    return expects_text(runtime.bundle_for(state.version) or runtime.bundle, state)


def _one_by_one(client: TestClient, number: str, inputs: list[str]) -> tuple[str, list[int]]:
    """Each input its own hop; the last screen and where free-text answers were given."""
    phone = _phone(client, number)
    phone.dial()
    texts = []
    for position, key in enumerate(inputs):
        if phone.last.startswith("END "):
            break
        if _at_text(client, phone):
            texts.append(position)
        phone.press(key)
    return phone.last, texts


def _run_hops(client: TestClient, number: str, hops: list[list[str]]) -> str:
    phone = _phone(client, number)
    phone.dial(*hops[0]) if hops else phone.dial()
    for hop in hops[1:]:
        phone.inputs.extend(hop)
        phone.last = phone.post("*".join(phone.inputs))
    return phone.last


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(inputs=sequences, cuts=st.lists(st.integers(min_value=0, max_value=20), max_size=4))
def test_any_split_of_the_same_inputs_gives_the_same_screen(
    app_client: TestClient, redis_client: redis.Redis, inputs: list[str], cuts: list[int]
) -> None:
    """Hop by hop, typed ahead, split anyhow (a hop ending after each free-text answer), or
    resent whole under a new session id after the session record is gone: the same last
    screen, from numbers that start alike."""
    _established(redis_client)
    run = secrets.randbelow(10**6)
    numbers = [f"+24381{run:06d}{n}" for n in range(4)]
    expected, texts = _one_by_one(app_client, numbers[0], inputs)
    typed_ahead = _run_hops(app_client, numbers[1], _splits(inputs, [], texts))
    split = _run_hops(app_client, numbers[2], _splits(inputs, cuts, texts))
    assert _normal(typed_ahead) == _normal(expected)
    assert _normal(split) == _normal(expected)
    if inputs:
        head = len(inputs) // 2
        phone = _phone(app_client, numbers[3])
        phone.dial()
        for key in inputs[:head]:
            phone.press(key)
        _drop_sessions(redis_client)
        resent = _phone(app_client, numbers[3])
        resent.dial(*inputs[: head + 1])  # a new session id with every input so far
        for key in inputs[head + 1 :]:
            resent.press(key)
        assert _normal(resent.last) == _normal(expected)
