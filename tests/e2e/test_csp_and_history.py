"""Under the strict Content-Security-Policy the pages raise no violation and keep working
(searchable selects, auto-submitting selects, htmx lists), and Back after an htmx search
restores the whole leads page, not a bare table."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

PAGES = ["/", "/leads/", "/accounts/", "/contacts/", "/opportunities/", "/opportunities/board/", "/activities/"]


def test_pages_raise_no_csp_violation(page: Page, login) -> None:
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.on("pageerror", lambda exc: violations.append(str(exc)))
    login(page, "rep")
    for path in [*PAGES, "/settings/preferences/", "/api/v1/docs"]:
        page.goto(path)
        page.wait_for_load_state("networkidle")
    assert violations == []


def test_language_switch_submits_without_inline_handlers(page: Page, login, live_server_url: str) -> None:
    login(page, "rep")
    page.get_by_test_id("language-switch").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_back_after_an_htmx_search_restores_the_whole_page(page: Page, login) -> None:
    login(page, "rep")
    page.goto("/leads/")
    search = page.get_by_test_id("lead-search")  # not the header's global search box
    search.fill("first-search")
    page.wait_for_url(re.compile(r"q=first-search"))
    search.fill("second-search")
    page.wait_for_url(re.compile(r"q=second-search"))
    # A cold history cache (as after a reload): htmx asks the server to restore the entry,
    # with HX-History-Restore-Request, and must get the whole page back, not the table.
    page.evaluate("localStorage.clear(); sessionStorage.clear()")
    page.go_back()
    page.wait_for_url(re.compile(r"q=first-search"))
    expect(page.locator(".navbar")).to_be_visible()
    expect(page.get_by_test_id("lead-filter-form")).to_be_visible()
