"""Customer protection in the browser: an administrator loads a known-customer list, a rep's
new lead for one of those customers is routed to its owner (who sees the badge); and a
collision (撞单) between two reps decided by their manager. Screenshots in Chinese and English."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def test_a_known_customer_lead_routed_to_its_owner(
    page: Page, login: Callable[..., None], logout: Callable[[Page], None], screenshot: Callable[[str], Any],
    tmp_path: Path,
) -> None:  # fmt: skip
    # 1. The administrator uploads the ERP export (Chinese headers) under settings.
    export = tmp_path / "ERP客户导出.csv"
    export.write_text(
        "客户名称,统一社会信用代码,负责人,销售处,客户编号\n"
        "宁波澜海新材料股份有限公司,,李娜,华东销售处,E2E-KC-1\n"
        "坏数据公司,123,,,E2E-KC-2\n",
        encoding="utf-8",
    )
    login(page, "admin")
    page.goto("/settings/known-customers/")
    upload = page.get_by_test_id("known-customer-upload")
    upload.locator("[name=source_system]").fill("E2E-ERP")
    upload.locator("[name=file]").set_input_files(str(export))
    page.get_by_test_id("known-customer-upload-submit").click()
    page.wait_for_url(re.compile(r"/settings/known-customers/loads/\d+/$"))
    expect(page.get_by_test_id("load-created")).to_have_text("1")
    expect(page.get_by_test_id("load-rejected")).to_have_text("1")
    expect(page.get_by_test_id("load-errors")).to_contain_text("credit_code")
    screenshot("load-zh")
    logout(page)

    # 2. The rep enters a lead for that company: it goes to 李娜, the customer's owner.
    login(page, "rep")
    page.goto("/leads/create/")
    form = page.get_by_test_id("lead-form")
    form.locator("[name=name]").fill("陈海涛")
    form.locator("[name=company_name]").fill("宁波澜海新材料")
    form.locator("[name=mobile]").fill("139 5740 1234")
    form.locator("[name=source_channel]").select_option("inbound")
    page.get_by_test_id("lead-submit").click()
    page.wait_for_url(re.compile(r"/leads/$"))
    expect(page.locator("#messages")).to_contain_text("李娜")
    screenshot("routed-zh")
    logout(page)

    # 3. 李娜 (teammate) has it, flagged as an existing customer (her notification is
    #    written by the background worker: tested in salesflow/protection/tests).
    login(page, "teammate")
    page.goto("/leads/?q=陈海涛")
    row = page.get_by_test_id("lead-link").filter(has_text="陈海涛")
    expect(row).to_have_count(1)
    expect(page.get_by_test_id("known-customer-badge").first).to_contain_text("李娜")
    row.click()
    page.wait_for_url(re.compile(r"/leads/\d+/$"))
    expect(page.get_by_test_id("known-customer-badge")).to_contain_text("李娜")
    screenshot("owner-zh")
    page.get_by_test_id("language-switch").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto("/leads/?q=陈海涛")
    page.get_by_test_id("lead-link").filter(has_text="陈海涛").click()
    expect(page.get_by_test_id("known-customer-badge")).to_contain_text("Existing customer — owner 李娜")
    screenshot("owner-en")


def test_a_collision_decided_by_the_manager(
    page: Page, login: Callable[..., None], logout: Callable[[Page], None], screenshot: Callable[[str], Any],
    manage: Any,
) -> None:  # fmt: skip
    # 李娜 (teammate) holds the account; 张伟 (rep) enters the same company without its suffix.
    script = (
        "from salesflow.users.models import User\n"
        "from salesflow.parties.services import account_create\n"
        "opts = {'duplicate_reason': 'e2e'}\n"
        "t = User.objects.get(username='teammate'); r = User.objects.get(username='rep')\n"
        "account_create(actor=t, owner=t, name='温州瓯江阀门制造有限公司', intake_options=opts)\n"
        "a = account_create(actor=r, owner=r, name='温州瓯江阀门制造', intake_options=opts)\n"
        "print(a.pk)\n"
    )
    new_id = int(manage("shell", "-c", script).stdout.strip().splitlines()[-1])

    # the rep sees the collision, read-only (李娜's account itself stays hidden from him)
    login(page, "rep")
    page.goto("/collisions/")
    card = page.get_by_test_id("collision-card").filter(has_text="温州瓯江阀门制造")
    expect(card).to_have_count(1)
    expect(card.get_by_test_id("collision-owner-new")).to_have_text("张伟")
    expect(card.get_by_test_id("decide-form")).to_have_count(0)
    logout(page)

    # the manager above both decides: the new account goes to the rep who had it first
    login(page, "manager")
    page.goto("/collisions/")
    card = page.get_by_test_id("collision-card").filter(has_text="温州瓯江阀门制造有限公司")
    expect(card.get_by_test_id("collision-owner-new")).to_have_text("张伟")
    expect(card.get_by_test_id("collision-owner-existing")).to_have_text("李娜")
    screenshot("queue-zh")
    card.locator("input[name=decision][value=transfer]").check()
    card.locator("select[name=direction]").select_option("to_holder")
    card.locator("textarea[name=note]").fill("同一家公司，由李娜继续跟进")
    card.get_by_test_id("decide-submit").click()
    page.wait_for_url(re.compile(r"/collisions/$"))
    page.goto("/collisions/?tab=decided")
    decided = page.get_by_test_id("collision-card").filter(has_text="同一家公司，由李娜继续跟进")
    expect(decided).to_have_count(1)
    expect(decided.get_by_test_id("collision-owner-new")).to_have_text("李娜")
    page.get_by_test_id("language-switch").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto("/collisions/?tab=decided")
    expect(
        page.get_by_test_id("collision-card").filter(has_text="同一家公司").get_by_test_id("collision-decision")
    ).to_have_text("Transfer")
    screenshot("decided-en")
    page.goto(f"/accounts/{new_id}/")
    expect(page.get_by_test_id("account-owner")).to_have_text("李娜")
    logout(page)

    # 李娜 now holds both records and sees the decision
    login(page, "teammate")
    page.goto("/collisions/?tab=decided")
    mine = page.get_by_test_id("collision-card").filter(has_text="同一家公司，由李娜继续跟进")
    expect(mine.get_by_test_id("collision-owner-new")).to_have_text("李娜")
    expect(mine.get_by_test_id("decide-form")).to_have_count(0)
    screenshot("holder-zh")
