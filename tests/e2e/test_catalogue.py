"""The catalogue in the browser: an administrator creates a product; a rep adds it to a deal
from the deal's Products panel and sees the deal amount become the lines' total (tax
included), without seeing the product's cost. Screenshots in Chinese and English."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def _api(base: str, token: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        f"{base}/api/v1{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        return json.loads(response.read() or b"null")


def test_admin_creates_a_product_and_a_rep_adds_it_to_a_deal(
    page: Page,
    login: Callable[..., None],
    logout: Callable[[Page], None],
    screenshot: Callable[[str], Any],
    manage: Any,
    live_server_url: str,
) -> None:
    # 1. The administrator creates the product (the personas use the product in Chinese).
    login(page, "admin")
    page.goto("/catalogue/products/new/")
    form = page.get_by_test_id("product-form")
    form.locator("[name=code]").fill("E2E-GW-01")
    form.locator("[name=name_zh]").fill("边缘计算网关")
    form.locator("[name=name_en]").fill("Edge computing gateway")
    form.locator("[name=unit]").fill("台")
    form.locator("[name=list_price]").fill("8800")
    form.locator("[name=tax_rate]").fill("13")
    form.locator("[name=cost]").fill("5200")
    page.get_by_test_id("product-save").click()
    expect(page.get_by_test_id("product-title")).to_contain_text("E2E-GW-01 · 边缘计算网关")
    expect(page.get_by_test_id("product-cost")).to_contain_text("5,200.00")
    screenshot("admin-product-zh")
    logout(page)

    # 2. The rep opens a deal of theirs and adds two gateways from the Products panel.
    token = manage("createtoken", "rep").stdout.strip().splitlines()[-1]
    account = _api(live_server_url, token, "POST", "/accounts", {"name": "杭州云栖智造科技有限公司"})
    deal = _api(
        live_server_url,
        token,
        "POST",
        "/opportunities",
        {"name": "云栖智造 边缘网关试点", "account_id": account["id"], "amount": "10000"},
    )
    login(page, "rep")
    page.goto("/catalogue/")
    expect(page.get_by_test_id("product-list")).to_contain_text("E2E-GW-01")
    expect(page.get_by_test_id("cost-header")).to_have_count(0)  # cost is protected money
    page.goto(f"/opportunities/{deal['id']}/")
    panel = page.get_by_test_id("catalogue-panel")
    expect(panel.get_by_test_id("deal-lines-empty")).to_be_visible()
    expect(page.get_by_test_id("opportunity-amount")).to_contain_text("10,000.00")
    panel.get_by_test_id("deal-line-product").select_option(label="E2E-GW-01 边缘计算网关")
    panel.get_by_test_id("deal-line-add-quantity").fill("2")
    panel.get_by_test_id("deal-line-add").click()
    # 2 × 8,800 = 17,600 + 13 % tax = 19,888
    expect(page.get_by_test_id("deal-line")).to_have_count(1)
    expect(page.get_by_test_id("deal-lines-total")).to_have_text("¥19,888.00")
    expect(page.get_by_test_id("opportunity-amount")).to_have_text("¥19,888.00")
    expect(page.get_by_test_id("deal-margin")).to_have_count(0)

    # 3. Change the quantity; the amount follows, also after a reload (stored, not just shown).
    page.get_by_test_id("deal-line-edit").click()
    page.get_by_test_id("deal-line-quantity").fill("3")
    page.get_by_test_id("deal-line-save").click()
    expect(page.get_by_test_id("opportunity-amount")).to_have_text("¥29,832.00")
    page.reload()
    expect(page.get_by_test_id("opportunity-amount")).to_have_text("¥29,832.00")
    expect(page.get_by_test_id("catalogue-panel")).to_contain_text("边缘计算网关")
    page.get_by_test_id("catalogue-panel").scroll_into_view_if_needed()
    screenshot("rep-deal-zh")

    page.get_by_test_id("language-switch").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    panel = page.get_by_test_id("catalogue-panel")
    expect(panel).to_contain_text("Products")
    expect(panel).to_contain_text("Edge computing gateway")
    expect(panel).to_contain_text("Total (incl. tax)")
    panel.scroll_into_view_if_needed()
    screenshot("rep-deal-en")
    page.goto("/catalogue/")
    expect(page.get_by_test_id("product-list")).to_contain_text("Edge computing gateway")
    screenshot("rep-products-en")
