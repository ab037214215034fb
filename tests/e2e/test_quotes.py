"""Quotes end to end: a rep creates a quote from a deal (a hand-entered line with a Chinese
name), issues it, downloads the Chinese PDF (its text holds the product name and the
total), and the customer opens the public link in a fresh browser without logging in and
accepts; the deal's amount becomes the quote's total. Screenshots in Chinese and English."""

from __future__ import annotations

import io
import json
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.e2e.conftest import SCREENSHOTS

pytestmark = pytest.mark.e2e

PRODUCT = "工业物联网平台 企业版"


def _api(base: str, token: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        f"{base}/api/v1{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        return json.loads(response.read() or b"null")


def test_quote_from_deal_to_accepted_through_the_public_link(
    page: Page,
    browser: Any,
    login: Callable[..., None],
    screenshot: Callable[[str], Any],
    manage: Any,
    live_server_url: str,
) -> None:
    token = manage("createtoken", "rep").stdout.strip().splitlines()[-1]
    account = _api(live_server_url, token, "POST", "/accounts", {"name": "宁波东海精密机械有限公司"})
    deal = _api(
        live_server_url,
        token,
        "POST",
        "/opportunities",
        {"name": "东海 设备联网项目", "account_id": account["id"], "amount": "100000.00"},
    )

    login(page, "rep")
    page.goto(f"/opportunities/{deal['id']}/")
    panel = page.get_by_test_id("quote-panel")
    expect(panel.get_by_test_id("quote-panel-empty")).to_be_visible()
    panel.get_by_test_id("quote-new").click()
    expect(page.get_by_test_id("quote-form")).to_be_visible()
    row = page.get_by_test_id("quote-line-row").first
    row.get_by_test_id("line-name_zh").fill(PRODUCT)
    row.get_by_test_id("line-name_en").fill("IIoT platform, Enterprise")
    row.get_by_test_id("line-unit").fill("套")
    row.get_by_test_id("line-quantity").fill("2")
    row.get_by_test_id("line-unit_price").fill("150000")
    row.get_by_test_id("line-discount_percent").fill("5")
    row.get_by_test_id("line-tax_rate").fill("13")
    screenshot("form-zh")
    page.get_by_test_id("quote-save").click()

    # 2 × 150000 = 300000, −5 % = 285000, +13 % = 322050.00
    expect(page.get_by_test_id("quote-total")).to_have_text("¥322,050.00")
    expect(page.get_by_test_id("quote-status")).to_have_text("草稿")
    page.get_by_test_id("quote-issue").click()
    expect(page.get_by_test_id("quote-status")).to_have_text("已批准")
    screenshot("issued-zh")

    page.get_by_test_id("quote-pdf-menu").click()
    with page.expect_download() as download_info:
        page.get_by_test_id("quote-pdf-zh").click()
    download = download_info.value
    assert download.suggested_filename.endswith("-v1-zh.pdf")
    with open(download.path(), "rb") as handle:
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(handle.read())).pages)
    assert PRODUCT in text and "322,050.00" in text and "报价单" in text

    public_url = page.get_by_test_id("quote-public-url").input_value()
    assert "/q/" in public_url
    # focusing the link selects it for copying (a script, not an inline handler the CSP blocks)
    page.get_by_test_id("quote-public-url").focus()
    assert page.get_by_test_id("quote-public-url").evaluate("el => el.selectionEnd - el.selectionStart") == len(
        public_url
    )

    # the customer: a fresh browser without a session
    customer = browser.new_context(locale="en-US", viewport={"width": 1366, "height": 900})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        public = customer.new_page()
        public.goto(public_url + "?lang=en")
        expect(public.get_by_test_id("public-total")).to_have_text("¥322,050.00")
        expect(public.get_by_test_id("public-lines")).to_contain_text("IIoT platform, Enterprise")
        public.screenshot(path=str(SCREENSHOTS / "test_quote_from_deal_to_accepted-public-en.png"), full_page=True)
        public.goto(public_url + "?lang=zh-hans")
        expect(public.get_by_test_id("public-lines")).to_contain_text(PRODUCT)
        public.get_by_test_id("public-name").fill("周经理")
        public.get_by_test_id("public-accept").click()
        expect(public.get_by_test_id("public-done")).to_be_visible()
        public.screenshot(path=str(SCREENSHOTS / "test_quote_from_deal_to_accepted-public-zh.png"), full_page=True)
        # a second decision is refused
        public.goto(public_url)
        expect(public.get_by_test_id("public-closed")).to_be_visible()
    finally:
        customer.close()

    page.reload()
    expect(page.get_by_test_id("quote-status")).to_have_text("已接受")
    expect(page.get_by_test_id("quote-decision")).to_contain_text("周经理")
    assert _api(live_server_url, token, "GET", f"/opportunities/{deal['id']}")["amount"] == "322050.00"
    screenshot("accepted-zh")
    page.get_by_test_id("language-switch").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("quote-status")).to_have_text("Accepted")
    screenshot("accepted-en")
    page.goto("/quotes/")
    expect(page.get_by_test_id("quote-row")).not_to_have_count(0)
    screenshot("list-en")
