"""Large-deal approval in the browser: a rep asks for approval on the deal page, the manager
finds it in the approval inbox and returns it to the rep with a comment, the rep reads the
comment and sends it on again, and the manager approves. Screenshots in Chinese and English."""

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


def test_large_deal_request_returned_then_approved(
    page: Page,
    login: Callable[..., None],
    logout: Callable[[Page], None],
    screenshot: Callable[[str], Any],
    manage: Any,
    live_server_url: str,
) -> None:
    admin_token = manage("createtoken", "admin").stdout.strip().splitlines()[-1]
    rep_token = manage("createtoken", "rep").stdout.strip().splitlines()[-1]
    _api(
        live_server_url,
        admin_token,
        "POST",
        "/approvals/rules",
        {
            "kind": "sales.opportunity",
            "name": "大额商机（超过 100 万元）",
            "priority": 1,
            "conditions": [{"fact": "amount", "operator": "gt", "value": "1000000"}],
            "steps": [{"name": "销售经理审批", "approver_type": "manager_chain", "levels": 1}],
        },
    )
    account = _api(live_server_url, rep_token, "POST", "/accounts", {"name": "无锡华瑞精密机械有限公司"})
    deal = _api(
        live_server_url,
        rep_token,
        "POST",
        "/opportunities",
        {"name": "华瑞 智能产线改造", "account_id": account["id"], "amount": "2600000"},
    )

    # the rep asks for approval on the deal page
    login(page, "rep")
    page.goto(f"/opportunities/{deal['id']}/")
    panel = page.get_by_test_id("approval-panel")
    expect(panel.get_by_test_id("approval-panel-empty")).to_be_visible()
    panel.get_by_test_id("request-approval").click()
    expect(panel.get_by_test_id("approval-status").first).to_have_text("待审批")
    expect(panel.get_by_test_id("request-approval")).to_have_count(0)
    screenshot("deal-panel-pending-zh")
    logout(page)

    # the manager finds it in the inbox and returns it to the rep with a comment
    login(page, "manager")
    page.goto("/approvals/")
    row = page.get_by_test_id("inbox-row").filter(has_text="华瑞 智能产线改造")
    expect(row).to_have_count(1)
    screenshot("inbox-zh")
    row.get_by_test_id("inbox-link").click()
    expect(page.get_by_test_id("decision-card")).to_be_visible()
    page.get_by_test_id("decision-comment").fill("请补充客户的预算审批流程和付款计划。")
    page.get_by_test_id("return-step").select_option("0")
    page.get_by_test_id("return-button").click()
    expect(page.get_by_test_id("approval-status").first).to_have_text("已退回申请人")
    request_url = page.url
    logout(page)

    # the rep reads the comment and sends it on again
    login(page, "rep")
    page.goto(request_url)
    expect(page.get_by_test_id("returned-note")).to_be_visible()
    expect(page.get_by_test_id("history-comment").first).to_have_text("请补充客户的预算审批流程和付款计划。")
    screenshot("returned-to-rep-zh")
    page.get_by_test_id("resubmit-comment").fill("已补充：客户预算已于本月获批，付款分三期。")
    page.get_by_test_id("resubmit-button").click()
    expect(page.get_by_test_id("approval-status").first).to_have_text("待审批")
    logout(page)

    # the manager approves
    login(page, "manager")
    page.goto(request_url)
    page.get_by_test_id("decision-comment").fill("同意。")
    page.get_by_test_id("approve-button").click()
    expect(page.get_by_test_id("approval-status").first).to_have_text("已批准")
    expect(page.get_by_test_id("history-row")).to_have_count(4)
    screenshot("request-approved-zh")

    page.get_by_test_id("language-switch").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(request_url)
    expect(page.get_by_test_id("approval-status").first).to_have_text("Approved")
    expect(page.get_by_test_id("route")).to_contain_text("Approved")
    screenshot("request-approved-en")
    page.goto(f"/opportunities/{deal['id']}/")
    expect(page.get_by_test_id("approval-panel").get_by_test_id("approval-status").first).to_have_text("Approved")
    screenshot("deal-panel-approved-en")
    page.goto("/approvals/?box=decided")
    expect(page.get_by_test_id("inbox-row").filter(has_text="华瑞 智能产线改造")).to_have_count(1)
    screenshot("inbox-decided-en")
