"""A duplicate warning, then a merge, then an undo: a rep enters a lead whose mobile and
company another of their leads already has, sees the possible duplicates before saving,
saves anyway with a reason, merges the two (keeping the new e-mail), and undoes the merge.
Screenshots in Chinese and English."""

from __future__ import annotations

import json
import re
import time
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


def _fill_lead(page: Page, mobile: str, email: str) -> None:
    page.goto("/leads/create/")
    page.locator("#id_name").fill("周晓明")
    page.locator("#id_mobile").fill(mobile)
    page.locator("#id_email").fill(email)
    page.locator("#id_company_name").fill("杭州云杉数据科技有限公司")
    page.locator("#id_source_channel").select_option("inbound")
    page.get_by_test_id("lead-submit").click()


def test_a_duplicate_warning_then_a_merge_then_an_undo(
    page: Page, login: Callable[..., None], screenshot: Callable[[str], Any], manage: Any, live_server_url: str
) -> None:
    mobile = f"139{int(time.time() * 1000) % 10**8:08d}"  # unique on the shared server
    token = manage("createtoken", "rep").stdout.strip().splitlines()[-1]
    existing = _api(
        live_server_url,
        token,
        "POST",
        "/leads",
        {
            "name": "周晓明",
            "source_channel": "referral",
            "mobile": mobile,
            "company_name": "杭州云杉数据科技有限公司",
            "duplicate_reason": "e2e",
        },
    )

    login(page, "rep")
    _fill_lead(page, mobile, "zhou@yunshan.example")
    panel = page.get_by_test_id("possible-duplicates")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("疑似重复")
    candidate = panel.get_by_test_id("duplicate-candidate").filter(has_text="周晓明")
    expect(candidate).to_have_attribute("data-id", str(existing["id"]))
    expect(candidate.get_by_test_id("duplicate-open")).to_have_attribute("href", f"/leads/{existing['id']}/")
    screenshot("warning-zh")

    panel.get_by_test_id("duplicate-reason").fill("展会后客户又在官网留了资料，先保存再合并")
    panel.get_by_test_id("duplicate-save-anyway").click()
    page.wait_for_url(re.compile(r"/leads/\d+/$"))  # the new lead's page
    new_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    assert new_id != existing["id"]
    expect(page.locator("#timeline")).to_contain_text("仍然保存")

    # the new lead's possible duplicates → merge the older one into it
    page.get_by_test_id("lead-duplicates").click()
    row = page.get_by_test_id("duplicate-candidate").filter(has_text="周晓明")
    row.get_by_test_id("duplicate-merge").click()
    expect(page).to_have_url(f"{live_server_url}/duplicates/merge/lead/{new_id}/{existing['id']}/")
    page.get_by_test_id("pick-a-email").check()  # the new e-mail stays
    page.get_by_test_id("pick-b-source_channel").check()  # the older source (a referral) stays
    screenshot("merge-zh")
    page.get_by_test_id("merge-submit").click()
    result = page.get_by_test_id("merge-result")
    expect(result).to_be_visible()
    expect(result.get_by_test_id("merge-moved")).to_be_visible()
    screenshot("merged-zh")
    lead = _api(live_server_url, token, "GET", f"/leads/{new_id}")
    assert lead["email"] == "zhou@yunshan.example" and lead["source_channel"] == "referral"

    # undo: the older lead is back with its own values
    page.get_by_test_id("merge-undo").click()
    expect(page.get_by_test_id("merge-undone")).to_be_visible()
    expect(page.get_by_test_id("merge-undo")).to_have_count(0)
    screenshot("undone-zh")
    assert _api(live_server_url, token, "GET", f"/leads/{existing['id']}")["source_channel"] == "referral"
    assert _api(live_server_url, token, "GET", f"/leads/{new_id}")["source_channel"] == "inbound"

    # in English: the same warning and the merge result page
    page.get_by_test_id("language-switch").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("merge-result")).to_contain_text("was merged into")
    screenshot("undone-en")
    _fill_lead(page, mobile, "zhou2@yunshan.example")
    panel = page.get_by_test_id("possible-duplicates")
    expect(panel).to_contain_text("Possible duplicates")
    expect(panel.get_by_test_id("duplicate-candidate")).to_have_count(2)
    expect(panel.get_by_test_id("duplicate-save-anyway")).to_have_text("Save anyway")
    screenshot("warning-en")
