"""Payment collection (回款): the sales assistant records a payment for the rep's signed
contract that pays the first instalment and part of the second; the plan shows the paid
instalment, the second still overdue and the third pending; the receivables ageing report
shows what is open. Screenshots in Chinese and English."""

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
from salesflow.billing.services import plan_create
from salesflow.contracts.models import Contract
from salesflow.core.numbering import format_document_number, next_document_number
from salesflow.parties.models import Account
from salesflow.users.models import User
from django.db import transaction
rep = User.objects.get(username="rep")
today = timezone.localdate()
account, _ = Account.objects.get_or_create(name="杭州星河智能装备有限公司", defaults={"owner": rep})
with transaction.atomic():
    number = format_document_number("HT", today.year, next_document_number("contract", today.year))
    contract = Contract.objects.create(
        number=number, title="星河产线改造", account=account, owner=rep, status="signed",
        total=Decimal("100000.00"), signed_on=today - dt.timedelta(days=45), payment_terms="30/60/10",
    )
plan = plan_create(actor=rep, kind="contract", document_id=contract.pk)
print(plan.pk, contract.number)
"""


def test_payment_pays_one_instalment_and_part_of_the_next(
    page: Page, login: Callable[..., None], screenshot: Callable[[str], Any], manage: Any
) -> None:
    plan_id, number = manage("shell", "-c", SETUP).stdout.strip().splitlines()[-1].split()
    login(page, "assistant")  # 销售助理, delegated to the rep
    page.goto(f"/billing/plans/{plan_id}/")
    rows = page.get_by_test_id("billing-instalment-row")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_have_attribute("data-status", "overdue")

    page.get_by_test_id("billing-record-payment").click()
    form = page.get_by_test_id("billing-payment-form")
    expect(form.locator("select[name=document] option:checked")).to_contain_text(number)
    form.locator("input[name=amount]").fill("40000")
    form.locator("input[name=payer]").fill("杭州星河智能装备有限公司")
    form.locator("input[name=reference]").fill("BANK-2026-0001")
    page.get_by_test_id("billing-payment-submit").click()
    expect(page.locator(".alert").filter(has_text="已登记")).to_be_visible()
    allocations = page.get_by_test_id("billing-allocation-row")
    expect(allocations).to_have_count(2)
    expect(allocations.nth(0)).to_contain_text("¥30,000.00")
    expect(allocations.nth(1)).to_contain_text("¥10,000.00")
    screenshot("payment-zh")

    page.goto(f"/billing/plans/{plan_id}/")
    statuses = [rows.nth(i).get_attribute("data-status") for i in range(3)]
    assert statuses == ["paid", "overdue", "pending"]
    expect(rows.nth(1).get_by_test_id("instalment-status")).to_have_text("已逾期")
    screenshot("plan-overdue-zh")

    page.goto("/billing/ageing/")
    table = page.get_by_test_id("billing-ageing-table")
    expect(table).to_contain_text("杭州星河智能装备有限公司")
    expect(page.get_by_test_id("billing-ageing-total")).to_contain_text("合计")
    screenshot("ageing-zh")
    page.get_by_test_id("billing-ageing-row").filter(has_text="杭州星河智能装备有限公司").get_by_test_id(
        "billing-ageing-cell"
    ).first.click()
    expect(page.get_by_test_id("billing-ageing-instalment").first).to_contain_text(number)

    page.get_by_test_id("language-switch").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto("/billing/ageing/")
    expect(page.get_by_role("heading", name="Receivables ageing")).to_be_visible()
    expect(page.get_by_test_id("billing-ageing-table")).to_contain_text("1–30 days")
    screenshot("ageing-en")
    page.goto(f"/billing/plans/{plan_id}/")
    expect(rows.nth(1).get_by_test_id("instalment-status")).to_have_text("Overdue")
    screenshot("plan-overdue-en")
