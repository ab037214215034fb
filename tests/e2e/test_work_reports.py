"""Daily reports in a real browser (issue 7): the rep opens today's daily report, finds the
activity they completed pre-filled, writes plans and submits; the manager finds it on the
team page and comments inline (htmx); the rep reads the comment."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

SUBJECT = "拜访星云日报测试"
SEED = (
    "import django; django.setup()\n"
    "from datetime import timedelta\n"
    "from django.utils import timezone\n"
    "from salesflow.activities.models import Activity\n"
    "from salesflow.users.models import User\n"
    "rep = User.objects.get(username='rep')\n"
    f"Activity.objects.create(owner=rep, kind='visit', subject='{SUBJECT}', done=True,"
    " done_at=timezone.now() - timedelta(minutes=2))\n"
)


def test_rep_submits_a_prefilled_daily_report_and_the_manager_comments(
    page: Page, login, logout, screenshot, manage
) -> None:
    manage("shell", "-c", SEED)
    login(page, "rep")
    page.get_by_test_id("nav-more").click()
    page.get_by_test_id("nav-work-reports").click()
    page.wait_for_url(re.compile(r"/work-reports/$"))
    page.get_by_test_id("open-daily").click()
    page.wait_for_url(re.compile(r"/work-reports/\d+/$"))
    report_url = page.url
    expect(page.get_by_test_id("facts-activity").filter(has_text=SUBJECT)).to_have_count(1)
    form = page.get_by_test_id("report-form")
    form.locator("[name=summary]").fill("拜访了星云，客户对方案满意。")
    form.locator("[name=plans]").fill("明天发正式报价，约技术交流。")
    page.get_by_test_id("report-submit").click()
    page.wait_for_url(report_url)
    expect(page.get_by_test_id("report-plans")).to_have_text("明天发正式报价，约技术交流。")
    expect(page.get_by_test_id("report-form")).to_have_count(0)
    screenshot("submitted")

    logout(page)
    login(page, "manager")
    page.goto("/work-reports/team/")
    row = page.locator("[data-testid=team-row][data-person=rep]")
    expect(row.get_by_test_id("report-status")).to_have_text("已提交")
    # not submitted (or, on a weekend, not expected)
    teammate = page.locator("[data-testid=team-row][data-person=teammate]")
    expect(teammate.get_by_test_id("report-status")).to_have_text(re.compile("未提交|无需提交"))
    row.get_by_test_id("team-row-expand").click()
    body = page.get_by_test_id("team-report-body").first
    expect(body.get_by_test_id("team-report-plans")).to_have_text("明天发正式报价，约技术交流。")
    body.locator("textarea[name=body]").fill("很好，报价前先和我过一下价格。")
    body.get_by_test_id("comment-submit").click()
    expect(body.get_by_test_id("report-comment-body")).to_have_text("很好，报价前先和我过一下价格。")
    screenshot("team")

    logout(page)
    login(page, "rep")
    page.goto(report_url)
    expect(page.get_by_test_id("report-status")).to_have_text("已批注")
    expect(page.get_by_test_id("report-comment-body")).to_have_text("很好，报价前先和我过一下价格。")
