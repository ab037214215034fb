"""Global search in a real browser: "/" focuses the header box, a mobile number typed with
spaces shows the contact in the grouped dropdown, Enter opens the results page, a click opens
the record; in Chinese and in English; a colleague of another team finds nothing."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ROOT, SCREENSHOTS, _slug

pytestmark = pytest.mark.e2e

SEED = """
import django; django.setup()
from salesflow.users.models import User
from salesflow.parties.services import account_create, contact_create
rep = User.objects.get(username="rep")
account = account_create(actor=rep, owner=rep, name="上海搜索测试科技有限公司")
contact_create(actor=rep, account=account, name="王芳", title="采购经理", mobile="13800138000", email="wangfang@example.com")
"""


@pytest.fixture(scope="module")
def seeded(e2e_server):
    import subprocess
    import sys

    subprocess.run([sys.executable, "-c", SEED], cwd=ROOT, env=e2e_server.env, check=True)
    return True


def _search_with_slash(page: Page, text: str) -> None:
    page.locator("body").click(position={"x": 5, "y": 300})  # focus on the page, not in a field
    page.keyboard.press("/")
    box = page.get_by_test_id("global-search")
    expect(box).to_be_focused()
    page.keyboard.type(text, delay=30)


def test_find_a_contact_by_mobile_typed_with_spaces(page: Page, browser, live_server_url, login, seeded, screenshot):
    login(page, "rep")
    page.goto("/")
    _search_with_slash(page, "138 0013 8000")
    menu = page.get_by_test_id("global-search-menu")
    expect(menu).to_be_visible()
    expect(menu.get_by_test_id("global-search-group-contact")).to_have_text(re.compile("联系人"))
    hit = menu.get_by_test_id("global-search-hit").first
    expect(hit).to_contain_text("王芳")
    expect(hit).to_contain_text("上海搜索测试科技有限公司")
    screenshot("dropdown-zh")
    hit.click()
    page.wait_for_url(re.compile(r"/contacts/\d+/$"))
    expect(page.locator("body")).to_contain_text("王芳")

    # the results page, grouped, with the company name
    page.goto("/search/?q=搜索测试")
    expect(page.get_by_test_id("search-group-account")).to_contain_text("上海搜索测试科技有限公司")
    expect(page.get_by_test_id("search-group-contact")).to_contain_text("王芳")
    screenshot("results-zh")

    # "/" typed inside a field is just a character
    page.get_by_test_id("search-page-input").fill("")
    page.get_by_test_id("search-page-input").type("a/b")
    expect(page.get_by_test_id("search-page-input")).to_have_value("a/b")


def test_english_and_refused_for_another_team(browser, live_server_url, login, seeded, request):
    context = browser.new_context(base_url=live_server_url, locale="en-US", viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        login(page, "manager")
        page.goto("/")
        _search_with_slash(page, "+86 138-0013-8000")
        menu = page.get_by_test_id("global-search-menu")
        expect(menu.get_by_test_id("global-search-group-contact")).to_have_text(re.compile("Contacts"))
        expect(menu.get_by_test_id("global-search-hit").first).to_contain_text("王芳")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{_slug(request.node.name)}-dropdown-en.png"), full_page=True)
        page.keyboard.press("Enter")  # the box's form: the full results page
        page.wait_for_url(re.compile(r"/search/\?q="))
        expect(page.get_by_test_id("search-group-contact")).to_contain_text("王芳")
        page.screenshot(path=str(SCREENSHOTS / f"{_slug(request.node.name)}-results-en.png"), full_page=True)
        page.context.clear_cookies()

        login(page, "outsider")
        page.goto("/search/?q=138+0013+8000")
        expect(page.get_by_test_id("search-empty")).to_be_visible()
        expect(page.get_by_test_id("search-hit")).to_have_count(0)
    finally:
        context.close()
