"""The console in a real browser: sign in, and what a new admin does on a first day."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect


def test_sign_in_and_out(sign_in: Callable[[str], Page]) -> None:
    page = sign_in("analyst")
    expect(page.get_by_role("navigation", name="Console")).to_contain_text("Cases")
    expect(page.get_by_role("navigation", name="Console")).not_to_contain_text("Flows")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/admin/login")
    page.goto("/admin/")
    page.wait_for_url("**/admin/login?next=*")


def test_a_wrong_password_is_said_plainly(page: Page, accounts: dict[str, str]) -> None:
    page.goto("/admin/login")
    page.get_by_label("Username").fill(accounts["admin"])
    page.get_by_label("Password").fill("not it")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong username or password")
