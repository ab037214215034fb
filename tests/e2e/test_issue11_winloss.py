"""Issue 11 win/loss drivers: the manager opens the page, the figures load by htmx and ECharts
draws the win rate per source with interval whiskers; the table view labels each difference
(significant / too few cases) in Chinese and in English. Screenshots in both languages."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

SHOTS = Path(__file__).resolve().parents[2] / "shots"

SETUP = """
from django.utils import timezone
from salesflow.activities.models import Activity
from salesflow.sales.choices import Outcome
from salesflow.sales.models import LostReason
from salesflow.sales.services import opportunity_close
from salesflow.sales.tests.factories import make_account, make_opportunity
from salesflow.users.models import Team, User
from salesflow.users.testing import PASSWORD
# a team of its own (other browser tests close deals for the personas' teams this month)
team = Team.objects.create(name="赢单分析组")
boss = User.objects.create_user(username="wl_manager", password=PASSWORD, role="manager", team=team, display_name="吴经理")
team.manager = boss
team.save()
rep = User.objects.create_user(username="wl_rep", password=PASSWORD, role="rep", team=team, display_name="郑一")
teammate = User.objects.create_user(username="wl_mate", password=PASSWORD, role="rep", team=team, display_name="郑二")
today = timezone.localdate()
reason = LostReason.objects.filter(is_active=True).first()
groups = (("referral", "it", "large", 24, 18, 3), ("outbound", "retail", "small", 24, 7, 0), ("partner", "finance", "medium", 14, 7, 1), ("", "", "", 5, 2, 0))
for source, industry, size, n, won, acts in groups:
    for i in range(n):
        owner = rep if i % 2 else teammate
        account = make_account(owner)
        account.source, account.industry, account.size = source, industry, size
        account.save(update_fields=["source", "industry", "size"])
        opp = make_opportunity(owner, account=account, amount="10000.00")
        for k in range(acts + i % 3):
            Activity.objects.create(owner=owner, kind="call", subject="跟进", opportunity=opp, done=True, done_at=timezone.now())
        opportunity_close(actor=owner, opportunity=opp, outcome=Outcome.WON if i < won else Outcome.LOST, closed_on=today, lost_reason=None if i < won else reason)
print("ok")
"""


def _wait(page: Page, manage: Any) -> None:
    """The first visit of a view shows "computing" and enqueues the figures (the test server
    runs no worker): run the queue once; the card's polling then shows the figures."""
    computing = page.get_by_test_id("winloss-computing")
    expect(computing.or_(page.get_by_test_id("winloss-figures"))).to_be_visible(timeout=30000)
    if computing.count():
        manage("worker", "--batch", "--no-startup-delay", "--interval", "0")
    expect(page.get_by_test_id("winloss-chart-source").locator("canvas")).to_have_count(1, timeout=90000)


def _shot(screenshot: Callable[[str], Any], name: str) -> None:
    path = screenshot(name)
    SHOTS.mkdir(exist_ok=True)
    shutil.copy(path, SHOTS / f"winloss-{name}.png")


def test_manager_reads_win_loss_drivers_in_both_languages(
    page: Page, login: Callable[..., None], screenshot: Callable[[str], Any], manage: Any
) -> None:
    manage("shell", "-c", SETUP)
    login(page, "wl_manager")
    page.goto("/winloss/")
    _wait(page, manage)
    expect(page.get_by_test_id("winloss-closed")).to_have_text("67")
    expect(page.get_by_test_id("winloss-model")).to_be_visible()
    _shot(screenshot, "manager-zh")
    page.get_by_test_id("winloss-toggle-source").click()
    table = page.get_by_test_id("winloss-table-source")
    expect(table).to_be_visible()
    expect(table.get_by_text("差异显著").first).to_be_visible()
    expect(table.get_by_text("样本太少").first).to_be_visible()
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": page.url}])
    page.goto("/winloss/")
    _wait(page, manage)
    expect(page.locator("h2.page-title")).to_contain_text("Win/loss drivers")
    _shot(screenshot, "manager-en")
    page.get_by_test_id("winloss-toggle-source").click()
    expect(page.get_by_test_id("winloss-table-source").get_by_text("Too few cases").first).to_be_visible()
    # a rep sees only themself; another team's node is 404
    page.context.clear_cookies()
    login(page, "wl_rep")
    page.goto("/winloss/")
    _wait(page, manage)
    # the odd-numbered deals of each group are wl_rep's: 12 + 12 + 7 + 2
    expect(page.get_by_test_id("winloss-closed")).to_have_text("33")
    _shot(screenshot, "rep-zh")
    response = page.goto("/winloss/?node=company")
    assert response is not None and response.status == 404
