"""Quote to cash in one browser run (issue 9, "Done when"): a rep quotes a catalogue product
from a deal; the quote needs a two-step approval (sales manager, then finance); finance
returns it to the manager's step with a comment, the manager approves again and finance
approves; the rep downloads the Chinese PDF (its text holds the Chinese product name and
the total); the customer accepts through the public link without logging in; the rep makes
the contract from the accepted quote, has it approved, signs it, amends it with a change
order (one more unit) and sees the diff; makes the order from the signed contract, confirms
it and records a partial delivery; makes the payment plan from the terms with a start in
the past, so the first instalments are overdue, and records a payment that pays the first
instalment and part of the second, which stays overdue; then terminates the contract, which
cancels the instalment not yet due and shows what is still owed.

Only configuration is set up outside the UI: the product and the approval rule (two steps),
and the customer with its deal. Amounts are computed here independently:
3 × 150,000 = 450,000, −10 % = 405,000, +13 % tax = 457,650.00 (the quote);
the change order makes it 4 units: 600,000 − 60,000 = 540,000 + 70,200 = 610,200.00.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import urllib.request
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import FilePayload, Page, expect
from pypdf import PdfReader

from tests.e2e.conftest import SCREENSHOTS

pytestmark = pytest.mark.e2e

PRODUCT_ZH = "机器视觉质检工作站"
PRODUCT_EN = "Machine-vision inspection station"
ACCOUNT = "苏州恒润精工科技有限公司"
DEAL = "恒润 质检产线升级"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

SETUP = f"""
from decimal import Decimal
from salesflow.catalogue.models import Product
from salesflow.parties.models import Account
from salesflow.sales.services import opportunity_create
from salesflow.users.models import User
rep = User.objects.get(username="rep")
admin = User.objects.get(username="admin")
product, _ = Product.objects.get_or_create(
    code="QC-VIS-01",
    defaults=dict(name_zh={PRODUCT_ZH!r}, name_en={PRODUCT_EN!r}, unit="台", tax_rate=Decimal("13"),
                  list_price=Decimal("150000.00"), cost=Decimal("90000.00"), currency="CNY"),
)
account = Account.objects.create(name={ACCOUNT!r}, owner=rep)
deal = opportunity_create(actor=rep, owner=rep, name={DEAL!r}, account=account, amount=Decimal("400000"))
print("IDS", product.pk, account.pk, deal.pk, admin.pk)
"""


# the company's time zone of the test server (settings.TIME_ZONE's default)
COMPANY_ZONE = "Asia/Shanghai"


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _line_total(quantity: int, price: Decimal, discount: Decimal, tax: Decimal) -> Decimal:
    gross = _money(price * quantity)
    net = gross - _money(gross * discount / 100)
    return net + _money(net * tax / 100)


def _shown(value: Decimal) -> str:
    """How the pages show an amount: grouped thousands, two decimals."""
    return f"{value:,.2f}"


def _api(base: str, token: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        f"{base}/api/v1{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        return json.loads(response.read() or b"null")


def _assert_lines_fit(page: Page, table: str, screenshot: Callable[[str], Any], name: str) -> None:
    """Issue 9: a document's lines table (``table``: a CSS selector) fits its card without a
    sideways scroll at 1280 and 1366 px, in Chinese and in English, with the Total column on
    screen; the page is left in Chinese at 1366 px."""
    for language in ("zh-hans", "en"):
        page.get_by_test_id("language-switch").select_option(language)
        expect(page.locator("html")).to_have_attribute("lang", language)
        for width in (1280, 1366):
            page.set_viewport_size({"width": width, "height": 900})
            lines = page.locator(table)
            expect(lines).to_have_count(1)
            box = lines.evaluate(
                """t => { const s = t.closest('.table-responsive') || t.parentElement;
                    const last = t.querySelector('thead th:last-child').getBoundingClientRect();
                    return {table: t.scrollWidth, box: s.clientWidth, scroll: s.scrollWidth,
                            page: document.documentElement.scrollWidth, window: window.innerWidth,
                            lastRight: last.right}; }"""
            )
            assert box["table"] <= box["box"], (name, language, width, box)
            assert box["scroll"] <= box["box"], (name, language, width, box)
            assert box["page"] <= box["window"], (name, language, width, box)
            assert box["lastRight"] <= box["window"], (name, language, width, box)
            screenshot(f"{name}-lines-{language}-{width}")
    page.get_by_test_id("language-switch").select_option("zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.set_viewport_size({"width": 1366, "height": 900})


def _open_request(page: Page, number: str) -> None:
    page.goto("/approvals/")
    row = page.get_by_test_id("inbox-row").filter(has_text=number)
    expect(row).to_have_count(1)
    row.get_by_test_id("inbox-link").click()
    expect(page.get_by_test_id("decision-card")).to_be_visible()


def test_quote_to_cash_chain(
    page: Page,
    browser: Any,
    login: Callable[..., None],
    logout: Callable[[Page], None],
    screenshot: Callable[[str], Any],
    manage: Any,
    live_server_url: str,
) -> None:
    output = manage("shell", "-c", SETUP).stdout
    match = re.search(r"IDS (\d+) (\d+) (\d+) (\d+)", output)
    assert match is not None, output
    product_id, _account_id, deal_id, admin_id = (match.group(i) for i in range(1, 5))
    admin_token = manage("createtoken", "admin").stdout.strip().splitlines()[-1]
    # Configuration: large quotes with non-standard terms go to the sales manager, then finance.
    _api(
        live_server_url,
        admin_token,
        "POST",
        "/approvals/rules",
        {
            "kind": "quotes.quote",
            "name": "大额非标报价（超过 40 万元）",
            "priority": 1,
            "conditions": [
                {"fact": "amount", "operator": "gt", "value": "400000"},
                {"fact": "non_standard_terms", "operator": "is_true"},
            ],
            "steps": [
                {"name": "销售经理审批", "approver_type": "manager_chain", "levels": 1},
                {"name": "财务审批", "approver_type": "users", "user_ids": [int(admin_id)]},
            ],
        },
    )
    price, discount, tax = Decimal("150000.00"), Decimal("10"), Decimal("13")
    quote_total = _line_total(3, price, discount, tax)
    assert quote_total == Decimal("457650.00")

    # 1. The rep quotes the product from the deal page.
    login(page, "rep")
    page.goto(f"/opportunities/{deal_id}/")
    page.get_by_test_id("quote-panel").get_by_test_id("quote-new").click()
    expect(page.get_by_test_id("quote-form")).to_be_visible()
    page.locator("#id_terms").fill("验收后 30 日内付清；质保两年（非标条款）")
    row = page.get_by_test_id("quote-line-row").first
    row.get_by_test_id("line-product").select_option(product_id)
    row.get_by_test_id("line-quantity").fill("3")
    row.get_by_test_id("line-discount_percent").fill("10")
    page.get_by_test_id("quote-save").click()
    expect(page.get_by_test_id("quote-total")).to_contain_text(_shown(quote_total))
    expect(page.get_by_test_id("quote-lines")).to_contain_text(PRODUCT_ZH)
    number = page.get_by_test_id("quote-number").inner_text().strip()
    quote_url = page.url
    page.get_by_test_id("quote-issue").click()
    expect(page.get_by_test_id("quote-status")).to_have_attribute("data-status", "pending_approval")
    expect(page.get_by_test_id("quote-approval-pending")).to_be_visible()
    expect(page.get_by_test_id("quote-edit")).to_have_count(0)
    screenshot("quote-under-approval-zh")
    logout(page)

    # 2. The sales manager approves the first step.
    login(page, "manager")
    _open_request(page, number)
    page.get_by_test_id("decision-comment").fill("价格可以接受。")
    page.get_by_test_id("approve-button").click()
    expect(page.get_by_test_id("approval-status").first).to_have_text("待审批")
    logout(page)

    # 3. Finance returns it to the manager's step with a comment.
    login(page, "admin")
    _open_request(page, number)
    page.get_by_test_id("decision-comment").fill("请经理确认 10% 折扣是否已获客户书面确认。")
    page.get_by_test_id("return-step").select_option("1")
    page.get_by_test_id("return-button").click()
    expect(page.get_by_test_id("history-comment").filter(has_text="请经理确认 10% 折扣")).to_have_count(1)
    expect(page.get_by_test_id("route-step").nth(0).get_by_test_id("step-status")).to_contain_text("待审批")
    request_url = page.url
    logout(page)

    # The quote stays locked while the request is pending.
    login(page, "rep")
    page.goto(quote_url)
    expect(page.get_by_test_id("quote-status")).to_have_attribute("data-status", "pending_approval")
    expect(page.get_by_test_id("quote-edit")).to_have_count(0)
    logout(page)

    # 4. The manager approves again, then finance approves: the quote is approved.
    login(page, "manager")
    _open_request(page, number)
    page.get_by_test_id("decision-comment").fill("已确认，客户邮件已归档。")
    page.get_by_test_id("approve-button").click()
    logout(page)
    login(page, "admin")
    page.goto(request_url)
    page.get_by_test_id("decision-comment").fill("同意。")
    page.get_by_test_id("approve-button").click()
    expect(page.get_by_test_id("approval-status").first).to_have_text("已批准")
    screenshot("approval-approved-zh")
    logout(page)

    # 5. The rep downloads the Chinese PDF and gives the customer the public link.
    login(page, "rep")
    page.goto(quote_url)
    expect(page.get_by_test_id("quote-status")).to_have_attribute("data-status", "approved")
    page.get_by_test_id("quote-pdf-menu").click()
    with page.expect_download() as download_info:
        page.get_by_test_id("quote-pdf-zh").click()
    with open(download_info.value.path(), "rb") as handle:
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(handle.read())).pages)
    assert PRODUCT_ZH in text, text
    assert _shown(quote_total) in text, text
    public_url = page.get_by_test_id("quote-public-url").input_value()
    _assert_lines_fit(page, "[data-testid=quote-lines]", screenshot, "quote")

    customer = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        public = customer.new_page()
        public.goto(public_url)
        expect(public.get_by_test_id("public-total")).to_contain_text(_shown(quote_total))
        expect(public.get_by_test_id("public-lines")).to_contain_text(PRODUCT_ZH)
        public.get_by_test_id("public-name").fill("陈总")
        public.get_by_test_id("public-accept").click()
        expect(public.get_by_test_id("public-done")).to_be_visible()
        public.screenshot(path=str(SCREENSHOTS / "test_quote_to_cash_chain-public-zh.png"), full_page=True)
    finally:
        customer.close()

    page.reload()
    expect(page.get_by_test_id("quote-status")).to_have_attribute("data-status", "accepted")
    expect(page.get_by_test_id("quote-decision")).to_contain_text("陈总")

    # 6. The contract from the accepted quote: approved at once (no contract rule), signed.
    page.get_by_test_id("quote-create-contract").click()
    expect(page.get_by_test_id("quote-summary")).to_contain_text(_shown(quote_total))
    page.locator("#id_title").fill("恒润质检产线升级合同")
    today = dt.date.today()
    page.locator("#id_start_date").fill(today.replace(month=1, day=1).isoformat())
    page.locator("#id_end_date").fill(today.replace(month=12, day=31).isoformat())
    page.locator("#id_payment_terms").fill("30/60/10")
    page.get_by_test_id("contract-save").click()
    expect(page.get_by_test_id("contract-number")).to_contain_text("HT-")
    expect(page.get_by_test_id("contract-total")).to_contain_text(_shown(quote_total))
    contract_url = page.url
    page.get_by_test_id("contract-submit").click()
    expect(page.get_by_test_id("status-approved").first).to_be_visible()
    signed: FilePayload = {"name": "恒润已签合同.pdf", "mimeType": "application/pdf", "buffer": PDF}
    page.locator("#id_file").set_input_files(files=[signed])
    page.get_by_test_id("sign-submit").click()
    expect(page.get_by_test_id("archived-note")).to_be_visible()

    # 7. A change order: one more station.
    amended_total = _line_total(4, price, discount, tax)
    assert amended_total == Decimal("610200.00")
    page.locator("#id_reason").fill("客户追加一台工作站")
    page.get_by_test_id("amend-submit").click()
    expect(page).to_have_url(re.compile(r"/versions/2/edit/$"))
    page.get_by_test_id("line-0-quantity").fill("4")
    page.get_by_test_id("amendment-save-submit").click()
    expect(page.get_by_test_id("contract-total")).to_contain_text(_shown(amended_total))
    expect(page.get_by_test_id("contract-diff").get_by_test_id("diff-line-changed")).to_contain_text(PRODUCT_ZH)
    expect(page.get_by_test_id("version-row-2")).to_contain_text("BG-")
    screenshot("contract-amended-zh")
    _assert_lines_fit(page, "[data-testid=contract-lines]", screenshot, "contract")

    # 8. The order from the signed contract (its current version), confirmed, partly delivered.
    page.get_by_test_id("contract-create-order").click()
    expect(page.get_by_test_id("source-line")).to_have_count(1)
    _assert_lines_fit(page, "table:has([data-testid=source-line])", screenshot, "order-create")
    page.get_by_test_id("order-create-submit").click()
    expect(page.get_by_test_id("order-number")).to_contain_text("DD-")
    expect(page.get_by_test_id("order-total")).to_contain_text(_shown(amended_total))
    page.get_by_test_id("order-confirm").click()
    expect(page.get_by_test_id("order-status")).to_have_text("已确认")
    page.get_by_test_id("delivery-new").click()
    quantity = page.locator("input[name^=line_]")
    expect(quantity).to_have_count(1)
    expect(quantity).to_have_value("4")
    quantity.fill("1")
    page.get_by_test_id("delivery-submit").click()
    expect(page.get_by_test_id("order-status")).to_have_text("部分发货")
    expect(page.get_by_test_id("line-open").first).to_have_text("3")
    screenshot("order-partly-delivered-zh")
    _assert_lines_fit(page, "[data-testid=order-lines] table", screenshot, "order")

    # 9. The payment plan from the contract's terms, started 45 days ago: 30 % was due then,
    # 60 % fifteen days ago (both overdue), 10 % in fifteen days.
    page.goto(contract_url)
    plan_form = page.get_by_test_id("billing-plan-form")
    plan_form.locator("input[name=terms]").fill("30/60/10")
    plan_form.locator("input[name=start]").fill((today - dt.timedelta(days=45)).isoformat())
    page.get_by_test_id("billing-plan-submit").click()
    rows = page.get_by_test_id("billing-instalment-row")
    expect(rows).to_have_count(3)
    first, second = _money(amended_total * Decimal("0.3")), _money(amended_total * Decimal("0.6"))
    expect(rows.nth(0)).to_have_attribute("data-status", "overdue")
    expect(rows.nth(1)).to_have_attribute("data-status", "overdue")
    expect(rows.nth(2)).to_have_attribute("data-status", "pending")
    expect(rows.nth(0)).to_contain_text(_shown(first))
    expect(rows.nth(1)).to_contain_text(_shown(second))

    # 10. A payment pays the first instalment and part of the second.
    paid = Decimal("200000.00")
    page.get_by_test_id("billing-record-payment").click()
    form = page.get_by_test_id("billing-payment-form")
    form.locator("input[name=amount]").fill(str(paid))
    form.locator("input[name=payer]").fill(ACCOUNT)
    form.locator("input[name=reference]").fill("BANK-HR-0001")
    page.get_by_test_id("billing-payment-submit").click()
    allocations = page.get_by_test_id("billing-allocation-row")
    expect(allocations).to_have_count(2)
    expect(allocations.nth(0)).to_contain_text(_shown(first))
    expect(allocations.nth(1)).to_contain_text(_shown(paid - first))
    page.goto(contract_url)
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_have_attribute("data-status", "paid")
    expect(rows.nth(1)).to_have_attribute("data-status", "overdue")
    expect(rows.nth(1)).to_contain_text(_shown(paid - first))
    expect(rows.nth(1).get_by_test_id("instalment-status")).to_have_text("已逾期")
    expect(rows.nth(2)).to_have_attribute("data-status", "pending")
    screenshot("contract-payments-zh")

    page.get_by_test_id("language-switch").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("contract-total")).to_contain_text(_shown(amended_total))
    expect(rows.nth(1).get_by_test_id("instalment-status")).to_have_text("Overdue")
    screenshot("contract-payments-en")

    # 11. The customer cancels the project: the rep terminates the contract today (the company's
    # day). The instalments due before stay owed; the last one, due in 15 days, is cancelled.
    company_today = dt.datetime.now(ZoneInfo(COMPANY_ZONE)).date()
    terminate = page.get_by_test_id("terminate-form")
    terminate.locator("input[name=terminated_on]").fill(company_today.isoformat())
    terminate.locator("textarea[name=reason]").fill("客户项目取消")
    page.get_by_test_id("terminate-submit").click()
    expect(page.get_by_test_id("terminated-note")).to_be_visible()
    expect(page.get_by_test_id("termination-reason")).to_have_text("客户项目取消")
    expect(page.get_by_test_id("terminate-card")).to_have_count(0)
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_have_attribute("data-status", "paid")
    expect(rows.nth(1)).to_have_attribute("data-status", "overdue")
    expect(rows.nth(2)).to_have_attribute("data-status", "void")
    expect(page.get_by_test_id("billing-remaining")).to_contain_text(_shown(first + second - paid))
    # planned + voided by termination = the contract total; nothing is "not yet planned"
    third = amended_total - first - second
    expect(page.get_by_test_id("billing-planned")).to_contain_text(_shown(first + second))
    expect(page.get_by_test_id("billing-voided")).to_contain_text(_shown(third))
    expect(page.get_by_test_id("billing-unplanned")).to_have_count(0)
    expect(page.get_by_test_id("billing-plan-figures")).to_contain_text("Voided by termination")
    # the panel's table fits the side column at common laptop widths, in both languages
    for language, label in (("en", "Voided by termination"), ("zh-hans", "因终止作废")):
        if language != "en":
            page.get_by_test_id("language-switch").select_option(language)
            expect(page.locator("html")).to_have_attribute("lang", language)
        for width in (1280, 1366):
            page.set_viewport_size({"width": width, "height": 900})
            expect(page.get_by_test_id("billing-plan-figures")).to_contain_text(label)
            table = page.get_by_test_id("billing-instalments")
            assert table.evaluate("t => t.scrollWidth <= t.parentElement.clientWidth"), (language, width)
            screenshot(f"contract-terminated-{language}-{width}")
