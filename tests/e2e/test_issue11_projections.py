"""Issue 11 item 2: the revenue-forecast page draws history + forecast with ECharts and shows
the backtest table with the chosen model highlighted; screenshots in Chinese and English."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

SETUP = """
from datetime import timedelta
from django.utils import timezone
from salesflow.analytics.selectors import Node
from salesflow.projections.services import compute_node
from salesflow.sales.choices import Outcome
from salesflow.sales.services import opportunity_close
from salesflow.sales.tests.factories import make_opportunity
from salesflow.users.models import Team, User
rep = User.objects.get(username="rep")
outsider = User.objects.get(username="outsider")
today = timezone.localdate()
month = today.replace(day=1)
for k in range(1, 25):
    month = (month - timedelta(days=1)).replace(day=1)
    season = 1.6 if month.month in (6, 12) else 1.0
    for owner, base in ((rep, 80000), (outsider, 50000)):
        amount = f"{base * season + (k * 7919) % 20000:.2f}"
        opp = make_opportunity(owner, amount=amount)
        opportunity_close(actor=owner, opportunity=opp, outcome=Outcome.WON, closed_on=month + timedelta(days=(k * 3) % 25))
compute_node(Node("company"), today, metrics=("won_revenue",))
team = Team.objects.get(name="华东一组")
compute_node(Node("team", team.pk, team.name), today, metrics=("won_revenue",))
print("ok")
"""


def test_revenue_forecast_page(
    page: Page, login: Callable[..., None], screenshot: Callable[[str], Any], manage: Any
) -> None:
    done = manage("shell", "-c", SETUP)
    assert "ok" in done.stdout, done.stderr[-2000:]
    login(page, "admin")
    page.goto("/revenue-forecast/")
    expect(page.get_by_test_id("projections-chart").locator("canvas")).to_have_count(1, timeout=20000)
    expect(page.get_by_test_id("projections-chosen-row")).to_have_count(1)
    expect(page.get_by_test_id("projections-backtest").locator("tbody tr")).to_have_count(4)
    screenshot("forecast-zh")
    page.goto("/revenue-forecast/?freq=W")
    expect(page.get_by_test_id("projections-chart").locator("canvas")).to_have_count(1, timeout=20000)
    screenshot("forecast-weekly-zh")
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": page.url}])
    page.goto("/revenue-forecast/")
    expect(page.get_by_test_id("projections-chart").locator("canvas")).to_have_count(1, timeout=20000)
    expect(page.get_by_role("heading", name="Won revenue, Per month")).to_be_visible()
    screenshot("forecast-en")
    series = page.evaluate("() => window.salesflowCharts['revenue_forecast'].salesflowData.series.map(s => s.name)")
    assert series[:2] == ["Actual", "Forecast"]
