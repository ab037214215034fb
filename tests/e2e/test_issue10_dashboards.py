"""Issue 10 dashboards: the manager dashboard renders its ECharts charts; a click on a bar of
"won and lost by month" (dispatched through the ECharts instance) opens the deals behind it,
whose count equals the bar. Screenshots of the manager and rep dashboards in both languages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

SETUP = """
from django.utils import timezone
from salesflow.sales.choices import Outcome
from salesflow.sales.services import opportunity_close
from salesflow.sales.tests.factories import make_opportunity
from salesflow.users.models import User
rep = User.objects.get(username="rep")
teammate = User.objects.get(username="teammate")
today = timezone.localdate()
for owner, amount in ((rep, "120000.00"), (rep, "45000.00"), (teammate, "80000.00")):
    opp = make_opportunity(owner, amount=amount, expected_close_date=today)
    opportunity_close(actor=owner, opportunity=opp, outcome=Outcome.WON, closed_on=today)
for owner, amount in ((rep, "300000.00"), (teammate, "150000.00")):
    make_opportunity(owner, amount=amount, expected_close_date=today)
print("ok")
"""


def _wait_charts(page: Page) -> None:
    expect(page.get_by_test_id("dashboards-chart-won_lost").locator("canvas")).to_have_count(1, timeout=20000)
    expect(page.get_by_test_id("dashboards-chart-pipeline").locator("canvas")).to_have_count(1, timeout=20000)


def test_manager_dashboard_drills_down_to_the_deals(
    page: Page, login: Callable[..., None], screenshot: Callable[[str], Any], manage: Any
) -> None:
    manage("shell", "-c", SETUP)
    login(page, "manager")
    page.goto("/dashboards/")
    _wait_charts(page)
    expect(page.get_by_test_id("dashboards-card-activity")).to_be_visible()
    screenshot("manager-dashboard")
    figure = page.evaluate(
        """() => {
        const chart = window.salesflowCharts["won_lost"];
        const data = chart.salesflowData;
        const i = data.categories.length - 1;
        const value = Number(data.series[0].data[i]);
        chart.trigger("click", {componentType: "series", seriesIndex: 0, dataIndex: i});
        return value;
    }"""
    )
    assert figure >= 3
    page.wait_for_url("**/dashboards/records/**")
    count = page.get_by_test_id("dashboards-records-count")
    expect(count).to_have_attribute("data-count", str(int(figure)))
    expect(page.get_by_test_id("dashboards-records").locator("tbody tr")).to_have_count(int(figure))
    screenshot("records-behind-won-deals")
    # the table view: toggle and follow a link
    page.go_back()
    _wait_charts(page)
    page.get_by_test_id("dashboards-toggle-pipeline").click()
    expect(page.get_by_test_id("dashboards-table-pipeline")).to_be_visible()


def test_dashboards_in_english_and_rep_view(
    page: Page, login: Callable[..., None], screenshot: Callable[[str], Any], manage: Any
) -> None:
    login(page, "manager")
    page.goto("/dashboards/")
    _wait_charts(page)
    screenshot("manager-dashboard-zh")
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": page.url}])
    page.goto("/dashboards/")
    _wait_charts(page)
    expect(page.get_by_text("Won and lost by month")).to_be_visible()
    screenshot("manager-dashboard-en")
    page.context.clear_cookies()
    login(page, "rep")
    page.goto("/dashboards/")
    _wait_charts(page)
    expect(page.get_by_test_id("dashboards-card-activity")).to_have_count(0)
    screenshot("rep-dashboard-zh")
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": page.url}])
    page.goto("/dashboards/")
    _wait_charts(page)
    screenshot("rep-dashboard-en")
