"""Issue 11 item 4: the process page draws its charts and the weekly cycle-time control chart
(ECharts canvas) and lists the out-of-control week in the signals table; the control-chart
page does the same. Screenshots in zh-Hans and en."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

SETUP = """
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo
from django.conf import settings
from django.utils import timezone
from salesflow.process.facts import monday, refresh_facts
from salesflow.sales.models import Opportunity, StageChange
from salesflow.sales.tests.factories import make_opportunity, stage
from salesflow.users.models import User
zone = ZoneInfo(settings.TIME_ZONE)
rep = User.objects.get(username="rep")
teammate = User.objects.get(username="teammate")
today = timezone.localdate()
first = monday(today) - timedelta(weeks=12)
steps = ["prospect", "qualification", "needs", "proposal", "won"]
for week in range(12):
    for k in range(3):
        owner = rep if k % 2 == 0 else teammate
        close_day = first + timedelta(weeks=week, days=k)
        cycle = 150 if week == 8 else 10 + (week * 7 + k * 3) % 9
        opp = make_opportunity(owner)
        created = datetime(close_day.year, close_day.month, close_day.day, 9, tzinfo=zone) - timedelta(days=cycle)
        at = created
        for a, b in zip(steps, steps[1:]):
            dur = timedelta(days=cycle / 4)
            at = at + dur
            fs, ts = stage(a), stage(b)
            StageChange.objects.create(opportunity=opp, from_stage=fs, to_stage=ts, changed_at=at,
                duration_seconds=int(dur.total_seconds()), from_position=fs.position, to_position=ts.position,
                owner=owner, owner_team=owner.team, is_regression=False)
        Opportunity.objects.filter(pk=opp.pk).update(created_at=created, stage=stage("won"), outcome="won",
            closed_on=at.astimezone(zone).date(), closed_at=at, stage_entered_at=at)
print(refresh_facts(full=True))
"""


def _wait(page: Page, key: str) -> None:
    expect(page.get_by_test_id(f"process-chart-{key}").locator("canvas")).to_have_count(1, timeout=20000)


def test_process_page_with_control_chart(
    page: Page, login: Callable[..., None], screenshot: Callable[[str], Any], manage: Any
) -> None:
    manage("shell", "-c", SETUP)
    login(page, "manager")
    page.goto("/process/")
    _wait(page, "stage_time")
    _wait(page, "flow")
    _wait(page, "control_cycle_time")
    signals = page.get_by_test_id("process-signals-cycle_time").get_by_test_id("process-signal")
    expect(signals.first).to_be_visible()
    assert signals.count() >= 1
    # the flagged point is drawn: the scatter series holds a value
    flagged = page.evaluate(
        """() => window.salesflowCharts["control_cycle_time"].salesflowData.series[1].data.filter(v => v !== null).length"""
    )
    assert flagged >= 1
    expect(page.locator("h2.page-title")).to_contain_text("流程分析")
    screenshot("process-zh")
    page.get_by_test_id("process-control-link").click()
    _wait(page, "control_win_rate")
    screenshot("control-zh")
    page.get_by_test_id("language-switch").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto("/process/")
    _wait(page, "control_cycle_time")
    expect(page.locator("h2.page-title")).to_contain_text("Process intelligence")
    expect(page.get_by_test_id("process-signals-cycle_time").get_by_test_id("process-signal").first).to_be_visible()
    screenshot("process-en")
    page.goto("/process/control/")
    _wait(page, "control_cycle_time")
    screenshot("control-en")
