"""Issue 7: a rep checks in at a planned visit with the browser's position, completes it
(the visit's rules make outcome and next follow-up required) and the next visit is planned;
the calendar feed page gives a URL that serves ICS."""

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
from salesflow.parties.services import account_create, account_update
from salesflow.users.models import User

rep = User.objects.get(username="rep")
account = account_create(actor=rep, owner=rep, name="签到测试精密机械有限公司")
account_update(actor=rep, account=account, grade="A")
activity_create(
    actor=rep, kind="visit", subject="签到测试：拜访采购部", account=account,
    due_at=timezone.now() + timedelta(hours=1), done=False,
)
"""


@pytest.fixture(scope="module")
def seeded(manage: Callable[..., Any]) -> None:
    manage("shell", "-c", SETUP)


def test_visit_check_in_complete_and_calendar(page: Page, login, screenshot, seeded) -> None:  # type: ignore[no-untyped-def]
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": 31.2304, "longitude": 121.4737})
    login(page, "rep")
    page.goto("/activities/?q=签到测试")
    page.get_by_role("link", name="签到测试：拜访采购部").first.click()
    form = page.get_by_test_id("activity-check-in-form")
    expect(form).to_contain_text("31.230400")  # the position the browser found
    page.get_by_test_id("activity-check-in-submit").click()
    expect(page.get_by_test_id("activity-check-in")).to_contain_text("31.230400")
    screenshot("checked-in")

    # completing a visit needs an outcome and a next follow-up date (seeded rules)
    complete = page.get_by_test_id("activity-complete-form")
    expect(complete.locator("textarea[name=outcome]")).to_have_attribute("required", re.compile(".*"))
    complete.locator("textarea[name=outcome]").fill("见到了采购经理，确认了需求")
    complete.locator("input[name=next_follow_up]").fill("2099-01-05")
    page.get_by_test_id("activity-complete-submit").click()
    expect(page.get_by_test_id("activity-outcome")).to_contain_text("确认了需求")

    page.goto("/activities/?q=签到测试")
    expect(page.locator("body")).to_contain_text("跟进：签到测试：拜访采购部")

    page.goto("/settings/calendar/")
    page.get_by_test_id("calendar-create").click()
    url = page.get_by_test_id("calendar-url").input_value()
    assert re.search(r"/calendar/cal_[\w-]+\.ics$", url)
    response = page.request.get(url)
    assert response.status == 200 and "BEGIN:VCALENDAR" in response.text()
    screenshot("calendar")
