"""Issue 11 improvement projects: the manager opens a project's page — the before/after chart
and the control chart draw with their limits, the test result is shown — in Chinese and in
English, with screenshots."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

SETUP = """
import datetime as dt
from decimal import Decimal
from django.utils import timezone
from salesflow.improvement.models import Phase
from salesflow.improvement.services import action_create, project_advance, project_control_check, project_create
from salesflow.improvement.tests.helpers import write_exits
from salesflow.sales.tests.factories import stage
from salesflow.users.models import Team, User
today = timezone.localdate()
from salesflow.users.testing import PASSWORD
manager = User.objects.get(username="manager")
# a team of its own under the manager's department: other browser tests move the personas'
# deals through qualification, which would change this project's figures
team = Team.objects.create(name="改进试点组", parent=Team.objects.get(name="销售部"))
rep = User.objects.create_user(username="im_rep", password=PASSWORD, role="rep", team=team, display_name="钱一")
teammate = User.objects.create_user(username="im_mate", password=PASSWORD, role="rep", team=team, display_name="钱二")
before = [6.0, 5.5, 7.0, 6.5, 5.0, 8.0, 6.2, 5.8, 6.4, 5.9, 7.2, 6.1]
after = [3.0, 2.5, 3.5, 2.8, 3.2, 2.9, 3.1, 2.7, 3.3, 3.0, 2.6, 3.4]
write_exits(rep, [(today - dt.timedelta(days=200 - 8 * i), v) for i, v in enumerate(before)])
write_exits(teammate, [(today - dt.timedelta(days=95 - 4 * i), v) for i, v in enumerate(after)])
write_exits(rep, [(today - dt.timedelta(days=10), 11.0)])
p = project_create(actor=manager, today=today, title="缩短资格确认阶段时长", problem="资格确认阶段平均要等6天。",
    metric_key="time_in_stage", stage_id=stage("qualification").pk, node=f"team:{team.pk}", pipeline_id=None,
    industry="", size="", target_value=Decimal("3"), baseline_start=today - dt.timedelta(days=210),
    baseline_end=today - dt.timedelta(days=101), owner_id=manager.pk)
for phase in (Phase.MEASURE, Phase.ANALYSE, Phase.IMPROVE):
    p = project_advance(actor=manager, project=p, to_phase=phase, today=today)
action_create(actor=manager, project=p, today=today, description="材料清单前置", owner_id=rep.pk,
    done_on=today - dt.timedelta(days=100))
p = project_advance(actor=manager, project=p, to_phase=Phase.CONTROL, limits_through=today - dt.timedelta(days=40),
    today=today)
project_control_check(project=p, today=today)
print(p.pk)
"""


def test_manager_reads_the_project_with_its_charts(
    page: Page, login: Callable[..., None], screenshot: Callable[[str], Any], manage: Any
) -> None:
    pk = manage("shell", "-c", SETUP).stdout.strip().splitlines()[-1]
    login(page, "manager")
    page.goto("/improvement/")
    expect(page.get_by_test_id("improvement-row")).to_have_count(1)
    page.get_by_test_id("improvement-row").locator("a").click()
    page.wait_for_url(f"**/improvement/{pk}/")
    expect(page.get_by_test_id("improvement-chart-before_after").locator("canvas")).to_have_count(1, timeout=20000)
    expect(page.get_by_test_id("improvement-chart-control").locator("canvas")).to_have_count(1, timeout=20000)
    expect(page.get_by_test_id("improvement-verdict")).to_contain_text("显著（p < 0.05）")
    expect(page.get_by_test_id("improvement-drifted")).to_be_visible()
    limits = page.evaluate(
        """() => window.salesflowCharts["control"].getOption().series[0].markLine.data.map(d => d.yAxis)"""
    )
    assert len([v for v in limits if v is not None]) == 3
    screenshot("project-zh")
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": page.url}])
    page.reload()
    expect(page.get_by_test_id("improvement-verdict")).to_contain_text("Significant")
    expect(page.get_by_test_id("improvement-chart-control").locator("canvas")).to_have_count(1, timeout=20000)
    screenshot("project-en")
