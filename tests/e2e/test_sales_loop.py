"""The core sales loop in a real browser: a rep creates a lead, qualifies and converts it,
drags the new deal across the pipeline board, marks it won, and switches the language.

Every step is checked against what the server stored (re-reading pages), not just against
what the browser shows right after an action.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def _drag(page: Page, source_selector: str, target_selector: str) -> None:
    """Drag with real mouse movements (SortableJS listens to native drag events)."""
    source = page.locator(source_selector)
    target = page.locator(target_selector)
    source.scroll_into_view_if_needed()
    src_box = source.bounding_box()
    dst_box = target.bounding_box()
    assert src_box and dst_box
    page.mouse.move(src_box["x"] + src_box["width"] / 2, src_box["y"] + 10)
    page.mouse.down()
    page.mouse.move(src_box["x"] + src_box["width"] / 2 + 5, src_box["y"] + 15, steps=3)
    page.mouse.move(dst_box["x"] + dst_box["width"] / 2, dst_box["y"] + min(dst_box["height"] / 2, 60), steps=15)
    page.mouse.up()


def _column_count(page: Page, code: str) -> int:
    return int(page.get_by_test_id(f"column-count-{code}").get_attribute("data-value") or "0")


def test_rep_runs_the_core_sales_loop(page: Page, login, screenshot, live_server_url: str) -> None:
    login(page, "rep")

    # 1. Create a lead (Chinese UI: the browser asks for zh-CN).
    page.goto("/leads/")
    page.get_by_test_id("lead-create").click()
    form = page.get_by_test_id("lead-form")
    form.locator("[name=name]").fill("周晓明")
    form.locator("[name=title]").fill("信息中心主任")
    form.locator("[name=company_name]").fill("杭州云帆智能制造有限公司")
    form.locator("[name=mobile]").fill("139 1234 5678")
    form.locator("[name=source_channel]").select_option("inbound")
    screenshot("lead-form")
    page.get_by_test_id("lead-submit").click()
    page.wait_for_url(re.compile(r"/leads/\d+/$"))
    lead_url = page.url
    expect(page.get_by_test_id("lead-name")).to_have_text("周晓明")
    # the mobile number was normalised by the service
    expect(page.get_by_test_id("lead-person-card")).to_contain_text("13912345678")

    # 2. A new lead offers no conversion yet: it has to be qualified first.
    expect(page.get_by_test_id("lead-convert")).to_have_count(0)

    # 3. Qualify with BANT.
    qualify = page.get_by_test_id("qualify-form")
    qualify.locator("[name=bant-budget_status]").select_option("yes")
    qualify.locator("[name=bant-budget_amount]").fill("880000")
    qualify.locator("[name=bant-authority_status]").select_option("yes")
    qualify.locator("[name=bant-need]").fill("生产执行系统（MES）替换旧系统")
    qualify.locator("[name=bant-timeline]").fill((date.today() + timedelta(days=90)).isoformat())
    qualify.locator("button[type=submit]").click()
    # the BANT card is swapped in by htmx once the server has qualified the lead
    expect(page.get_by_test_id("bant-complete")).to_be_visible()
    page.reload()  # stored, not just shown
    expect(page.get_by_test_id("bant-complete")).to_be_visible()
    expect(page.locator("[data-testid=lead-convert]")).to_be_visible()
    screenshot("lead-qualified")

    # 4. Convert into account + contact + opportunity.
    page.get_by_test_id("lead-convert").click()
    page.wait_for_url(re.compile(r"/convert/$"))
    convert = page.get_by_test_id("convert-form")
    convert.locator("[name=opportunity_name]").fill("云帆 MES 项目")
    convert.locator("[name=amount]").fill("880000")
    screenshot("convert")
    page.get_by_test_id("convert-submit").click()
    page.wait_for_url(re.compile(r"/opportunities/\d+/$"))
    opp_id = int(re.search(r"/opportunities/(\d+)/$", page.url).group(1))  # type: ignore[union-attr]
    expect(page.locator("body")).to_contain_text("云帆 MES 项目")
    expect(page.locator("body")).to_contain_text("¥880,000.00")
    page.goto(lead_url)
    expect(page.get_by_test_id("converted-opportunity")).to_contain_text("云帆 MES 项目")
    expect(page.get_by_test_id("converted-account")).to_contain_text("杭州云帆智能制造有限公司")

    # 5. The BANT is complete, so the deal starts after the BANT stage (needs assessment);
    #    drag it to the next stage on the board.
    page.goto("/opportunities/board/")
    card = f"[data-testid=board-card-{opp_id}]"
    expect(page.locator(f"[data-testid=board-column-needs] {card}")).to_be_visible()
    assert _column_count(page, "needs") == 1
    assert _column_count(page, "demo") == 0
    screenshot("board-before")
    _drag(page, card, "[data-testid=board-column-demo] .sf-board-cards")
    expect(page.locator(f"[data-testid=board-column-demo] {card}")).to_be_visible()
    expect(page.get_by_test_id("column-count-demo")).to_have_attribute("data-value", "1")
    expect(page.get_by_test_id("column-count-needs")).to_have_attribute("data-value", "0")
    # 880,000 × 50 % — the column header totals come from the server
    expect(page.get_by_test_id("column-weighted-demo")).to_have_attribute("data-value", "440000.00")
    page.reload()  # stored, not just moved in the DOM
    expect(page.locator(f"[data-testid=board-column-demo] {card}")).to_be_visible()
    screenshot("board-after-move")

    # 6. Drop it on "Won" and confirm the final amount and the close date.
    _drag(page, card, "[data-testid=won-zone]")
    expect(page.get_by_test_id("won-modal")).to_be_visible()
    page.get_by_test_id("won-submit").click()
    expect(page.locator(card)).to_have_count(0)
    page.goto(f"/opportunities/{opp_id}/")
    expect(page.get_by_test_id("opportunity-stage")).to_contain_text("赢单")
    screenshot("deal-won")

    # The stage history has the three rows: created in prospect, moved, won.
    history = page.get_by_test_id("stage-history")
    expect(history.locator("tbody tr")).to_have_count(3)

    # 7. Switch to English: the same deal page, now in English.
    page.get_by_test_id("language-switch").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("opportunity-stage")).to_contain_text("Won")
    expect(page.locator(".navbar")).to_contain_text("Opportunities")
    screenshot("deal-won-en")
