"""The case page's incident box: the other reports of the case's incident (number, status,
when, linked how), confirming a suggested link, unlinking, linking with another case by
number, and naming the case a duplicate repeats; each action audited and CSRF-protected,
every refusal a 4xx that changes nothing; an analyst sees the box, no free text, no form."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage import incidents
from storage.casenumber import display
from storage.models import Case, CaseDuplicate, LinkState
from storage.users import audit_entries
from tests.admin.conftest import Browser
from tests.api.conftest import DESCRIPTION, NOTE, PLACE_TEXT

BISIE, MPAMA = "cd-nk-walikale-bisie", "cd-nk-walikale-mpama"


def link_state(db: sessionmaker[Session], number: str) -> tuple[str | None, str | None]:
    with db() as session:
        case = session.scalar(select(Case).where(Case.number == number))
        assert case is not None
        link = incidents.link_of(session, case.id)
        return (None, None) if link is None else (link.incident.number, link.state)


def act(user: Browser, number: str, action: str, **form: str) -> str:
    response = user.post(f"/admin/cases/{number}/{action}", form)
    assert response.status_code == 303, response.text[:500]
    page = user.follow(response)
    assert page.status_code == 200
    return page.text


def test_the_box_lists_the_incident_reports_and_a_person_confirms(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    first, second = file_case(place=BISIE), file_case(place=BISIE)
    coordinator = browser("coordinator")
    page = coordinator.get(f"/admin/cases/{second}").text
    assert f"Incident {display(first)}: Illegal tax at Bisie, 2 reports." in page
    assert f'<a href="/admin/cases/{first}">{display(first)}</a>' in page
    assert "suggested: same category and place" in page
    assert f"/admin/cases/{second}/link/confirm" in page
    confirmed = act(coordinator, second, "link/confirm")
    assert f"Link to incident {display(first)} confirmed." in confirmed
    assert link_state(db, second) == (first, LinkState.CONFIRMED)
    assert "/link/confirm" not in confirmed
    again = coordinator.post(f"/admin/cases/{second}/link/confirm")
    assert again.status_code == 303
    with db() as session:
        entries = audit_entries(session=session, action="case.link_confirm")
    assert [(e.actor, e.target, e.data) for e in entries] == [
        ("cora", second, {"changed": False, "incident": first}),
        ("cora", second, {"changed": True, "incident": first}),
    ]


def test_unlink_then_link_with_another_case_by_number(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    first, second = file_case(place=BISIE), file_case(place=BISIE)
    elsewhere = file_case(place=MPAMA)
    admin = browser("admin")
    page = act(admin, second, "unlink")
    assert f"Case taken out of incident {display(first)}." in page
    assert "This case is in no incident" in page
    assert link_state(db, second) == (None, None)
    page = act(admin, elsewhere, "link", other=display(second))
    # A new incident, named after the older of the two.
    assert f"Linked: incident {display(second)} now holds 2 reports." in page
    assert link_state(db, elsewhere) == (second, LinkState.CONFIRMED)
    assert link_state(db, first) == (first, LinkState.SUGGESTED)
    with db() as session:
        [unlinked] = audit_entries(session=session, action="case.unlink")
        [linked] = audit_entries(session=session, action="case.link")
    assert (unlinked.target, unlinked.data) == (second, {"changed": True, "incident": first})
    assert (linked.target, linked.data) == (
        elsewhere,
        {"changed": True, "incident": second, "with": second},
    )


def test_refusals_change_nothing(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    alone = file_case(place=MPAMA)
    admin = browser("admin")
    answers = {
        "unknown": admin.post(f"/admin/cases/{alone}/link", {"other": "123-456-7890"}),
        "itself": admin.post(f"/admin/cases/{alone}/link", {"other": alone}),
        "not linked": admin.post(f"/admin/cases/{alone}/unlink"),
        "nothing to confirm": admin.post(f"/admin/cases/{alone}/link/confirm"),
        "no token": admin.post(f"/admin/cases/{alone}/unlink", csrf=False),
        "analyst": browser("analyst").post(f"/admin/cases/{alone}/link", {"other": alone}),
        "duplicate of itself": admin.post(
            f"/admin/cases/{alone}/close", {"outcome": "duplicate", "duplicate_of": alone}
        ),
        "original of another outcome": admin.post(
            f"/admin/cases/{alone}/close", {"outcome": "resolved", "duplicate_of": alone}
        ),
    }
    assert {name: r.status_code for name, r in answers.items()} == {
        "unknown": 422,
        "itself": 409,
        "not linked": 409,
        "nothing to confirm": 409,
        "no token": 403,
        "analyst": 403,
        "duplicate of itself": 422,
        "original of another outcome": 422,
    }
    assert "No case has this number" in answers["unknown"].text
    assert "in no incident" in answers["not linked"].text
    assert link_state(db, alone) == (None, None)
    with db() as session:
        case = session.scalar(select(Case).where(Case.number == alone))
        assert case is not None
        assert case.status != "closed"
        assert session.get(CaseDuplicate, case.id) is None
        assert audit_entries(session=session, action="case.link") == []


def test_an_analyst_sees_the_box_without_free_text_or_forms(
    browser: Callable[[str], Browser], file_case: Callable[..., str]
) -> None:
    first, second = file_case(place=BISIE), file_case(place=BISIE)
    page = browser("analyst").get(f"/admin/cases/{second}").text
    assert f"Incident {display(first)}" in page
    for text in (DESCRIPTION, PLACE_TEXT, NOTE):
        assert text not in page
    for form in ("/link/confirm", "/unlink", f"/admin/cases/{second}/link"):
        assert form not in page


def test_a_duplicate_closing_names_the_case_it_repeats(
    browser: Callable[[str], Browser], file_case: Callable[..., str], db: sessionmaker[Session]
) -> None:
    original, duplicate = file_case(place=MPAMA), file_case(place=BISIE)
    coordinator = browser("coordinator")
    page = act(coordinator, duplicate, "close", outcome="duplicate", duplicate_of=display(original))
    assert f"Case closed as a duplicate of {display(original)}." in page
    assert f'Duplicate of</dt><dd><a href="/admin/cases/{original}">' in page
    assert "Duplicated by" in coordinator.get(f"/admin/cases/{original}").text
    with db() as session:
        [entry] = audit_entries(session=session, action="case.close")
    assert entry.data["duplicate_of"] == original
    assert entry.data["outcome"] == "duplicate"


@pytest.mark.parametrize("role", ["admin", "coordinator"])
def test_a_closed_case_can_still_be_linked(
    browser: Callable[[str], Browser], file_case: Callable[..., str], role: str
) -> None:
    first, other = file_case(place=MPAMA), file_case(place=BISIE)
    user = browser(role)
    act(user, first, "close", outcome="resolved")
    page = act(user, first, "link", other=other)
    assert f"Incident {display(first)}" in page
