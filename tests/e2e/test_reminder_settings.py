"""Reminder settings (issue 9) in a real browser: the administrator opens them from the user
menu, a negative day is refused with the error under its field and nothing is saved, valid
days are saved and read back, in Chinese and in English; a rep is refused the page. The
test puts the settings back as it found them (they are company-wide)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

FIELDS = ("payment_days_before", "payment_days_after", "renewal_reminder_days")


def _form_values(page: Page) -> dict[str, str]:
    form = page.get_by_test_id("reminder-settings-form")
    return {name: form.locator(f"input[name={name}]").input_value() for name in FIELDS}


def _save(page: Page, values: dict[str, str]) -> None:
    form = page.get_by_test_id("reminder-settings-form")
    for name, value in values.items():
        form.locator(f"input[name={name}]").fill(value)
    page.get_by_test_id("reminder-settings-save").click()


def test_admin_edits_reminder_days_and_a_rep_may_not(
    page: Page, login: Callable[..., None], logout: Callable[[Page], None], screenshot: Callable[[str], Any]
) -> None:
    login(page, "admin")
    page.goto("/")
    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("reminder-settings-link").click()
    expect(page).to_have_url("/billing/settings/reminders/")
    original = _form_values(page)
    try:
        # a negative day: 400, the error under the field, nothing saved
        _save(page, {"payment_days_before": "-3", "payment_days_after": "1, 7", "renewal_reminder_days": "45"})
        form = page.get_by_test_id("reminder-settings-form")
        expect(form.locator(".invalid-feedback")).to_have_count(1)
        # the error sits in the block of the field it names
        block = form.locator("div.mb-3", has=page.locator("input[name=payment_days_before]"))
        expect(block.locator(".invalid-feedback")).to_contain_text("365")
        screenshot("reminder-settings-refused-zh")
        page.goto("/billing/settings/reminders/")
        assert _form_values(page) == original

        # valid days: saved, shown normalised on the next visit
        _save(page, {"payment_days_before": "1, 7", "payment_days_after": "1, 7, 30", "renewal_reminder_days": "45"})
        expect(page.locator("#messages .alert-success")).to_be_visible()
        saved = _form_values(page)
        assert saved == {"payment_days_before": "7, 1", "payment_days_after": "1, 7, 30", "renewal_reminder_days": "45"}
        screenshot("reminder-settings-saved-zh")
        page.get_by_test_id("language-switch").select_option("en")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.get_by_text("Contract renewal reminder: days before the end date")).to_be_visible()
        screenshot("reminder-settings-en")
    finally:
        page.goto("/billing/settings/reminders/")
        _save(page, original)
    logout(page)

    login(page, "rep")
    response = page.goto("/billing/settings/reminders/")
    assert response is not None and response.status == 403
