"""Public pools (公海): a rep at their ownership cap for A-grade accounts tries to claim one
more from their team's pool and is refused with the cap named; a B-grade account is claimed.
Screenshots in Chinese and English."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

SETUP = """
from salesflow.parties.models import Account
from salesflow.pools.models import CapRule, Pool, PoolAccount
from salesflow.users.models import User
rep = User.objects.get(username="rep")
pool, _ = Pool.objects.get_or_create(name="华东公海", defaults={"protection_days": 30})
pool.teams.add(rep.team)
Account.objects.get_or_create(name="上海已有大客户有限公司", defaults={"owner": rep, "grade": "A"})
# earlier browser tests may have given the rep more A-grade accounts: the cap is what they hold now
from salesflow.pools.selectors import held_count
held = held_count(rep, "account", "A")
CapRule.objects.update_or_create(role="rep", kind="account", grade="A", user=None, defaults={"max_count": held})
for name, grade in (("杭州云帆信息技术有限公司", "A"), ("苏州恒远精密机械有限公司", "B")):
    account, _ = Account.objects.get_or_create(name=name, defaults={"owner": None, "grade": grade})
    PoolAccount.objects.get_or_create(account=account, defaults={"pool": pool, "reason": "客户暂无需求"})
print(pool.pk, held)
"""


def test_a_claim_refused_because_the_cap_is_reached(
    page: Page, login: Callable[..., None], screenshot: Callable[[str], Any], manage: Any
) -> None:
    pool_id, held = manage("shell", "-c", SETUP).stdout.strip().splitlines()[-1].split()
    login(page, "rep")  # the personas use the product in Chinese
    page.get_by_test_id("nav-more").click()
    page.get_by_test_id("nav-pools").click()
    page.get_by_role("link", name="华东公海").click()
    page.get_by_test_id("pool-tab-account").click()
    expect(page).to_have_url(f"/pools/{pool_id}/?kind=account")
    holding = page.get_by_test_id("pool-holding").filter(has_text="A")
    expect(holding).to_contain_text(f"{held} / {held}")

    row = page.get_by_test_id("pool-record").filter(has_text="杭州云帆信息技术有限公司")
    row.get_by_test_id("pool-claim").click()
    alert = page.locator(".alert").filter(has_text="保有量上限")
    expect(alert).to_contain_text(held)
    expect(page.get_by_test_id("pool-record").filter(has_text="杭州云帆信息技术有限公司")).to_have_count(1)
    screenshot("cap-reached-zh")

    page.get_by_test_id("language-switch").select_option("en")
    page.get_by_test_id("pool-record").filter(has_text="杭州云帆信息技术有限公司").get_by_test_id("pool-claim").click()
    expect(page.locator(".alert")).to_contain_text(
        f"You hold {held} of {held} A-grade accounts: the ownership cap is reached."
    )
    screenshot("cap-reached-en")

    # a B-grade account has no cap: the claim goes through and protects it
    page.get_by_test_id("pool-record").filter(has_text="苏州恒远精密机械有限公司").get_by_test_id("pool-claim").click()
    expect(page.get_by_test_id("account-owner")).not_to_contain_text("pool")
    expect(page.locator(".alert")).to_contain_text("You claimed")
