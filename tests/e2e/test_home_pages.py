"""Issue 6: the manager's home page shows the team's overdue tasks and stalled deals (zh-Hans
and English screenshots), and a rep creates a follow-up task linked to a deal through the
link field's remote search."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

SETUP = """
from datetime import timedelta
from django.utils import timezone
from salesflow.activities.services import activity_create
from salesflow.parties.services import account_create
from salesflow.sales.models import Opportunity, Stage
from salesflow.sales.services import opportunity_create
from salesflow.users.models import User

rep = User.objects.get(username="rep")
account = account_create(actor=rep, owner=rep, name="首页测试制造有限公司")
stalled = opportunity_create(actor=rep, account=account, owner=rep, name="首页测试产线改造", amount="380000.00")
stage = Stage.objects.get(pk=stalled.stage_id)
Stage.objects.filter(pk=stage.pk).update(rotting_days=stage.rotting_days or 14)
Opportunity.objects.filter(pk=stalled.pk).update(stage_entered_at=timezone.now() - timedelta(days=60))
opportunity_create(actor=rep, account=account, owner=rep, name="首页测试备件采购", amount="52000.00")
activity_create(
    actor=rep, kind="task", subject="首页测试：回电确认预算", account=account,
    due_at=timezone.now() - timedelta(days=3), done=False,
)
"""


@pytest.fixture(scope="module")
def seeded(manage: Callable[..., Any]) -> None:
    manage("shell", "-c", SETUP)


def test_manager_home_shows_the_team(page: Page, login, logout, screenshot, seeded) -> None:
    login(page, "manager")
    page.goto("/")
    team = page.get_by_test_id("my-day-team")
    expect(team).to_be_visible()
    overdue = page.get_by_test_id("my-day-team-overdue")
    expect(overdue).to_contain_text("首页测试：回电确认预算")
    expect(overdue.get_by_test_id("my-day-team-rep").first).to_contain_text("张伟")
    stalled = page.get_by_test_id("my-day-team-stalled")
    expect(stalled).to_contain_text("首页测试产线改造")
    expect(page.get_by_test_id("my-day-all-clear")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text("干得好")
    expect(page.get_by_test_id("my-day-team-title")).to_contain_text("我的团队")
    screenshot("manager-zh")

    page.get_by_test_id("language-switch").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("my-day-team-title")).to_contain_text("My team")
    expect(page.get_by_test_id("my-day-team-stalled")).to_contain_text("Stalled deals")
    screenshot("manager-en")
    # each item opens its record
    page.get_by_test_id("my-day-team-stalled").get_by_text("首页测试产线改造").click()
    page.wait_for_url(re.compile(r"/opportunities/\d+/$"))
    page.get_by_test_id("language-switch").select_option("zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    logout(page)

    login(page, "other_manager")
    page.goto("/")
    expect(page.locator("body")).not_to_contain_text("首页测试：回电确认预算")
    expect(page.locator("body")).not_to_contain_text("首页测试产线改造")


def test_rep_links_a_new_task_to_a_deal_by_search(page: Page, login, screenshot, seeded) -> None:
    login(page, "rep")
    page.goto("/")
    page.get_by_test_id("my-day-new-task").click()
    form = page.get_by_test_id("activity-form")
    expect(form.locator("input[name=done]")).not_to_be_checked()
    form.locator("[name=subject]").fill("首页测试：发送报价单")
    form.locator("[name=due_at]").fill("2099-01-15T10:00")
    # the deal field: a Tom Select searching the deals the rep may see
    wrapper = form.locator("select[name=opportunity] + .ts-wrapper")
    wrapper.scroll_into_view_if_needed()
    wrapper.locator(".ts-control").click()
    page.keyboard.type("备件")
    option = page.locator(".ts-dropdown .option", has_text="首页测试备件采购")
    expect(option).to_be_visible()
    option.click()
    screenshot("task-linked")
    page.get_by_test_id("activity-save").click()
    page.wait_for_url(lambda url: "/create/" not in url)
    page.goto("/activities/?q=首页测试：发送报价单")
    row = page.locator("tr", has_text="首页测试：发送报价单")
    expect(row).to_contain_text("首页测试备件采购")
    expect(row).to_contain_text("首页测试制造有限公司")
