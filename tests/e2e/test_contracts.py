"""Contracts (合同): a rep creates a contract directly, submits it (approved at once without
an approval rule), signs it with the signed PDF, opens a change order (变更单), changes the
quantity and the end date, submits it, and sees the diff between the versions. Screenshots in
Chinese and English."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import FilePayload, Page, expect

pytestmark = pytest.mark.e2e

SETUP = """
from salesflow.parties.models import Account
from salesflow.users.models import User
rep = User.objects.get(username="rep")
account, _ = Account.objects.get_or_create(name="宁波海川智能装备有限公司", defaults={"owner": rep})
print(account.pk)
"""

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_create_sign_amend_and_diff(
    page: Page, login: Callable[..., None], screenshot: Callable[[str], Any], manage: Any
) -> None:
    account_id = manage("shell", "-c", SETUP).stdout.strip().splitlines()[-1]
    login(page, "rep")
    page.goto(f"/contracts/new/?account={account_id}")
    page.locator("#id_title").fill("智能产线改造合同")
    page.locator("#id_start_date").fill("2026-01-01")
    page.locator("#id_end_date").fill("2026-12-31")
    page.locator("#id_payment_terms").fill("签约预付 30%，验收后 70%")
    page.get_by_test_id("line-0-name").fill("视觉检测工作站")
    page.get_by_test_id("line-0-quantity").fill("2")
    page.get_by_test_id("line-0-price").fill("150000")
    page.get_by_test_id("line-0-tax").fill("13")
    page.get_by_test_id("line-1-name").fill("安装调试服务")
    page.get_by_test_id("line-1-quantity").fill("10")
    page.get_by_test_id("line-1-price").fill("2000")
    page.get_by_test_id("line-1-tax").fill("6")
    page.get_by_test_id("contract-save").click()
    expect(page.get_by_test_id("contract-number")).to_contain_text("HT-")
    expect(page.get_by_test_id("contract-total")).to_contain_text("360,200.00")

    page.get_by_test_id("contract-submit").click()
    expect(page.get_by_test_id("status-approved").first).to_be_visible()
    signed_file: FilePayload = {"name": "已签合同.pdf", "mimeType": "application/pdf", "buffer": PDF}
    page.locator("#id_file").set_input_files(files=[signed_file])
    page.get_by_test_id("sign-submit").click()
    expect(page.get_by_test_id("archived-note")).to_be_visible()
    expect(page.get_by_test_id("signed-file")).to_contain_text("已签合同.pdf")
    screenshot("signed-zh")

    page.locator("#id_reason").fill("客户追加一台工作站，服务期延长半年")
    page.get_by_test_id("amend-submit").click()
    expect(page).to_have_url(re.compile(r"/versions/2/edit/$"))
    page.get_by_test_id("line-0-quantity").fill("3")
    page.locator("#id_end_date").fill("2027-06-30")
    page.get_by_test_id("amendment-save-submit").click()
    expect(page.get_by_test_id("contract-total")).to_contain_text("529,700.00")
    diff = page.get_by_test_id("contract-diff")
    expect(diff.get_by_test_id("diff-term")).to_contain_text("2027-06-30")
    expect(diff.get_by_test_id("diff-line-changed")).to_contain_text("视觉检测工作站")
    expect(page.get_by_test_id("version-row-2")).to_contain_text("BG-")
    screenshot("amended-diff-zh")

    page.get_by_test_id("language-switch").select_option("en")
    expect(page.get_by_test_id("contract-versions")).to_contain_text("current")
    expect(page.get_by_test_id("contract-diff")).to_contain_text("Changes from version 1 to version 2")
    screenshot("amended-diff-en")
