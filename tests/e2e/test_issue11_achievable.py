"""Issue 11 item 3: the likely-revenue page draws its distribution and the reliability
diagram (ECharts canvases), shows P10/P50/P90 with the closed revenue, and reads naturally in
Chinese and English (screenshots)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

SETUP = """
import random
from datetime import timedelta
from django.utils import timezone
from salesflow.sales.models import LostReason, Opportunity
from salesflow.sales.services import opportunity_close
from salesflow.sales.tests.factories import make_opportunity, stage
from salesflow.users.models import User
rng = random.Random(5)
today = timezone.localdate()
reason = LostReason.objects.get(code="price")
people = [User.objects.get(username=u) for u in ("rep", "teammate", "outsider")]
codes = ["prospect", "qualification", "needs", "proposal", "negotiation"]
for i in range(120):
    owner = people[i % 3]
    code = codes[i % 5]
    opp = make_opportunity(owner, amount=rng.randrange(20, 400) * 1000, stage_code=code,
                           expected_close_date=today - timedelta(days=rng.randrange(0, 40)))
    Opportunity.objects.filter(pk=opp.pk).update(stage_entered_at=timezone.now() - timedelta(days=rng.randrange(1, 120)))
    opp.refresh_from_db()
    won = rng.random() < 0.15 + 0.15 * codes.index(code)
    if won:
        opportunity_close(actor=owner, opportunity=opp, outcome="won", closed_on=today - timedelta(days=rng.randrange(0, 3)))
    else:
        opportunity_close(actor=owner, opportunity=opp, outcome="lost", closed_on=today, lost_reason=reason)
for i in range(40):
    owner = people[i % 3]
    opp = make_opportunity(owner, amount=rng.randrange(20, 400) * 1000, stage_code=codes[i % 5],
                           expected_close_date=today + timedelta(days=rng.randrange(-10, 60)))
    Opportunity.objects.filter(pk=opp.pk).update(stage_entered_at=timezone.now() - timedelta(days=rng.randrange(1, 60)),
                                                 description="[e2e:achievable]")
from salesflow.achievable.services import calibration_compute, refresh_snapshots
calibration_compute()
print(refresh_snapshots())
"""


def _wait(page: Page) -> None:
    for key in ("distribution", "reliability", "stages"):
        expect(page.get_by_test_id(f"dashboards-chart-{key}").locator("canvas")).to_have_count(1, timeout=20000)


def test_likely_revenue_page_in_both_languages(
    page: Page, login: Callable[..., None], screenshot: Callable[[str], Any], manage: Any
) -> None:
    manage("shell", "-c", SETUP)
    try:
        _check(page, login, screenshot, manage)
    finally:
        # the open deals would otherwise sit on the personas' boards in later browser tests
        manage("shell", "-c", CLEANUP)


CLEANUP = """
from salesflow.sales.models import Opportunity
print(Opportunity.objects.filter(description="[e2e:achievable]", outcome="open").delete()[0])
"""


def _computed(page: Page, manage: Any) -> None:
    """The first visit shows "computing" and enqueues the simulation (the test server runs no
    worker): run the queue once; the card's polling then reloads the page with the figures."""
    if page.get_by_test_id("achievable-computing").count():
        manage("worker", "--batch", "--no-startup-delay", "--interval", "0")
    _wait(page)


def _check(page: Page, login: Callable[..., None], screenshot: Callable[[str], Any], manage: Any) -> None:
    login(page, "manager")
    page.goto("/likely-revenue/")
    _computed(page, manage)
    expect(page.get_by_test_id("achievable-p50")).to_contain_text("¥")
    expect(page.locator("h2.page-title")).to_contain_text("最可能实现的收入")
    page.set_viewport_size({"width": 1400, "height": 2200})
    screenshot("likely-revenue-zh")
    # the reliability diagram plots value axes and the diagonal
    axis = page.evaluate('() => window.salesflowCharts["reliability"].getOption().xAxis[0].type')
    assert axis == "value"
    page.get_by_test_id("dashboards-toggle-reliability").click()
    expect(page.get_by_test_id("dashboards-table-reliability")).to_be_visible()
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": page.url}])
    page.goto("/likely-revenue/?span=quarter")
    _computed(page, manage)
    expect(page.get_by_text("Reliability diagram")).to_be_visible()
    screenshot("likely-revenue-en")
    page.get_by_test_id("achievable-recompute").click()
    _wait(page)
