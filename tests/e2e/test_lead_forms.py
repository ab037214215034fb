"""A web-to-lead form submitted from a plain HTML page served on another port: an
administrator sets up a round-robin assignment rule and a form (API), a tiny ``http.server``
on a free port serves a company website whose ``<form action>`` posts to ``/f/<token>/``
and whose other page embeds the form in an iframe; a visitor submits it in Chromium, sees
the thank-you page, and the lead exists, assigned by the rule, with its assignment history
on the lead page. Screenshots of the settings pages in Chinese and English."""

from __future__ import annotations

import functools
import http.server
import json
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

MOBILE = "13671234567"


def _api(base: str, token: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        f"{base}/api/v1{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        return json.loads(response.read() or b"null")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def website(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A company website on another port: ``(origin, document root)``."""
    port = _free_port()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", tmp_path
    finally:
        server.shutdown()
        server.server_close()


def test_a_web_to_lead_form_submitted_from_a_plain_html_page_on_another_port(
    page: Page,
    login: Callable[..., None],
    screenshot: Callable[[str], Any],
    manage: Any,
    live_server_url: str,
    website: tuple[str, Path],
) -> None:
    origin, root = website
    token = manage("createtoken", "admin").stdout.strip().splitlines()[-1]
    users = {u["username"]: u["id"] for u in _api(live_server_url, token, "GET", "/users")}
    rule = _api(
        live_server_url,
        token,
        "POST",
        "/assignment-rules",
        {
            "name": "官网线索 · 轮流分配",
            "source_channel": "inbound",
            "strategy": "round_robin",
            "member_ids": [users["rep"], users["teammate"]],
        },
    )
    consent = "我同意贵公司按照隐私政策处理我的个人信息，并与我联系。"
    form = _api(
        live_server_url,
        token,
        "POST",
        "/lead-forms",
        {
            "name": "官网联系表单",
            "source_channel": "inbound",
            "sub_channel": "website",
            "campaign": "官网 2026",
            "fields": ["name", "company_name", "mobile", "need"],
            "required_fields": ["name", "mobile"],
            "consent_text": consent,
            "thank_you_message": "感谢您的留言，我们会尽快联系您。",
            "allowed_origins": [origin],
        },
    )
    action = f"{live_server_url}/f/{form['token']}/"
    (root / "contact.html").write_text(
        f"""<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>联系我们 · 示例公司</title></head>
<body><h1>联系我们</h1>
<form action="{action}" method="post" accept-charset="utf-8">
  <label>姓名 <input name="name" id="name" required></label>
  <label>公司 <input name="company_name" id="company"></label>
  <label>手机 <input name="mobile" id="mobile" required></label>
  <label>需求 <textarea name="need" id="need"></textarea></label>
  <input type="text" name="website" value="" tabindex="-1" autocomplete="off" style="display:none">
  <label><input type="checkbox" name="consent" value="yes" id="consent" required> {consent}</label>
  <button type="submit" id="send">提交</button>
</form></body></html>""",
        encoding="utf-8",
    )
    (root / "embed.html").write_text(
        f"""<!doctype html><html><head><meta charset="utf-8"><title>嵌入</title></head>
<body><iframe id="lead-form" src="{action}" width="600" height="700"></iframe></body></html>""",
        encoding="utf-8",
    )

    # the visitor submits the plain HTML form on the company website
    page.goto(f"{origin}/contact.html")
    page.fill("#name", "欧阳娜")
    page.fill("#company", "厦门海辰新能源科技有限公司")
    page.fill("#mobile", MOBILE)
    page.fill("#need", "想了解储能项目的 CRM 方案。")
    page.check("#consent")
    page.click("#send")
    expect(page.get_by_test_id("public-form-thanks")).to_contain_text("感谢您的留言")
    assert page.url == action

    # the iframe on the allowed origin shows the form (frame-ancestors names it)
    page.goto(f"{origin}/embed.html")
    frame = page.frame_locator("#lead-form")
    expect(frame.get_by_test_id("public-form")).to_be_visible()
    expect(frame.get_by_test_id("public-form-consent")).to_be_visible()

    # the lead exists, stamped with the form's source, and a rule assigned it
    leads = _api(live_server_url, token, "GET", f"/leads?q={MOBILE}")["items"]
    assert len(leads) == 1
    lead = leads[0]
    assert lead["owner_id"] in (users["rep"], users["teammate"])
    assert (lead["source_channel"], lead["sub_channel"], lead["campaign"]) == ("inbound", "website", "官网 2026")
    routing = _api(live_server_url, token, "GET", f"/leads/{lead['id']}/assignments")
    assert routing["history"][0]["strategy"] == "round_robin"
    assert routing["history"][0]["rule_id"] == rule["id"]

    # the administrator sees the settings pages and the lead's assignment history
    login(page, "admin")
    page.goto(f"/settings/lead-forms/{form['id']}/")
    expect(page.get_by_test_id("snippet-iframe")).to_contain_text(f"/f/{form['token']}/")
    expect(page.get_by_test_id("lead-form-submissions")).to_contain_text("欧阳娜")
    screenshot("lead-form-settings-zh")
    page.goto("/settings/assignment/?source_channel=inbound")
    expect(page.get_by_test_id("rule-row").filter(has_text="官网线索 · 轮流分配")).to_be_visible()
    expect(page.get_by_test_id("rule-preview-result")).to_contain_text("官网线索 · 轮流分配")
    screenshot("assignment-settings-zh")
    page.goto(f"/leads/{lead['id']}/")
    panel = page.get_by_test_id("lead-routing-panel")
    expect(panel).to_contain_text("分配记录")
    expect(panel.get_by_test_id("assignment-row")).to_contain_text("轮流分配")
    screenshot("lead-assignment-history-zh")

    page.get_by_test_id("language-switch").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto("/settings/lead-forms/")
    expect(page.get_by_test_id("lead-form-row").filter(has_text="官网联系表单")).to_be_visible()
    page.goto(f"/settings/lead-forms/{form['id']}/")
    expect(page.get_by_test_id("lead-form-embed")).to_contain_text("Embed on your website")
    screenshot("lead-form-settings-en")
    page.goto("/settings/assignment/")
    expect(page.get_by_test_id("rule-list")).to_contain_text("Round-robin")
    screenshot("assignment-settings-en")
