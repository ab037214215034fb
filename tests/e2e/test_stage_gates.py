"""Stage gates in the browser: a rep's drop into a stage whose entry criteria are unmet is
refused — the unmet criteria are listed in the column it was dropped on and the card is
back in its own column (the keyboard "move to stage" menu behaves the same) — and the
manager overrides with a reason, which moves the deal and shows in its history.
Screenshots in Chinese and English."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
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
    x, y = src_box["x"] + src_box["width"] / 2, src_box["y"] + src_box["height"] - 8
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 5, y + 5, steps=3)
    page.mouse.move(dst_box["x"] + dst_box["width"] / 2, dst_box["y"] + min(dst_box["height"] / 2, 30), steps=15)
    page.mouse.up()


@pytest.fixture
def gated(manage: Any, live_server_url: str) -> Iterator[dict[str, Any]]:
    """Two entry criteria on the B2B pipeline's "proposal" stage (removed afterwards, the
    server is shared with the other browser tests) and a rep's deal in "needs"."""
    admin = manage("createtoken", "admin").stdout.strip().splitlines()[-1]
    rep = manage("createtoken", "rep").stdout.strip().splitlines()[-1]
    pipelines = _api(live_server_url, admin, "GET", "/opportunities/pipelines")
    b2b = next(p for p in pipelines if p["code"] == "b2b")
    proposal = next(s for s in b2b["stages"] if s["code"] == "proposal")
    criteria = [
        _api(
            live_server_url,
            admin,
            "POST",
            f"/opportunities/stages/{proposal['id']}/criteria",
            {"kind": "decision_maker", "label_zh": "已识别拍板人", "label_en": "The decision maker is identified"},
        ),
        _api(
            live_server_url,
            admin,
            "POST",
            f"/opportunities/stages/{proposal['id']}/criteria",
            {"kind": "checklist", "label_zh": "客户财务已确认预算", "label_en": "Budget confirmed by finance"},
        ),
    ]
    account = _api(live_server_url, rep, "POST", "/accounts", {"name": "苏州工业园区星河智造有限公司"})
    deal = _api(
        live_server_url,
        rep,
        "POST",
        "/opportunities",
        # dated (tomorrow) so the card leads its column even on a manager's crowded board
        {
            "name": "星河智造 MES 二期",
            "account_id": account["id"],
            "amount": "420000",
            "stage": "needs",
            "expected_close_date": (date.today() + timedelta(days=1)).isoformat(),
        },
    )
    try:
        yield {"deal": deal, "criteria": criteria}
    finally:
        for criterion in criteria:
            _api(live_server_url, admin, "DELETE", f"/opportunities/criteria/{criterion['id']}")


def test_refused_drop_lists_unmet_criteria_and_the_manager_overrides(
    page: Page,
    login: Callable[..., None],
    logout: Callable[[Any], None],
    screenshot: Callable[[str], Any],
    gated: dict[str, Any],
) -> None:
    deal = gated["deal"]
    dm, budget = gated["criteria"]
    card = f"[data-testid=board-card-{deal['id']}]"
    refusal = page.get_by_test_id("gate-refusal")

    # 1. The rep drags the deal to "proposal": refused, both criteria listed in that
    #    column, the card back in "needs", no override for a rep.
    login(page, "rep")
    page.goto("/opportunities/board/")
    expect(page.locator(f"[data-testid=board-column-needs] {card}")).to_be_visible()
    _drag(page, card, "[data-testid=board-column-proposal] .sf-board-cards")
    expect(page.locator("[data-testid=board-column-proposal] [data-testid=gate-refusal]")).to_be_visible()
    expect(refusal.get_by_test_id(f"gate-unmet-{dm['id']}")).to_contain_text("已识别拍板人")
    expect(refusal.get_by_test_id(f"gate-unmet-{budget['id']}")).to_contain_text("客户财务已确认预算")
    expect(page.locator(f"[data-testid=board-column-needs] {card}")).to_be_visible()
    expect(page.locator(f"[data-testid=board-column-proposal] {card}")).to_have_count(0)
    expect(page.get_by_test_id("gate-override-form")).to_have_count(0)
    screenshot("gate-refused-zh")

    # 2. The keyboard menu takes the same path: refused the same way.
    page.get_by_test_id("gate-refusal-close").click()
    expect(refusal).to_have_count(0)
    page.wait_for_timeout(300)
    page.get_by_test_id(f"move-button-{deal['id']}").click()
    page.get_by_test_id("move-menu").get_by_test_id("move-to-proposal").click()
    expect(refusal.get_by_test_id(f"gate-unmet-{budget['id']}")).to_be_visible()
    expect(page.locator(f"[data-testid=board-column-needs] {card}")).to_be_visible()

    # 3. The manager moves it too (the keyboard menu: a drag across a crowded board of the
    #    shared server could land in the column before, which has no criteria), sees
    #    "Override…", gives a reason: the deal moves.
    logout(page)
    login(page, "manager")
    page.goto("/opportunities/board/")
    page.get_by_test_id("language-switch").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.wait_for_load_state("networkidle")
    expect(page.locator(f"[data-testid=board-column-needs] {card}")).to_be_visible()
    page.get_by_test_id(f"move-button-{deal['id']}").click()
    page.get_by_test_id("move-menu").get_by_test_id("move-to-proposal").click()
    expect(refusal.get_by_test_id(f"gate-unmet-{budget['id']}")).to_contain_text("Budget confirmed by finance")
    expect(refusal.get_by_test_id(f"gate-unmet-{dm['id']}")).to_contain_text("decision-maker role")
    expect(page.locator(f"[data-testid=board-column-needs] {card}")).to_be_visible()
    page.get_by_test_id("gate-override-reason").fill("The CEO agreed at the trade fair; finance confirms next week.")
    screenshot("gate-override-en")
    page.get_by_test_id("gate-override-submit").click()
    expect(page.locator(f"[data-testid=board-column-proposal] {card}")).to_be_visible()
    expect(refusal).to_have_count(0)

    # 4. The deal page: the override in the stage history and the timeline; the checklist.
    page.goto(f"/opportunities/{deal['id']}/")
    expect(page.get_by_test_id("opportunity-stage")).to_contain_text("Proposal")
    expect(page.get_by_test_id("stage-history").locator("[data-testid^=override-]")).to_have_count(1)
    expect(page.locator("#timeline")).to_contain_text("overrode the stage's entry criteria")
    checklist = page.get_by_test_id("checklist")
    expect(checklist.get_by_test_id(f"checklist-item-{budget['id']}")).to_have_attribute("data-met", "false")
    checklist.get_by_test_id(f"checklist-tick-{budget['id']}").click()
    expect(checklist.get_by_test_id(f"checklist-item-{budget['id']}")).to_have_attribute("data-met", "true")
    screenshot("deal-checklist-en")
