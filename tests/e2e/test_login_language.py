"""A rep logs in, sees the home page, switches the UI language both ways and logs out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_rep_logs_in_switches_language_and_logs_out(page, login, logout, screenshot, live_server_url):
    login(page, "rep")
    expect(page).to_have_url(f"{live_server_url}/")
    html = page.locator("html")
    leads_link = page.locator(".navbar a[href='/leads/']")
    switch = page.get_by_test_id("language-switch")

    # The browser asks for zh-CN, so the first page is Chinese.
    expect(html).to_have_attribute("lang", "zh-hans")
    expect(leads_link).to_contain_text("线索")
    screenshot("home-zh")

    switch.select_option("en")
    expect(html).to_have_attribute("lang", "en")
    expect(leads_link).to_contain_text("Leads")
    expect(page).to_have_url(f"{live_server_url}/")
    screenshot("home-en")

    page.get_by_test_id("language-switch").select_option("zh-hans")
    expect(html).to_have_attribute("lang", "zh-hans")
    expect(leads_link).to_contain_text("线索")

    logout(page)
    expect(page).to_have_url(re.compile(r"/login/"))
    expect(page.locator("input[name='username']")).to_be_visible()
