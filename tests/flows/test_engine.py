"""The engine, driven through the shipped flows: every node kind and navigation key."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from flows import effects as fx
from flows.engine import (
    FlowError,
    Outcome,
    State,
    VersionMismatch,
    expects_text,
    render_step,
    resume,
    start,
    step,
)
from flows.validators import damm_digit, display_case_number

Begin = Callable[..., Any]

NUMBER = "482177350" + damm_digit("482177350")
SHOWN = display_case_number(NUMBER)
# Main menu 1 → category 2 (accident) → Nord-Kivu → Walikale → Bisie → this week →
# nobody in danger → a description → no SMS: the summary.
TO_SUMMARY = ("1", "2", "1", "1", "1", "2", "2", "Roof fell on two diggers", "2")
INVALID = "Wrong choice, try again."


def looked_up(message: str | None = "We visit the site on Monday.") -> Callable[[Any], Outcome]:
    def outcome(effect: Any) -> Outcome:
        values = {"case": display_case_number(NUMBER), "status": "routed"}
        return Outcome(True, values | ({"message": message} if message else {}))

    return outcome


# -- start and language --------------------------------------------------------------------


def test_a_number_without_language_first_sees_languages_by_their_own_names(session: Begin) -> None:
    s = session(has_language=False)
    assert s.text.splitlines() == ["Choose your language", "1 Kiswahili", "2 Francais", "3 English"]


def test_picking_a_language_remembers_it_and_shows_the_menu_in_it(session: Begin) -> None:
    s = session("2", has_language=False)
    assert s.effects == [fx.SetLanguage("fr")]
    assert s.state.lang == "fr"
    assert s.text.startswith("Sauti - signalement anonyme\n1 Signaler un probl")


def test_changing_language_from_the_main_menu(session: Begin) -> None:
    s = session("4", "2")
    assert s.kinds() == ["SetLanguage"]
    assert "2 Suivre un dossier" in s.text


def test_a_known_language_starts_at_the_main_menu(session: Begin) -> None:
    s = session()
    assert s.keys() == ["1", "2", "3", "4", "5"]
    assert "0 Back" not in s.text


def test_a_language_without_catalog_falls_back_to_english(session: Begin) -> None:
    assert "1 Report a problem" in session(lang="rn").text


def test_entry_starts_in_the_named_flow(session: Begin) -> None:
    assert session(entry="status").text.startswith("Type your case number.")
    assert session(entry="main.help").screen.final


# -- keys ----------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["7", "abc", "", "😀", "\x00", "1" * 500, "99"])
def test_invalid_input_reprompts_with_an_error_and_the_same_options(
    session: Begin, typed: str
) -> None:
    s = session()
    before = s.text
    s.send(typed)
    assert s.text == f"{INVALID}\n{before}"
    assert not s.screen.final


def test_number_keys_accept_surrounding_spaces(session: Begin) -> None:
    assert session(" 1 ").text.startswith("What happened?")


def test_back_returns_to_the_previous_question_and_undoes_its_answer(session: Begin) -> None:
    s = session("1", "2")
    assert s.text.startswith("In which province?")
    s.send("0")
    assert s.text.startswith("What happened?")
    assert "category" not in s.state.answers


def test_back_on_the_first_screen_stays(session: Begin) -> None:
    s = session()
    before = s.text
    assert s.send("0").text == before


def test_more_shows_the_next_page_numbered_on_and_wraps(session: Begin) -> None:
    s = session("1")
    assert s.keys() == ["1", "2", "3", "4", "5", "6"]
    assert s.text.splitlines()[-2:] == ["98 More", "0 Back"]
    s.send("98")
    assert s.keys() == ["7", "8"]
    assert "98 More" not in s.text
    s.send("98")
    assert s.keys()[0] == "1"


def test_an_item_of_another_page_can_be_typed_directly(session: Begin) -> None:
    assert session("1", "8").state.answers["category"] == "other"


def test_more_on_a_single_page_is_refused(session: Begin) -> None:
    assert session("98").text.startswith(INVALID)


def test_back_restores_the_page_the_answer_was_given_on(session: Begin) -> None:
    s = session("1", "98", "8", "0")
    assert s.keys() == ["7", "8"]


def test_main_menu_key_keeps_the_report_as_draft(session: Begin) -> None:
    s = session("1", "2", "1", "00")
    assert s.text.startswith("Sauti - anonymous reports")
    draft = s.state.draft()
    assert draft is not None
    assert draft["node"] == "report.territory"
    assert draft["answers"] == {
        "category": "accident",
        "country": "cd",
        "province": "cd-nk",
        "place_code": "cd-nk",
    }
    assert [entry[0] for entry in draft["trail"]] == ["report.category", "report.province"]
    s.send("1")
    assert s.text.splitlines()[:3] == [
        "You have an unfinished report.",
        "1 Continue",
        "2 Start again",
    ]
    s.send("1")
    assert s.text.startswith("In which territory?")


def test_back_after_continue_goes_to_the_question_before_in_the_draft(session: Begin) -> None:
    s = session("1", "2", "1", "00", "1")
    assert "0 Back" not in s.text  # the offer has nothing to go back to
    s.send("0")
    assert s.text.startswith("You have an unfinished report.")  # re-shown, no error line
    s.send("1")
    assert s.text.startswith("In which territory?")
    s.send("0")
    assert s.text.startswith("In which province?")
    assert "province" not in s.state.answers
    s.send("0")
    assert s.text.startswith("What happened?")
    assert s.state.answers == {}


def test_back_after_continue_in_a_later_session(session: Begin) -> None:
    """The draft carries its back steps to the next session's Continue."""
    first = session("1", "2", "1", "00")
    later = session(draft=first.state.draft())
    assert later.text.startswith("You have an unfinished report.")
    later.send("1")
    later.send("0")
    assert later.text.startswith("In which province?")
    later.send("2")
    assert later.text.startswith("In which territory?")
    assert later.state.answers["province"] == "cd-sk"


def test_start_again_from_the_offer_has_no_way_back_to_it(session: Begin) -> None:
    s = session("1", "2", "00", "1", "2")
    assert s.text.startswith("What happened?")
    assert "0 Back" not in s.text


def test_start_again_discards_the_draft(session: Begin) -> None:
    s = session("1", "2", "00", "1", "2")
    assert s.kinds() == ["DiscardDraft"]
    assert s.text.startswith("What happened?")
    assert s.state.draft() is None


# -- report questions ----------------------------------------------------------------------


def test_the_hazard_is_asked_only_for_danger_in_the_pit(session: Begin) -> None:
    assert session("1", "1").text.startswith("What danger?")
    assert session("1", "2").text.startswith("In which province?")


def test_places_start_under_the_callers_country(session: Begin) -> None:
    s = session("1", "2")
    assert s.text.splitlines()[1:4] == ["1 Nord-Kivu", "2 Sud-Kivu", "3 Not in the list"]
    assert s.state.answers["place_code"] == "cd"


def test_the_country_is_asked_when_the_number_does_not_tell(session: Begin) -> None:
    s = session("1", "2", country=None)
    assert s.text.splitlines()[:4] == [
        "In which country?",
        "1 RD Congo",
        "2 Rwanda",
        "3 Not in the list",
    ]


def test_the_deepest_chosen_place_is_the_place_code(session: Begin) -> None:
    s = session("1", "2", "1", "1", "2")
    assert s.text.startswith("When did it happen?")
    answers = s.state.answers
    assert answers["place_code"] == "cd-nk-walikale-omate"
    assert (answers["province"], answers["territory"]) == ("cd-nk", "cd-nk-walikale")


def test_a_level_without_places_moves_on(session: Begin) -> None:
    assert session("1", "2", "2", country=None).text.startswith("When did it happen?")
    s = session("1", "2", "2", "1")
    assert s.text.startswith("When did it happen?")
    assert s.state.answers["place_code"] == "cd-sk-lemera"


def test_a_place_not_in_the_list_is_typed(session: Begin) -> None:
    s = session("1", "2", "1", "2")
    assert s.text.startswith("Type the name of the place.")
    s.send("  Near the\nriver ")
    assert s.text.startswith("When did it happen?")
    assert s.state.answers["place_text"] == "Near the river"
    assert s.state.answers["place_code"] == "cd-nk"


def test_too_long_and_empty_text_reprompt(session: Begin) -> None:
    s = session("1", "2", "1", "2", "x" * 61)
    assert s.text.startswith("Too long: at most 60 characters.\nType the name of the place.")
    s.send("   ")
    assert s.text.startswith("Please type your answer.\nType the name of the place.")


def test_the_description_can_be_skipped(session: Begin) -> None:
    s = session(*TO_SUMMARY[:7])
    assert s.text.splitlines() == ["Say in a few words what happened.", "1 Skip", "0 Back"]
    assert expects_text(s.bundle, s.state)
    s.send("1")
    assert s.text.startswith("Do you want SMS news")
    assert "description" not in s.state.answers


def test_yes_no_questions_store_yes_or_no(session: Begin) -> None:
    s = session(*TO_SUMMARY[:6])
    assert s.text.splitlines() == ["Is anyone in danger now?", "1 Yes", "2 No", "0 Back"]
    assert not expects_text(s.bundle, s.state)
    assert s.send("1").state.answers["danger_now"] == "yes"


# -- summary, send, change, cancel ---------------------------------------------------------


def test_the_summary_shows_the_answers_in_words(session: Begin) -> None:
    s = session(*TO_SUMMARY)
    assert s.text.splitlines() == [
        "Your report:",
        "Accident (injury/death)",
        "Bisie",
        "This week. Danger now: No",
        '"Roof fell on two diggers"',
        "1 Send",
        "2 Change",
        "3 Cancel",
        "0 Back",
    ]


def test_send_waits_for_the_report_to_be_stored_then_gives_the_case(session: Begin) -> None:
    s = session(*TO_SUMMARY)
    pending = s.raw("1")
    assert pending.screen is None
    assert pending.effects == (
        fx.SubmitReport(
            {
                "category": "accident",
                "country": "cd",
                "province": "cd-nk",
                "territory": "cd-nk-walikale",
                "site": "cd-nk-walikale-bisie",
                "place_code": "cd-nk-walikale-bisie",
                "when": "week",
                "danger_now": "no",
                "description": "Roof fell on two diggers",
                "sms_updates": "no",
            }
        ),
    )
    done = resume(s.bundle, pending.state, Outcome(True, {"case": "482-177-3506"}), s.ctx)
    assert done.screen is not None
    assert done.screen.final
    assert done.screen.text == (
        "Report sent. Case 482-177-3506. To follow it, dial *384*123# and choose 2."
    )
    assert done.state.draft() is None


def test_a_report_that_could_not_be_stored_stays_a_draft(session: Begin) -> None:
    s = session(*TO_SUMMARY, "1", outcome=lambda effect: Outcome(False))
    assert s.screen.final
    assert s.text.startswith("Sorry, your report could not be sent now.")
    draft = s.state.draft()
    assert draft is not None
    assert draft["node"] == "report.summary"


def test_cancel_discards_the_draft(session: Begin) -> None:
    s = session(*TO_SUMMARY, "3")
    assert s.kinds() == ["DiscardDraft"]
    assert s.text == "Report cancelled."
    assert s.screen.final
    assert s.state.draft() is None


def test_changing_one_field_comes_back_to_the_summary(session: Begin) -> None:
    s = session(*TO_SUMMARY, "2")
    assert s.text.startswith("What do you want to change?\n1 What happened\n2 Place\n3 When")
    s.send("3", "1")
    assert s.text.startswith("Your report:")
    assert "Today. Danger now: No" in s.text


def test_changing_the_category_to_danger_asks_the_hazard_too(session: Begin) -> None:
    s = session(*TO_SUMMARY, "2", "1", "1")
    assert s.text.startswith("What danger?")
    s.send("2")
    assert s.text.splitlines()[1:3] == ["Danger in the pit", "Flooding"]


def test_changing_the_category_away_from_danger_forgets_the_hazard(session: Begin) -> None:
    s = session("1", "1", "1", *TO_SUMMARY[2:])
    assert s.state.answers["hazard"] == "collapse"
    s.send("2", "1", "2")
    assert s.text.startswith("Your report:\nAccident")
    assert "hazard" not in s.state.answers


def test_changing_the_place_asks_the_place_questions_again(session: Begin) -> None:
    s = session(*TO_SUMMARY, "2", "2")
    assert s.text.startswith("In which province?")
    s.send("2", "1")
    assert s.text.startswith("Your report:")
    assert "Lemera" in s.text
    assert "site" not in s.state.answers
    assert s.state.answers["place_code"] == "cd-sk-lemera"


def test_back_from_a_change_restores_the_answers_and_the_summary(session: Begin) -> None:
    s = session(*TO_SUMMARY)
    summary = s.text
    s.send("2", "3", "0")
    assert s.text.startswith("What do you want to change?")
    s.send("0")
    assert s.text == summary
    s.send("1")
    assert s.kinds()[-1] == "SubmitReport"


# -- status and add information ------------------------------------------------------------


def test_status_checks_the_typed_number_before_looking_it_up(session: Begin) -> None:
    s = session("2", "123")
    assert s.text.startswith("Not a valid case number. Type the 10 digits again.\nType your")
    pending = s.raw(display_case_number(NUMBER))
    assert pending.effects == (fx.LookupCase(NUMBER),)
    assert pending.screen is None


def test_status_shows_the_status_in_words_and_the_committee_message(session: Begin) -> None:
    s = session("2", NUMBER, outcome=looked_up())
    assert s.screen.final
    assert s.text == (
        f"Case {SHOWN}: Sent to the committee\nCommittee: We visit the site on Monday."
    )


def test_status_without_a_message_has_no_committee_line(session: Begin) -> None:
    s = session("2", NUMBER, outcome=looked_up(None))
    assert s.text == f"Case {SHOWN}: Sent to the committee"


def test_an_unknown_case_is_asked_again(session: Begin) -> None:
    s = session("2", NUMBER, outcome=lambda effect: Outcome(False))
    assert s.text.splitlines() == ["No case with that number.", "Type your case number.", "0 Back"]
    assert not s.screen.final


def test_add_information_to_an_existing_case(session: Begin) -> None:
    s = session("3", NUMBER, outcome=looked_up())
    assert s.text.startswith(f"Case {SHOWN}. Type what you want to add.")
    s.send("Two more   people hurt")
    assert s.effects[-1] == fx.AddInformation(NUMBER, "Two more people hurt")
    assert s.text == f"Thank you. Added to case {SHOWN}."


def test_help_ends_the_session_with_plain_words(session: Begin) -> None:
    s = session("5")
    assert s.screen.final
    assert "dial *384*123# and choose 2" in s.text


def test_a_final_screen_ignores_further_input(session: Begin) -> None:
    s = session("5")
    before = s.text
    assert s.send("1").text == before


# -- drafts --------------------------------------------------------------------------------


def test_a_saved_draft_is_offered_and_continues_exactly_there(session: Begin) -> None:
    draft = {"node": "report.when", "answers": {"category": "violence", "place_code": "cd-nk"}}
    s = session(draft=draft)
    assert s.text.startswith("You have an unfinished report.")
    s.send("1")
    assert s.text.startswith("When did it happen?")
    assert s.state.answers == draft["answers"]
    # A draft saved without its back steps has none: Back stays, never back to the offer.
    assert "0 Back" not in s.text
    assert s.send("0").text.startswith("When did it happen?")


def test_a_draft_at_an_unknown_node_continues_at_the_first_question(session: Begin) -> None:
    s = session("1", draft={"node": "report.gone", "answers": {"category": "violence"}})
    assert s.text.startswith("What happened?")


def test_a_draft_keeps_only_report_answers(session: Begin) -> None:
    answers = {"category": "violence", "case_number": "1", "when": 3}
    s = session(draft={"node": "report.when", "answers": answers})
    assert s.state.answers == {"category": "violence"}


# -- the contract around a hop -------------------------------------------------------------


def test_a_state_is_stepped_only_with_the_bundle_it_started_on(
    session: Begin, bundle_with: Callable[..., Any]
) -> None:
    s = session("1")
    other = bundle_with({"extra": "nodes:\n  end:\n    kind: end\n    text: Bye\n"})
    with pytest.raises(VersionMismatch, match="step it with the bundle of its own version"):
        step(other, s.state, "1", s.ctx)


def test_the_state_round_trips_through_json(session: Begin) -> None:
    s = session(*TO_SUMMARY, "2", "3")
    data = json.loads(json.dumps(s.state.to_dict()))
    assert State.from_dict(data) == s.state


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"version": 1, "lang": "en", "node": "x"},
        {"version": "v", "lang": "en", "node": "x", "offset": -1},
    ],
)
def test_a_malformed_state_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="malformed state"):
        State.from_dict(data)


def test_input_while_an_effect_is_pending_asks_for_the_effect_again(session: Begin) -> None:
    s = session(*TO_SUMMARY)
    pending = s.raw("1")
    again = step(s.bundle, pending.state, "9", s.ctx)
    assert again.screen is None
    assert again.effects == pending.effects
    assert render_step(s.bundle, pending.state, s.ctx).effects == pending.effects


def test_resume_without_a_pending_effect_is_an_error(session: Begin) -> None:
    s = session()
    with pytest.raises(FlowError, match="no effect is pending"):
        resume(s.bundle, s.state, Outcome(True), s.ctx)


def test_render_step_shows_the_same_screen_and_changes_nothing(session: Begin) -> None:
    s = session("1", "98")
    again = render_step(s.bundle, s.state, s.ctx)
    assert (again.state, again.effects, again.screen) == (s.state, (), s.screen)


def test_inputs_typed_ahead_are_followed_in_order(
    session: Begin, make_ctx: Any, bundle: Any
) -> None:
    ctx = make_ctx()
    found = start(bundle, ctx)
    for typed in TO_SUMMARY:
        found = step(bundle, found.state, typed, ctx)
    assert found.screen is not None
    assert found.screen.text.startswith("Your report:")


def test_the_whole_report_in_french(session: Begin) -> None:
    s = session(*TO_SUMMARY, lang="fr")
    assert s.text.splitlines()[:4] == [
        "Votre signalement :",
        "Accident (blessé/mort)",
        "Bisie",
        "Cette semaine. En danger : Non",
    ]
    s.send("1")
    assert s.text.startswith("Signalement envoyé. Dossier 482-177-3506.")


def test_a_state_standing_on_a_node_that_shows_nothing_is_refused(session: Begin) -> None:
    s = session()
    broken = State(version=s.state.version, lang="en", node="main.start")
    with pytest.raises(FlowError, match=r"cannot stand at 'main\.start'"):
        step(s.bundle, broken, "1", s.ctx)
