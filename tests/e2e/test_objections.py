"""The objection library on a deal: a rep logs the objection the customer raised and the
answer used, wins the deal through the confirmation, and sees the answer's win rate in the
deal's panel and in the library (counting an earlier lost deal with the same answer).
Screenshots in English and Chinese."""

from __future__ import annotations

import json
import urllib.error
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


def test_log_an_objection_and_see_the_answers_win_rate_after_winning(
    page: Page, login: Callable[..., None], screenshot: Callable[[str], Any], manage: Any, live_server_url: str
) -> None:
    token = manage("createtoken", "rep").stdout.strip().splitlines()[-1]
    price = _api(live_server_url, token, "GET", "/objections?q=too+high")["items"][0]
    answer = price["answers"][1]  # "Turn the price into a return" (ROI)
    account = _api(live_server_url, token, "POST", "/accounts", {"name": "苏州工业园区晶华电子有限公司"})

    # an earlier deal that used the same answer and was lost
    earlier = _api(
        live_server_url, token, "POST", "/opportunities", {"name": "晶华 一期 MES", "account_id": account["id"]}
    )
    _api(
        live_server_url,
        token,
        "POST",
        f"/opportunities/{earlier['id']}/objections",
        {"objection_id": price["id"], "answer_id": answer["id"]},
    )
    _api(
        live_server_url,
        token,
        "POST",
        f"/opportunities/{earlier['id']}/close",
        {"outcome": "lost", "lost_reason": "price"},
    )

    deal = _api(
        live_server_url, token, "POST", "/opportunities", {"name": "晶华 二期 MES 扩容", "account_id": account["id"]}
    )
    try:  # the handbook's stage where objections are handled (a stage gate may refuse it)
        _api(live_server_url, token, "POST", f"/opportunities/{deal['id']}/move", {"stage": "proposal"})
        at_proposal = True
    except urllib.error.HTTPError:
        at_proposal = False

    login(page, "rep")  # the personas use the product in Chinese
    page.goto(f"/opportunities/{deal['id']}/")
    panel = page.get_by_test_id("objection-panel")
    expect(panel).to_be_visible()
    expect(panel.get_by_test_id("objection-logs-empty")).to_be_visible()
    if at_proposal:  # pre-filtered to the deal's stage: the price objection is offered at once
        expect(panel).to_contain_text("提案与处理异议")
        expect(panel.get_by_test_id("objection-result").filter(has_text="价格太高了。")).to_be_visible()

    # search what the customer said, pick the ROI answer (it shows its record so far: 0 of 1)
    panel.get_by_test_id("objection-search").fill("太高")
    panel.get_by_test_id("objection-search-submit").click()
    result = page.get_by_test_id("objection-result").filter(has_text="价格太高了。")
    expect(result).to_have_count(1)
    result.locator("summary").click()
    choice = result.get_by_test_id("objection-answer-choice").filter(has_text="把价格换算成回报")
    expect(choice).to_contain_text("1 个商机中赢单率 0%")
    choice.get_by_test_id("objection-answer-radio").check()
    result.get_by_test_id("objection-note").fill("客户财务总监在场，按三年回报算账后态度缓和。")
    result.get_by_test_id("objection-log-submit").click()

    logged = page.get_by_test_id("objection-log")
    expect(logged).to_have_count(1)
    expect(logged).to_contain_text("价格太高了。")
    expect(logged.get_by_test_id("objection-log-answer")).to_contain_text("把价格换算成回报")
    expect(logged.get_by_test_id("win-rate")).to_have_text("1 个商机中赢单率 0%")
    screenshot("logged-zh")

    # win the deal through the confirmation page
    page.get_by_test_id("mark-won").click()
    page.get_by_test_id("close-submit").click()
    expect(page).to_have_url(f"{live_server_url}/opportunities/{deal['id']}/")
    logged = page.get_by_test_id("objection-log")
    expect(logged.get_by_test_id("win-rate")).to_have_text("2 个商机中赢单率 50%")
    expect(logged.get_by_test_id("win-rate-thin")).to_contain_text("样本太少")
    screenshot("won-deal-panel-zh")

    # the library shows the same rate next to the answer
    page.get_by_test_id("nav-more").click()
    page.get_by_test_id("nav-objections").click()
    page.get_by_test_id("library-q").fill("太高")
    page.get_by_test_id("library-search").click()
    row = page.get_by_test_id("objection-row").filter(has_text="价格太高了。")
    answer_row = row.get_by_test_id("answer-row").filter(has_text="把价格换算成回报")
    expect(answer_row).to_contain_text("2 个商机中赢单率 50%")
    screenshot("library-zh")

    # and in English
    page.get_by_test_id("language-switch").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto("/objections/?q=too+high")
    row = page.get_by_test_id("objection-row").filter(has_text="Your price is too high.")
    expect(row.get_by_test_id("answer-row").filter(has_text="Turn the price into a return")).to_contain_text(
        "50% won of 2 deals"
    )
    screenshot("library-en")
    row.get_by_test_id("objection-link").click()
    expect(page.get_by_test_id("objection-text")).to_have_text("Your price is too high.")
    page.goto(f"/opportunities/{deal['id']}/")
    logged = page.get_by_test_id("objection-log")
    expect(logged.get_by_test_id("win-rate")).to_have_text("50% won of 2 deals")
    expect(logged).to_contain_text("Your price is too high.")
    screenshot("won-deal-panel-en")
