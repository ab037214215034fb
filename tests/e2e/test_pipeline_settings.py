"""Settings → Pipelines in a real browser: the administrator copies the automotive showroom
template, turns the copy on, reorders its stages by drag and drop and with the keyboard
(the up/down buttons), and the board shows the new column order. Screenshots in zh-Hans
(the default) and English."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

CODE = "showroom-e2e"


def _stage_codes(page: Page) -> list[str]:
    return [
        code or "" for code in page.get_by_test_id("stage-row").evaluate_all("rows => rows.map(r => r.dataset.code)")
    ]


def _drag(page: Page, source_selector: str, target_selector: str) -> None:
    """Drag by the handle with real mouse movements (SortableJS listens to native drag events)."""
    source = page.locator(source_selector)
    target = page.locator(target_selector)
    source.scroll_into_view_if_needed()
    src = source.bounding_box()
    dst = target.bounding_box()
    assert src and dst
    page.mouse.move(src["x"] + src["width"] / 2, src["y"] + src["height"] / 2)
    page.mouse.down()
    page.mouse.move(src["x"] + src["width"] / 2 + 2, src["y"] + src["height"] / 2 + 5, steps=3)
    page.mouse.move(dst["x"] + dst["width"] / 2, dst["y"] + 4, steps=15)
    page.mouse.up()


def test_admin_copies_a_template_reorders_it_and_the_board_follows(page: Page, login, screenshot) -> None:  # type: ignore[no-untyped-def]
    login(page, "admin")
    page.goto("/")
    page.locator("[data-bs-toggle=dropdown][aria-label]").last.click()
    page.get_by_test_id("pipeline-settings-link").click()
    # the B2B pipeline and the four templates (other tests on this shared server may add more)
    for code in ("b2b", "b2c-simple", "channel", "auto-showroom", "personal-loan"):
        expect(page.locator(f"[data-testid=pipeline-row][data-code={code}]")).to_have_count(1)
    page.locator("[data-testid=pipeline-row][data-code=auto-showroom] [data-testid=pipeline-link]").click()
    expect(page.get_by_test_id("stage-row")).to_have_count(10)
    expect(page.get_by_test_id("stage-table")).to_contain_text("试乘试驾")

    # copy it under a new code
    form = page.get_by_test_id("pipeline-copy-form")
    form.locator("input[name=copy-code]").fill(CODE)
    form.locator("input[name=copy-name_zh]").fill("展厅销售（测试）")
    form.locator("input[name=copy-name_en]").fill("Showroom (test)")
    page.get_by_test_id("pipeline-copy").click()
    expect(page.get_by_test_id("pipeline-title")).to_have_text("展厅销售（测试）")
    assert _stage_codes(page)[:3] == ["reception", "needs", "presentation"]

    # turn the copy on
    page.get_by_test_id("pipeline-form").locator("input[name=is_active]").check()
    page.get_by_test_id("pipeline-save").click()
    expect(page.get_by_test_id("pipeline-board-link")).to_be_visible()

    # drag "needs" (需求分析) above "reception" (接待) by its handle
    _drag(
        page,
        "[data-testid=stage-row][data-code=needs] [data-testid=stage-drag]",
        "[data-testid=stage-row][data-code=reception]",
    )
    expect(page.locator("[data-testid=stage-row]").first).to_have_attribute("data-code", "needs")
    page.wait_for_load_state("networkidle")
    page.reload()
    assert _stage_codes(page)[:3] == ["needs", "reception", "presentation"]

    # keyboard: focus the "down" button of "test_drive" and press Enter; focus stays on it
    down = page.locator("[data-testid=stage-row][data-code=test_drive] [data-testid=stage-down]")
    down.focus()
    page.keyboard.press("Enter")
    expect(page.locator("[data-testid=stage-row]").nth(4)).to_have_attribute("data-code", "test_drive")
    expect(page.locator("[data-testid=stage-row][data-code=test_drive] [data-testid=stage-down]")).to_be_focused()
    assert _stage_codes(page)[:5] == ["needs", "reception", "presentation", "negotiation", "test_drive"]
    screenshot("zh-hans-settings")

    # the board shows the new order
    page.get_by_test_id("pipeline-board-link").click()
    heads = page.locator("[data-testid^=board-column-]")
    expect(heads.first).to_have_attribute("data-code", "needs")
    codes = heads.evaluate_all("cols => cols.map(c => c.dataset.code)")
    assert codes[:5] == ["needs", "reception", "presentation", "negotiation", "test_drive"]
    expect(page.get_by_test_id("pipeline-select")).to_contain_text("展厅销售（测试）")
    screenshot("zh-hans-board")

    # English: the same pages read in English, guidance included
    with page.expect_navigation():
        page.get_by_test_id("language-switch").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto("/settings/pipelines/")
    page.locator(f"[data-testid=pipeline-row][data-code={CODE}] [data-testid=pipeline-link]").click()
    expect(page.get_by_test_id("stage-table")).to_contain_text("Test drive")
    expect(page.get_by_test_id("stage-table")).to_contain_text("Offer a test drive to every customer")
    screenshot("en-settings")
    with page.expect_navigation():
        page.get_by_test_id("language-switch").select_option("zh-hans")
