"""Settings → Pipelines → Stall escalation in a real browser: the administrator adds a step
for the manager's manager after 12 days, changes it to 15, and deletes it; the ladder shows
the day order. Screenshots in zh-Hans (the default) and English."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def test_admin_edits_the_stall_escalation_ladder(page: Page, login, screenshot) -> None:  # type: ignore[no-untyped-def]
    login(page, "admin")
    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("pipeline-settings-link").click()
    page.get_by_test_id("stall-ladder-link").click()
    expect(page.locator("h2.page-title, .page-title").first).to_contain_text("停滞升级")

    form = page.get_by_test_id("stall-step-form")
    form.get_by_test_id("step-days").fill("12")
    form.get_by_test_id("step-notify").select_option("manager_of_manager")
    form.get_by_test_id("stall-step-add").click()
    expect(page.locator(".alert")).to_contain_text("已添加升级步骤")
    row = page.locator("[data-testid=stall-step][data-days='12']")
    expect(row).to_have_count(1)
    days = page.get_by_test_id("stall-step").evaluate_all("rows => rows.map(r => Number(r.dataset.days))")
    assert days == sorted(days)
    screenshot("zh")

    row.get_by_test_id("step-days").fill("15")
    row.get_by_test_id("stall-step-save").click()
    expect(page.locator("[data-testid=stall-step][data-days='15']")).to_have_count(1)

    page.get_by_test_id("language-switch").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("stall-ladder")).to_contain_text("Escalation ladder")
    screenshot("en")
    page.locator("[data-testid=stall-step][data-days='15']").get_by_test_id("stall-step-delete").click()
    expect(page.locator(".alert")).to_contain_text("The escalation step was deleted.")
    expect(page.locator("[data-testid=stall-step][data-days='15']")).to_have_count(0)
