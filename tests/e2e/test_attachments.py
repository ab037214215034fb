"""Attachments in a real browser: the rep attaches a contract to a deal through the panel
(htmx multipart upload), a spoofed file is refused, the manager downloads the contract, and
a user who may not see the deal gets a 404 for the same download link."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from salesflow.attachments.samples import pdf_bytes

pytestmark = pytest.mark.e2e

MAKE_DEAL = """
from salesflow.parties.models import Account
from salesflow.sales.services import opportunity_create
from salesflow.users.models import User
rep = User.objects.get(username="rep")
account = Account.objects.create(owner=rep, name="杭州附件测试有限公司")
deal = opportunity_create(actor=rep, account=account, owner=rep, name="附件测试商机", amount="88000")
print("DEAL", deal.pk)
"""


def test_attach_download_and_refuse(page: Page, login, logout, screenshot, manage) -> None:
    output = manage("shell", "-c", MAKE_DEAL).stdout
    deal_id = int(re.search(r"DEAL (\d+)", output).group(1))  # type: ignore[union-attr]

    # 1. The rep attaches the signed contract (Chinese UI).
    login(page, "rep")
    page.goto(f"/opportunities/{deal_id}/")
    panel = page.get_by_test_id("attachment-panel")
    expect(panel).to_be_visible()
    expect(page.get_by_test_id("attachment-empty")).to_be_visible()
    form = page.get_by_test_id("attachment-form")
    form.locator("select[name=kind]").select_option("contract")
    form.locator("input[name=file]").set_input_files(
        {"name": "销售合同（盖章版）.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes("Contract")}
    )
    page.get_by_test_id("attachment-submit").click()
    expect(page.get_by_test_id("attachment-row")).to_have_count(1)
    expect(page.get_by_test_id("attachment-row")).to_contain_text("销售合同（盖章版）.pdf")
    expect(page.get_by_test_id("attachment-kind")).to_have_text("合同")

    # 2. An HTML page named .pdf is refused, naming the problem; nothing is added.
    form = page.get_by_test_id("attachment-form")
    form.locator("input[name=file]").set_input_files(
        {"name": "发票.pdf", "mimeType": "application/pdf", "buffer": b"<html><script>alert(1)</script></html>"}
    )
    page.get_by_test_id("attachment-submit").click()
    expect(page.get_by_test_id("attachment-errors")).to_contain_text("不能上传网页")
    expect(page.get_by_test_id("attachment-row")).to_have_count(1)
    screenshot("rep-zh")
    # the upload is on the deal's timeline
    page.reload()
    expect(page.get_by_test_id("attachment-row")).to_have_count(1)
    expect(page.locator("body")).to_contain_text("上传了附件")
    href = page.get_by_test_id("attachment-download").get_attribute("href")
    assert href is not None and re.fullmatch(r"/attachments/\d+/download/", href)

    # 3. The manager may read the deal: the download works and keeps the Chinese name.
    logout(page)
    login(page, "manager")
    page.goto(f"/opportunities/{deal_id}/")
    with page.expect_download() as download_info:
        page.get_by_test_id("attachment-download").click()
    download = download_info.value
    assert download.suggested_filename == "销售合同（盖章版）.pdf"
    with open(download.path(), "rb") as fh:
        assert fh.read() == pdf_bytes("Contract")
    page.get_by_test_id("language-switch").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("attachment-panel")).to_contain_text("Attachments")
    expect(page.get_by_test_id("attachment-kind")).to_have_text("Contract")
    screenshot("manager-en")

    # 4. The outsider (another team) may not see the deal: the same link is a 404.
    logout(page)
    login(page, "outsider")
    response = page.request.get(href)
    assert response.status == 404
    assert page.goto(f"/attachments/panel/opportunity/{deal_id}/").status == 404  # type: ignore[union-attr]
