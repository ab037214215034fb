"""Orders in a real browser (issue 9): the assistant (销售助理) of the rep confirms an order
made from a signed contract, records a partial delivery, then the rest, hands the order off,
and records the customer's acceptance with a file; the order reads the same in English."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from salesflow.attachments.samples import pdf_bytes

pytestmark = pytest.mark.e2e

MAKE_ORDER = """
from salesflow.orders.services import order_create_from_contract
from salesflow.orders.tests.factories import make_contract
from salesflow.users.models import User
rep = User.objects.get(username="rep")
contract = make_contract(rep)
order = order_create_from_contract(actor=rep, contract_id=contract.pk)
lines = list(order.lines.order_by("position"))
print("ORDER", order.pk, order.number, lines[0].pk, lines[1].pk)
"""


def test_confirm_deliver_partly_then_fully_and_accept(page: Page, login, screenshot, manage) -> None:
    output = manage("shell", "-c", MAKE_ORDER).stdout
    match = re.search(r"ORDER (\d+) (\S+) (\d+) (\d+)", output)
    assert match is not None, output
    order_id, number, rack_id, install_id = match.group(1), match.group(2), match.group(3), match.group(4)

    login(page, "assistant")
    page.goto(f"/orders/{order_id}/")
    expect(page.get_by_test_id("order-number")).to_have_text(number)
    expect(page.get_by_test_id("order-status")).to_have_text("草稿")
    expect(page.get_by_test_id("order-total")).to_contain_text("45,026.25")

    # 1. Confirm: the lines are frozen.
    page.get_by_test_id("order-confirm").click()
    expect(page.get_by_test_id("order-status")).to_have_text("已确认")
    expect(page.get_by_test_id("order-lines")).to_contain_text("订单行已锁定")

    # 2. Hand-off to production with an expected date.
    form = page.get_by_test_id("hand-off-form")
    form.locator("select[name=fulfilment_status]").select_option("in_production")
    form.locator("input[name=expected_date]").fill("2026-12-20")
    page.get_by_test_id("hand-off-submit").click()
    expect(page.get_by_test_id("order-fulfilment").first).to_have_text("生产中")
    expect(page.get_by_test_id("order-expected-date")).to_have_text("2026-12-20")

    # 3. Too much on one line is refused, naming the line and what is open.
    page.get_by_test_id("delivery-new").click()
    page.locator(f"input[name=line_{rack_id}]").fill("5")
    page.get_by_test_id("delivery-submit").click()
    expect(page.get_by_test_id("delivery-line-error")).to_contain_text("第 1 行")
    expect(page.get_by_test_id("delivery-line-error")).to_contain_text("最多还可发货 3")

    # 4. A partial delivery: one rack, no installation yet.
    page.locator(f"input[name=line_{rack_id}]").fill("1")
    page.locator(f"input[name=line_{install_id}]").fill("")
    page.get_by_test_id("delivery-submit").click()
    expect(page.get_by_test_id("order-status")).to_have_text("部分发货")
    expect(page.get_by_test_id("line-open").first).to_have_text("2")
    expect(page.get_by_test_id("delivery")).to_have_count(1)
    screenshot("partly-delivered-zh")

    # 5. The rest: the form is prefilled with what is open.
    page.get_by_test_id("delivery-new").click()
    expect(page.locator(f"input[name=line_{rack_id}]")).to_have_value("2")
    expect(page.locator(f"input[name=line_{install_id}]")).to_have_value("2.5")
    page.get_by_test_id("delivery-submit").click()
    expect(page.get_by_test_id("order-status")).to_have_text("已发货")
    expect(page.get_by_test_id("delivery")).to_have_count(2)

    # 6. Customer acceptance with the signed acceptance form.
    form = page.get_by_test_id("acceptance-form")
    form.locator("input[name=day]").fill("2026-12-01")
    form.locator("input[name=file]").set_input_files(
        {"name": "客户验收单.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes("Acceptance")}
    )
    page.get_by_test_id("acceptance-submit").click()
    expect(page.get_by_test_id("order-status")).to_have_text("客户已验收")
    expect(page.get_by_test_id("order-accepted-on")).to_contain_text("2026-12-01")
    expect(page.get_by_test_id("acceptance-file")).to_have_text("客户验收单.pdf")
    expect(page.locator("#timeline")).to_contain_text("登记了客户验收")
    screenshot("accepted-zh")

    # 7. The same order in English; it is listed with its status.
    page.get_by_test_id("language-switch").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("order-status")).to_have_text("Accepted by the customer")
    expect(page.get_by_test_id("order-fulfilment").first).to_have_text("In production")
    screenshot("accepted-en")
    page.goto("/orders/?status=accepted")
    expect(page.get_by_test_id("order-row").filter(has_text=number)).to_have_count(1)
    screenshot("list-en")
