"""Winning a deal from the board with the confirmation (final amount and close date), then
finding it under this month's won filter on the list — whatever its expected close date —
and seeing its account become a customer. Screenshots in Chinese and English.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable
from datetime import date, timedelta
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


def _drag(page: Page, source_selector: str, target_selector: str) -> None:
    """Drag with real mouse movements (SortableJS listens to native drag events)."""
    source = page.locator(source_selector)
    target = page.locator(target_selector)
    source.scroll_into_view_if_needed()
    src_box = source.bounding_box()
    dst_box = target.bounding_box()
    assert src_box and dst_box
    # grab the card by its bottom line (owner, days in stage): its title is a link and its
    # top right corner the "move to stage" button, neither of which drags
    x, y = src_box["x"] + src_box["width"] / 2, src_box["y"] + src_box["height"] - 8
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 5, y + 5, steps=3)
    page.mouse.move(dst_box["x"] + dst_box["width"] / 2, dst_box["y"] + min(dst_box["height"] / 2, 30), steps=15)
    page.mouse.up()


def test_win_from_the_board_then_find_it_under_won_this_month(
    page: Page, login: Callable[..., None], screenshot: Callable[[str], Any], manage: Any, live_server_url: str
) -> None:
    token = manage("createtoken", "rep").stdout.strip().splitlines()[-1]
    account = _api(live_server_url, token, "POST", "/accounts", {"name": "宁波海曙精密机械有限公司"})
    far = (date.today() + timedelta(days=200)).isoformat()
    deal = _api(
        live_server_url,
        token,
        "POST",
        "/opportunities",
        {"name": "海曙 数控改造项目", "account_id": account["id"], "amount": "560000", "expected_close_date": far},
    )
    late = _api(
        live_server_url,
        token,
        "POST",
        "/opportunities",
        {
            "name": "海曙 备件年度框架",
            "account_id": account["id"],
            "amount": "80000",
            "expected_close_date": (date.today() - timedelta(days=5)).isoformat(),
        },
    )
    card = f"[data-testid=board-card-{deal['id']}]"

    login(page, "rep")
    page.goto("/opportunities/board/")
    expect(page.locator(card)).to_be_visible()
    # the deal past its expected close date is flagged on its card
    expect(page.get_by_test_id(f"past-close-{late['id']}")).to_be_visible()

    # 1. Dropping on "Won" asks first; cancelling puts the card back and changes nothing.
    _drag(page, card, "[data-testid=won-zone]")
    modal = page.get_by_test_id("won-modal")
    expect(modal).to_be_visible()
    expect(page.get_by_test_id("won-amount")).to_have_value("560000.00")
    today = page.get_by_test_id("won-closed-on").input_value()
    assert today == page.get_by_test_id("won-closed-on").get_attribute("max")
    page.get_by_test_id("won-cancel").click()
    expect(modal).to_be_hidden()
    expect(page.locator(f"[data-testid=board-column-prospect] {card}")).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)  # the board re-initialises its drag targets after the swap

    # 2. Drop again and confirm a final amount and a close date (yesterday, unless that is
    #    last month: then today, so the deal stays in this month's filter).
    _drag(page, card, "[data-testid=won-zone]")
    expect(modal).to_be_visible()
    day = date.fromisoformat(today)
    won_on = day - timedelta(days=1) if day.day > 1 else day
    page.get_by_test_id("won-amount").fill("588000")
    page.get_by_test_id("won-closed-on").fill(won_on.isoformat())
    screenshot("won-dialog-zh")
    page.get_by_test_id("won-submit").click()
    expect(page.locator(card)).to_have_count(0)

    # 3. Stored: the deal page shows the close date and the final amount.
    page.goto(f"/opportunities/{deal['id']}/")
    expect(page.get_by_test_id("opportunity-stage")).to_contain_text("赢单")
    expect(page.get_by_test_id("opportunity-closed-on")).to_have_text(won_on.isoformat())
    expect(page.get_by_test_id("opportunity-amount")).to_contain_text("588,000.00")

    # 4. This month's won filter on the list finds it, though it was expected in 200 days.
    page.goto("/opportunities/")
    page.get_by_test_id("won-this-month").click()
    page.wait_for_url(re.compile(r"outcome=won"))
    table = page.get_by_test_id("opportunity-table")
    expect(table.get_by_test_id(f"opportunity-row-{deal['id']}")).to_be_visible()
    expect(table.get_by_test_id(f"close-date-{deal['id']}")).to_contain_text(won_on.isoformat())
    expect(table.get_by_test_id(f"opportunity-row-{late['id']}")).to_have_count(0)
    screenshot("won-this-month-zh")

    # 5. The account became a customer (成交客户).
    page.goto(f"/accounts/{account['id']}/")
    expect(page.get_by_test_id("account-lifecycle").first).to_have_text("成交客户")
    screenshot("account-customer-zh")

    # 6. The same in English, and the overdue filter.
    page.get_by_test_id("language-switch").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("account-lifecycle").first).to_have_text("Customer")
    page.goto("/opportunities/?overdue=1")
    expect(page.get_by_test_id(f"past-close-{late['id']}")).to_be_visible()
    expect(page.get_by_test_id(f"opportunity-row-{deal['id']}")).to_have_count(0)
    screenshot("overdue-en")
    page.goto("/opportunities/")
    page.get_by_test_id("won-this-month").click()
    expect(page.get_by_test_id(f"opportunity-row-{deal['id']}")).to_be_visible()
    screenshot("won-this-month-en")
    page.goto("/opportunities/board/")
    third = _api(
        live_server_url,
        token,
        "POST",
        "/opportunities",
        {"name": "Haishu spare parts", "account_id": account["id"], "amount": "1000"},
    )
    page.reload()
    _drag(page, f"[data-testid=board-card-{third['id']}]", "[data-testid=won-zone]")
    expect(page.get_by_test_id("won-modal")).to_be_visible()
    screenshot("won-dialog-en")
