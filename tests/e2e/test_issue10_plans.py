"""Sales plans (issue 10): a manager decomposes the team's yearly won-revenue target down to a
rep's month, an administrator approves and locks the plan, then the rep's deal is won and the
rep's attainment for the month moves on the attainment page. Screenshots in Chinese and English."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

SETUP = """
from django.utils import timezone
from salesflow.core.periods import fiscal_year_of, period_containing
from salesflow.targets import services
from salesflow.targets.models import SalesPlan
from salesflow.users.models import Team, User
admin = User.objects.get(username="admin")
rep = User.objects.get(username="rep")
today = timezone.localdate()
year = fiscal_year_of(today)
SalesPlan.objects.filter(year=year).delete()
plan = services.plan_create(actor=admin, year=year)
version = plan.versions.get()
services.targets_set(actor=admin, version=version, metric_key="won_revenue", cells=[
    ("company", str(year), "2000000.00"),
    (f"team:{rep.team.parent_id}", str(year), "1200000.00"),
    (f"team:{rep.team_id}", str(year), "1200000.00"),
])
print(year, rep.team_id, rep.pk, period_containing("month", today).key)
"""

WIN = """
from django.utils import timezone
from salesflow.sales.choices import Outcome
from salesflow.sales.services import opportunity_close
from salesflow.sales.tests.factories import make_opportunity
from salesflow.users.models import User
rep = User.objects.get(username="rep")
opp = make_opportunity(rep, amount="50000.00", currency="CNY")
opportunity_close(actor=rep, opportunity=opp, outcome=Outcome.WON, closed_on=timezone.localdate())
print(opp.pk)
"""


def test_manager_decomposes_and_the_reps_attainment_moves(
    page: Page,
    login: Callable[..., None],
    logout: Callable[[Page], None],
    screenshot: Callable[[str], Any],
    manage: Any,
) -> None:
    year, team_id, rep_id, month = manage("shell", "-c", SETUP).stdout.strip().splitlines()[-1].split()
    login(page, "manager")
    page.goto(f"/plans/{year}/")
    allocate = page.get_by_test_id("targets-allocate")
    allocate.get_by_test_id("targets-allocate-node").select_option(f"team:{team_id}")
    allocate.get_by_test_id("targets-allocate-period").select_option(year)
    allocate.get_by_test_id("targets-allocate-along").select_option("org")
    allocate.locator("select[name=basis]").select_option("equal")
    page.get_by_test_id("targets-allocate-submit").click()
    expect(page.locator(".alert").filter(has_text="已分解")).to_be_visible()
    rep_row = page.locator(f"[data-testid=targets-row][data-node='rep:{rep_id}']")
    # equal shares among the team's current reps (other browser tests may have added some)
    rep_cell = rep_row.locator(f"[data-period='{year}'] input[name^=cell]")
    expect(rep_cell).not_to_have_value("")
    assert Decimal(rep_cell.input_value()) > 0

    allocate = page.get_by_test_id("targets-allocate")
    allocate.get_by_test_id("targets-allocate-node").select_option(f"rep:{rep_id}")
    allocate.get_by_test_id("targets-allocate-period").select_option(year)
    allocate.get_by_test_id("targets-allocate-along").select_option("periods")
    allocate.get_by_test_id("targets-allocate-cascade").check()
    page.get_by_test_id("targets-allocate-submit").click()
    page.get_by_test_id("targets-columns").select_option("months")
    page.get_by_test_id("targets-columns").locator("xpath=..").locator("button").click()
    month_input = page.locator(
        f"[data-testid=targets-row][data-node='rep:{rep_id}'] [data-period='{month}'] input[name^=cell]"
    )
    month_target = month_input.input_value()
    assert month_target and float(month_target) > 0
    screenshot("decomposed-zh")
    page.get_by_test_id("targets-submit").click()
    expect(page.get_by_test_id("targets-status")).to_have_text("审批中")
    logout(page)

    login(page, "admin")
    page.goto(f"/plans/{year}/")
    page.get_by_test_id("targets-approve").click()
    expect(page.get_by_test_id("targets-status")).to_have_text("已批准并锁定")
    logout(page)

    login(page, "rep")
    page.goto(f"/plans/attainment/?period={month}&node=rep:{rep_id}")
    won = page.locator("[data-testid=targets-attainment-row][data-metric=won_revenue]")
    expect(won.get_by_test_id("targets-target")).to_contain_text(f"{float(month_target):,.2f}")
    # other browser tests in this session may have won deals for the rep this month already:
    # the actual moves by exactly the new deal's amount
    before = Decimal(won.get_by_test_id("targets-actual").inner_text().strip().lstrip("¥").replace(",", ""))
    manage("shell", "-c", WIN)
    page.reload()
    expect(won.get_by_test_id("targets-actual")).to_contain_text(f"¥{before + Decimal('50000'):,.2f}")
    expect(won.get_by_test_id("targets-ratio")).not_to_have_text("—")
    screenshot("attainment-zh")
    page.goto(f"/plans/leaderboard/?period={month}")
    expect(page.get_by_test_id("targets-leaderboard-row").first).to_contain_text("张伟")
    screenshot("leaderboard-zh")

    page.get_by_test_id("language-switch").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(f"/plans/attainment/?period={month}&node=rep:{rep_id}")
    expect(page.get_by_role("heading", name="Attainment")).to_be_visible()
    screenshot("attainment-en")
