"""Sharing in a real browser: the rep shares a lead with a colleague of another team through
the "Shared with" card (htmx), the colleague then opens it, and the rep revokes the share."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def test_rep_shares_a_lead_and_revokes_it(page: Page, login, logout, screenshot) -> None:
    login(page, "rep")
    page.goto("/leads/")
    page.get_by_test_id("lead-create").click()
    form = page.get_by_test_id("lead-form")
    form.locator("[name=name]").fill("韩梅梅")
    form.locator("[name=company_name]").fill("苏州共享测试有限公司")
    form.locator("[name=mobile]").fill("13900001111")
    form.locator("[name=source_channel]").select_option("inbound")
    page.get_by_test_id("lead-submit").click()
    page.wait_for_url(re.compile(r"/leads/\d+/$"))
    lead_url = page.url

    card = page.get_by_test_id("share-card")
    expect(card).to_be_visible()
    card.locator("select[name=user]").select_option(label="刘洋")
    card.locator("select[name=access]").select_option("write")
    card.locator("button[type=submit]").click()
    expect(page.get_by_test_id("share-row")).to_have_count(1)
    expect(page.get_by_test_id("share-row")).to_contain_text("刘洋")
    screenshot("shared")

    logout(page)
    login(page, "outsider")
    page.goto(lead_url)
    expect(page.get_by_test_id("lead-name")).to_have_text("韩梅梅")
    expect(page.get_by_test_id("share-form")).to_have_count(0)  # grantees cannot reshare

    logout(page)
    login(page, "rep")
    page.goto(lead_url)
    page.get_by_test_id("share-revoke").click()
    expect(page.get_by_test_id("share-row")).to_have_count(0)
    logout(page)
    login(page, "outsider")
    response = page.goto(lead_url)
    assert response is not None and response.status == 404
