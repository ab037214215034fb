"""Bulk actions and tags in a real browser.

* The manager selects every account on a filtered page — two of his team and one of another
  team shared with him read-write — and reassigns them: the result says two changed and names
  the refused account with its reason; the list refreshes with the new owners.
* The rep tags a deal from its page (htmx tag card) and filters the deal list by the tag.
Screenshots in zh-Hans (the default) and English.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

SEED = """
from salesflow.parties.services import account_create
from salesflow.sales.services import opportunity_create
from salesflow.tags.services import tag_create
from salesflow.users.models import ShareAccess, User
from salesflow.users.services import share_grant
u = {x.username: x for x in User.objects.all()}
account_create(actor=u["rep"], owner=u["rep"], name="批量测试星云科技")
account_create(actor=u["teammate"], owner=u["teammate"], name="批量测试远航物流")
shared = account_create(actor=u["outsider"], owner=u["outsider"], name="批量测试华南贸易")
share_grant(actor=u["outsider"], target=shared, grantee_user=u["manager"], access=ShareAccess.WRITE)
deal_account = account_create(actor=u["rep"], owner=u["rep"], name="标签测试市政设计院")
opportunity_create(actor=u["rep"], account=deal_account, owner=u["rep"], name="标签测试智慧园区项目", amount="880000")
opportunity_create(actor=u["rep"], account=deal_account, owner=u["rep"], name="标签测试运维续约", amount="120000")
tag_create(actor=u["admin"], name="政府项目", colour="orange")
tag_create(actor=u["admin"], name="重点客户", colour="red")
"""


@pytest.fixture(scope="module")
def seeded(manage):  # type: ignore[no-untyped-def]
    manage("shell", "-c", SEED)


def _bulk_reassign(page: Page, owner_label: str) -> None:
    page.get_by_test_id("bulk-select-page").check()
    expect(page.locator("[data-bulk-count]")).to_have_text("3")
    page.get_by_test_id("bulk-action").select_option("assign")
    page.get_by_test_id("bulk-owner").select_option(label=owner_label)
    page.get_by_test_id("bulk-apply").click()


def test_bulk_reassignment_reports_the_refused_row(page: Page, seeded, login, screenshot) -> None:  # type: ignore[no-untyped-def]
    login(page, "manager")
    page.goto("/accounts/?q=批量测试")
    expect(page.get_by_test_id("account-row")).to_have_count(3)
    _bulk_reassign(page, "李娜")
    result = page.get_by_test_id("bulk-result")
    expect(result).to_be_visible()
    expect(page.get_by_test_id("bulk-summary")).to_contain_text("3 条记录中已修改 2 条")
    failures = page.get_by_test_id("bulk-failure")
    expect(failures).to_have_count(1)
    expect(failures).to_contain_text("批量测试华南贸易")
    # the list was refreshed: the refused account keeps its owner, the others have the new one
    expect(page.get_by_test_id("account-row").filter(has_text="批量测试华南贸易")).to_contain_text("刘洋")
    expect(page.get_by_test_id("account-row").filter(has_text="批量测试星云科技")).to_contain_text("李娜")
    screenshot("zh-hans")

    page.get_by_test_id("language-switch").select_option("en")
    page.wait_for_load_state("networkidle")
    page.goto("/accounts/?q=批量测试")
    _bulk_reassign(page, "张伟")
    expect(page.get_by_test_id("bulk-summary")).to_contain_text("2 of 3 records changed.")
    expect(page.get_by_test_id("bulk-failure")).to_contain_text("You may not give this account to someone else.")
    screenshot("en")
    page.get_by_test_id("language-switch").select_option("zh-hans")
    page.wait_for_load_state("networkidle")


def test_tag_a_deal_and_filter_the_list_by_it(page: Page, seeded, login, screenshot) -> None:  # type: ignore[no-untyped-def]
    login(page, "rep")
    page.goto("/opportunities/?q=标签测试智慧园区")
    page.get_by_role("link", name="标签测试智慧园区项目").click()
    page.wait_for_url(re.compile(r"/opportunities/\d+/$"))
    card = page.get_by_test_id("tag-card")
    expect(card).to_be_visible()
    card.get_by_test_id("tag-add-select").select_option(label="政府项目")
    card.get_by_test_id("tag-add").click()
    expect(page.get_by_test_id("tag-card").get_by_test_id("tag-chip")).to_have_text(["政府项目"])
    page.get_by_test_id("tag-card").get_by_test_id("tag-add-name").fill("园区")
    page.get_by_test_id("tag-card").get_by_test_id("tag-add").click()
    expect(page.get_by_test_id("tag-card").get_by_test_id("tag-chip")).to_have_count(2)
    screenshot("detail-zh-hans")

    page.goto("/opportunities/?q=标签测试")
    expect(page.locator("[data-testid^=opportunity-row-]")).to_have_count(2)
    page.get_by_test_id("filter-tag").select_option(label="政府项目")
    expect(page.locator("[data-testid^=opportunity-row-]")).to_have_count(1)
    expect(page.locator("[data-testid^=opportunity-row-]")).to_contain_text("标签测试智慧园区项目")
    expect(page).to_have_url(re.compile(r"tag=\d+"))
    screenshot("list-zh-hans")

    filtered = page.url
    page.get_by_test_id("language-switch").select_option("en")
    page.wait_for_load_state("networkidle")
    page.goto(filtered)
    expect(page.locator("[data-testid^=opportunity-row-]")).to_have_count(1)
    screenshot("list-en")
    page.get_by_test_id("language-switch").select_option("zh-hans")
    page.wait_for_load_state("networkidle")
