"""A board that fits (issue 6): every column or the horizontal scrollbar on screen at common
laptop sizes, scroll positions kept across drops and reloads, dragging to an edge scrolls,
moving a card with the keyboard through the "move to stage" menu, and one stage at a time
with tabs on a phone."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import DEFAULT_TIMEOUT_MS, SCREENSHOTS, _login

pytestmark = pytest.mark.e2e

# The deals of these tests belong to a rep of their own (created on first use), so the other
# browser tests, which count the personas' deals on the board, never see them.
USER = "boardrep"

SEED = """
import json, itertools
from datetime import date, timedelta
from salesflow.parties.models import Account
from salesflow.sales.models import Pipeline, Stage
from salesflow.sales.services import default_pipeline, opportunity_create
from salesflow.users.models import User

spec = json.loads('''{spec}''')
from salesflow.users.models import Team
from salesflow.users.testing import PASSWORD
owner = User.objects.filter(username=spec["owner"]).first()
if owner is None:  # a rep of its own, so other browser tests never see these deals
    owner = User(username=spec["owner"], role="rep", display_name="周静", email="board@example.com",
                 team=Team.objects.get(name="华东一组"))
    owner.set_password(PASSWORD)
    owner.save()
if spec.get("wide"):
    pipeline, created = Pipeline.objects.get_or_create(
        code=spec["wide"], defaults={{"name_en": "Project delivery", "name_zh": "项目交付", "position": 5}}
    )
    if created:
        names = [("立项", "Initiation"), ("调研", "Research"), ("方案", "Solution"), ("演示", "Demo"),
                 ("试点", "Pilot"), ("报价", "Quote"), ("评审", "Review"), ("招标", "Tender"),
                 ("合同", "Contract"), ("签约", "Signing")]
        for pos, (zh, en) in enumerate(names, start=1):
            Stage.objects.create(pipeline=pipeline, code=f"w{{pos}}", name_zh=zh, name_en=en, position=pos,
                                 probability=pos * 9, forecast_category="pipeline", kind="open", rotting_days=30)
        Stage.objects.create(pipeline=pipeline, code="won", name_zh="赢单", name_en="Won", position=20,
                             probability=100, forecast_category="closed", kind="won")
        Stage.objects.create(pipeline=pipeline, code="lost", name_zh="输单", name_en="Lost", position=21,
                             probability=0, forecast_category="omitted", kind="lost")
else:
    pipeline = default_pipeline()
ids = {{}}
companies = ["杭州云帆智能制造", "苏州恒通精密", "上海明德医疗", "南京启航物流", "宁波海辰电子", "无锡瑞丰化工",
             "合肥星河新能源", "常州锦程机械"]
n = 0
for code, count in spec["deals"].items():
    stage = pipeline.stages.get(code=code)
    for i in range(count):
        account = Account.objects.create(owner=owner, name=f"{{companies[n % len(companies)]}}{{spec['tag']}}{{n}}")
        opp = opportunity_create(actor=owner, account=account, owner=owner, pipeline=pipeline, stage=stage,
                                 name=f"{{spec['tag']}}-{{code}}-{{i}} MES 升级", amount=str(50000 + 12500 * n),
                                 expected_close_date=date.today() + timedelta(days=20 + n * 3))
        ids.setdefault(code, []).append(opp.pk)
        n += 1
print("SEED" + json.dumps({{"ids": ids, "pipeline": pipeline.pk}}))
"""


@pytest.fixture
def seed(manage: Callable[..., Any]) -> Callable[..., dict[str, Any]]:
    """``seed(tag, {"prospect": 3}, wide="wide")`` creates open deals for ``USER`` through
    the services (in a 10-stage pipeline when ``wide`` is given); returns ids by stage."""

    def run(tag: str, deals: dict[str, int], *, owner: str = USER, wide: str | None = None) -> dict[str, Any]:
        spec = json.dumps({"owner": owner, "deals": deals, "tag": tag, "wide": wide})
        out = manage("shell", "-c", SEED.format(spec=spec)).stdout
        line = next(ln for ln in out.splitlines() if ln.startswith("SEED"))
        return dict(json.loads(line[4:]))

    return run


def _viewport(page: Page) -> dict[str, int]:
    return dict(page.evaluate("() => ({width: window.innerWidth, height: window.innerHeight})"))


def _scroller(page: Page) -> dict[str, float]:
    return dict(
        page.get_by_test_id("board-scroller").evaluate(
            """el => { const r = el.getBoundingClientRect();
                return {scrollWidth: el.scrollWidth, clientWidth: el.clientWidth, scrollLeft: el.scrollLeft,
                        top: r.top, bottom: r.bottom, left: r.left, right: r.right}; }"""
        )
    )


def _assert_fits(page: Page) -> None:
    """Every column header is on screen, or the board scrolls sideways with its
    scrollbar (the scroller's bottom edge) inside the window."""
    view = _viewport(page)
    box = _scroller(page)
    assert box["bottom"] <= view["height"], f"board bottom {box['bottom']} below the {view['height']} px window"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= view["width"], "the page scrolls sideways"
    heads = page.locator("[data-testid^=column-head-]")
    assert heads.count() > 0
    all_visible = True
    for i in range(heads.count()):
        head = heads.nth(i).bounding_box()
        assert head is not None
        if head["x"] < 0 or head["x"] + head["width"] > view["width"] or head["y"] + head["height"] > view["height"]:
            all_visible = False
    if not all_visible:
        assert box["scrollWidth"] > box["clientWidth"], "columns are off-screen but the board does not scroll"


def _drag(
    page: Page,
    source: str | None,
    target: str | None,
    *,
    holds: Sequence[tuple[float, float]] = (),
    until: str = "",
) -> None:
    """Drag with real mouse movements (SortableJS listens to native drag events): press on
    ``source`` (None: the drag is already going on), rest at each ``holds`` point for a
    moment (until the JS expression ``until`` is true), then drop on ``target`` (None: keep
    holding the card)."""
    if source is not None:
        src = page.locator(source).bounding_box()
        assert src
        # grab the card by its bottom line (owner, days): the title is a link, which does not drag
        grab = (src["x"] + src["width"] / 3, src["y"] + src["height"] - 8)
        page.mouse.move(*grab)
        page.mouse.down()
        page.mouse.move(grab[0] + 5, grab[1] + 5, steps=3)
    for x, y in holds:
        page.mouse.move(x, y, steps=8)
        for i in range(50):  # up to ~4 s on a busy machine; stop once `until` holds
            page.mouse.move(x - (i % 2), y, steps=1)
            page.wait_for_timeout(80)
            if until and i >= 5 and page.evaluate(until):
                break
    if target is None:
        return
    dst = page.locator(target).bounding_box()
    assert dst
    page.mouse.move(dst["x"] + dst["width"] / 2, dst["y"] + min(dst["height"] / 2, 60), steps=15)
    page.mouse.up()


def _count(page: Page, code: str) -> str:
    return page.get_by_test_id(f"column-count-{code}").get_attribute("data-value") or ""


@pytest.mark.parametrize("size", [(1440, 900), (1280, 720)], ids=["1440x900", "1280x720"])
def test_default_pipeline_fits_the_window(page: Page, login, screenshot, seed, size) -> None:
    seed(f"fit{size[0]}", {"prospect": 6, "qualification": 3, "needs": 2, "demo": 2, "proposal": 1, "negotiation": 1})
    page.set_viewport_size({"width": size[0], "height": size[1]})
    login(page, USER)
    page.goto("/opportunities/board/")
    expect(page.get_by_test_id("column-head-negotiation")).to_be_visible()
    _assert_fits(page)
    # six open stages share the width: every header is fully on screen, no sideways scroll
    view = _viewport(page)
    for code in ("prospect", "qualification", "needs", "demo", "proposal", "negotiation"):
        head = page.get_by_test_id(f"column-head-{code}").bounding_box()
        assert head and head["x"] >= 0 and head["x"] + head["width"] <= view["width"]
    box = _scroller(page)
    assert box["scrollWidth"] <= box["clientWidth"] + 1
    # the drop zones and the move buttons are reachable too
    expect(page.get_by_test_id("won-zone")).to_be_in_viewport()
    screenshot("zh")
    page.get_by_test_id("language-switch").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    _assert_fits(page)
    screenshot("en")


def test_wide_pipeline_scrolls_with_the_scrollbar_in_view_and_keeps_positions(page: Page, login, screenshot, seed):
    data = seed("wide", {"w1": 14, "w2": 1, "w8": 2, "w9": 1, "w10": 3}, wide="wide")
    ids = data["ids"]
    page.set_viewport_size({"width": 1280, "height": 720})
    login(page, USER)
    page.goto(f"/opportunities/board/?pipeline={data['pipeline']}")
    expect(page.get_by_test_id("column-head-w10")).to_be_attached()
    box = _scroller(page)
    assert box["scrollWidth"] > box["clientWidth"]  # ten stages do not fit 1280 px: it scrolls
    _assert_fits(page)
    screenshot("wide-start")

    # Dragging a card to the right edge scrolls the board sideways; it lands where it is let go.
    first = f"[data-testid=board-card-{ids['w1'][0]}]"
    scrolled = "() => document.querySelector('[data-testid=board-scroller]').scrollLeft"
    _drag(page, first, None, holds=[(box["right"] - 15, box["top"] + 200)], until=f"{scrolled} > 120")
    assert _scroller(page)["scrollLeft"] > 120  # scrolled while the card was held at the right edge
    # let go over the middle of the last column wholly in view
    x = page.evaluate(
        """() => { const s = document.querySelector('[data-testid=board-scroller]').getBoundingClientRect();
            const cols = [...document.querySelectorAll('.sf-board-column')].map(c => c.getBoundingClientRect())
                .filter(r => r.right <= s.right && r.left >= s.left);
            const r = cols[cols.length - 1]; return r.left + r.width / 2; }"""
    )
    page.mouse.move(x, box["top"] + 200, steps=10)
    page.mouse.up()
    expect(page.get_by_test_id("column-count-w1")).to_have_attribute("data-value", "13")  # moved, stored

    # Scroll to the far right, and the first column down; a drop keeps both positions.
    page.get_by_test_id("board-scroller").evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    page.locator("[data-testid=board-column-w1] .sf-board-cards").evaluate("el => { el.scrollTop = 120; }")
    page.wait_for_timeout(100)
    before = _scroller(page)["scrollLeft"]
    assert before > 0
    w9 = int(_count(page, "w9"))
    _drag(page, f"[data-testid=board-card-{ids['w10'][0]}]", "[data-testid=board-column-w9] .sf-board-cards")
    expect(page.get_by_test_id("column-count-w9")).to_have_attribute("data-value", str(w9 + 1))
    after = _scroller(page)
    assert abs(after["scrollLeft"] - before) <= 2, (before, after["scrollLeft"])
    w1_top = page.locator("[data-testid=board-column-w1] .sf-board-cards").evaluate("el => el.scrollTop")
    assert w1_top >= 100
    _assert_fits(page)
    screenshot("wide-after-drop")

    # A reload keeps them too (sessionStorage).
    page.reload()
    expect(page.get_by_test_id("column-head-w10")).to_be_attached()
    page.wait_for_function("() => document.querySelector('[data-testid=board-scroller]').scrollLeft > 0")
    assert abs(_scroller(page)["scrollLeft"] - before) <= 2
    assert page.locator("[data-testid=board-column-w1] .sf-board-cards").evaluate("el => el.scrollTop") >= 100


def _tab_to(page: Page, testid: str, start: str) -> None:
    """Focus ``start`` and press Tab until ``testid`` has the focus (at most 5 presses)."""
    page.locator(start).focus()
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("t => document.activeElement?.dataset.testid === t", testid):
            return
    raise AssertionError(f"Tab never reached {testid}")


def test_move_a_card_with_the_keyboard(page: Page, login, screenshot, seed, manage) -> None:
    ids = seed("kbd", {"prospect": 2})["ids"]["prospect"]
    login(page, USER)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto("/opportunities/board/")
    card = page.get_by_test_id(f"board-card-{ids[0]}")
    expect(page.locator(f"[data-testid=board-column-prospect] [data-testid=board-card-{ids[0]}]")).to_be_visible()
    before = int(_count(page, "needs"))

    # Tab from the deal's link to its menu button, Enter opens the menu on the first stage.
    _tab_to(page, f"move-button-{ids[0]}", f"[data-testid=board-card-{ids[0]}] a")
    page.keyboard.press("Enter")
    menu = page.get_by_test_id("move-menu")
    expect(menu).to_be_visible()
    expect(page.get_by_test_id(f"move-button-{ids[0]}")).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_test_id("move-to-prospect")).to_have_attribute("aria-disabled", "true")  # where it is
    expect(page.get_by_test_id("move-to-qualification")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_test_id("move-to-needs")).to_be_focused()
    page.screenshot(path=str(SCREENSHOTS / "board-keyboard-menu-zh.png"))
    page.keyboard.press("Enter")
    expect(page.locator(f"[data-testid=board-column-needs] [data-testid=board-card-{ids[0]}]")).to_be_visible()
    expect(page.get_by_test_id("column-count-needs")).to_have_attribute("data-value", str(before + 1))
    expect(page.get_by_test_id(f"move-button-{ids[0]}")).to_be_focused()  # the keyboard user carries on
    expect(page.get_by_test_id("board-status")).to_contain_text("需求")
    page.reload()
    expect(page.locator(f"[data-testid=board-column-needs] [data-testid=board-card-{ids[0]}]")).to_be_visible()

    # Escape closes the menu and gives the focus back.
    page.get_by_test_id(f"move-button-{ids[1]}").focus()
    page.keyboard.press("ArrowDown")
    expect(menu).to_be_visible()
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(page.get_by_test_id(f"move-button-{ids[1]}")).to_be_focused()

    # "Lost" from the menu asks for the reason, like a drop on the Lost zone.
    page.get_by_test_id(f"move-button-{ids[1]}").press("Enter")
    page.keyboard.press("End")
    expect(page.get_by_test_id("move-to-lost")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("lost-modal")).to_be_visible()
    page.get_by_test_id("lost-cancel").click()
    expect(page.get_by_test_id("lost-modal")).to_be_hidden()
    expect(card).to_be_visible()

    # A move the server refuses (the deal was paused meanwhile) shows the server's message.
    manage(
        "shell",
        "-c",
        "from datetime import date, timedelta; from salesflow.sales.models import Opportunity; "
        "from salesflow.sales.services import opportunity_close; "
        f"o = Opportunity.objects.get(pk={ids[1]}); "
        "opportunity_close(actor=o.owner, opportunity=o, outcome='paused', resume_date=date.today() + timedelta(days=9))",
    )
    page.get_by_test_id(f"move-button-{ids[1]}").press("Enter")
    page.keyboard.press("Enter")  # the first other stage
    expect(page.get_by_test_id("board-error")).to_be_visible()
    expect(page.get_by_test_id(f"board-card-{ids[1]}")).to_have_count(0)  # paused: no longer on the board
    screenshot("refused")


@pytest.fixture
def phone(browser: Any, live_server_url: str) -> Iterator[Page]:
    context = browser.new_context(
        base_url=live_server_url,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def test_phone_shows_one_stage_with_tabs(phone: Page, seed) -> None:
    ids = seed("phone", {"prospect": 3, "qualification": 1})["ids"]
    page = phone
    _login(page, USER)
    page.goto("/opportunities/board/")
    tabs = page.get_by_test_id("board-tabs")
    expect(tabs).to_be_visible()
    expect(page.get_by_test_id("board-column-prospect")).to_be_visible()
    expect(page.get_by_test_id("board-column-qualification")).to_be_hidden()
    expect(page.get_by_test_id("won-zone")).to_be_hidden()  # no dragging on a phone: the menu instead
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    column = page.get_by_test_id("board-column-prospect").bounding_box()
    assert column and column["x"] >= 0 and column["x"] + column["width"] <= 390
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "board-phone-zh.png"), full_page=True)

    # Move a card with the menu (tap): it leaves this tab, the tab counts follow.
    qual_before = int(_count(page, "qualification"))
    page.get_by_test_id(f"move-button-{ids['prospect'][0]}").tap()
    expect(page.get_by_test_id("move-menu")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "board-phone-menu-zh.png"))
    page.get_by_test_id("move-to-qualification").tap()
    expect(page.get_by_test_id(f"board-card-{ids['prospect'][0]}")).to_be_hidden()
    expect(page.get_by_test_id("column-count-qualification")).to_have_attribute("data-value", str(qual_before + 1))
    expect(page.get_by_test_id("board-tab-qualification")).to_contain_text(str(qual_before + 1))

    # Switch tabs: the other stage shows, the choice survives a reload.
    page.get_by_test_id("board-tab-qualification").tap()
    expect(page.get_by_test_id("board-column-qualification")).to_be_visible()
    expect(page.get_by_test_id("board-column-prospect")).to_be_hidden()
    expect(page.get_by_test_id(f"board-card-{ids['prospect'][0]}")).to_be_visible()
    page.reload()
    expect(page.get_by_test_id("board-column-qualification")).to_be_visible()
    expect(page.get_by_test_id("board-tab-qualification")).to_have_attribute("aria-selected", "true")

    # English, through the language cookie (the switch is in the collapsed menu on a phone)
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": page.url}])
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("board-column-qualification")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "board-phone-en.png"), full_page=True)


# ------------------------------------------------------------------ the header (issue 6)

# The global search box must stay usable beside the menu: at least this wide, unfocused.
SEARCH_MIN_PX = 176  # 11rem: "Search…  /" and a few words typed


def _header(page: Page) -> dict[str, Any]:
    return dict(
        page.evaluate(
            """() => {
              const bar = document.querySelector('header.sf-navbar');
              const items = [...bar.querySelectorAll('#sf-nav > .navbar-nav:first-child > .nav-item')]
                .filter(el => el.offsetParent !== null).map(el => el.getBoundingClientRect());
              const search = document.querySelector('[data-testid=global-search]').getBoundingClientRect();
              const form = document.querySelector('[data-global-search]').getBoundingClientRect();
              const user = document.querySelector('[data-testid=user-menu]').getBoundingClientRect();
              return {height: bar.getBoundingClientRect().height, tops: items.map(r => Math.round(r.top)),
                      navRight: Math.max(...items.map(r => r.right)), searchLeft: form.left,
                      searchWidth: search.width, userRight: user.right,
                      pageWidth: document.documentElement.scrollWidth, view: window.innerWidth};
            }"""
        )
    )


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_header_fits_with_a_usable_search_box(browser, live_server_url, language) -> None:
    """At 1280, 1366 and 1920 px, in English and Chinese: the menu on one line, nothing
    overlapping or off-screen, and the search box at least ``SEARCH_MIN_PX`` wide without
    focus; in English the entries folded into "More" are reachable with the keyboard."""
    context = browser.new_context(
        base_url=live_server_url,
        locale="en-US" if language == "en" else "zh-CN",
        viewport={"width": 1366, "height": 800},
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        page = context.new_page()
        _login(page, "admin")
        context.add_cookies([{"name": "django_language", "value": language, "url": live_server_url}])
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for width in (1280, 1366, 1920):
            page.set_viewport_size({"width": width, "height": 800})
            page.goto("/")
            expect(page.locator("html")).to_have_attribute("lang", language)
            m = _header(page)
            clip = {"x": 0, "y": 0, "width": width, "height": 120}
            page.screenshot(path=str(SCREENSHOTS / f"header-{language}-{width}.png"), clip=clip)
            assert m["pageWidth"] <= m["view"], f"the page scrolls sideways at {width} px"
            assert len(set(m["tops"])) == 1, f"the menu wraps at {width} px: {m['tops']}"
            assert m["navRight"] <= m["searchLeft"], f"the menu runs under the search box at {width} px"
            assert m["userRight"] <= m["view"], f"the user menu is off-screen at {width} px"
            assert m["searchWidth"] >= SEARCH_MIN_PX, f"the search box is {m['searchWidth']} px wide at {width} px"
            assert m["height"] <= 64, f"the header is {m['height']} px high at {width} px"
            # Contacts and Activities: in the bar, or in English below 1500 px at the top of "More"
            folded = width < 1500 and language == "en"
            expect(page.locator("#sf-nav .navbar-nav > .nav-item > a[href='/contacts/']")).to_be_visible(
                visible=not folded
            )
            expect(page.get_by_test_id("nav-more-contacts")).to_be_attached()
        if language != "en":
            return
        # the folded entries by keyboard: focus "More", open it, arrow down to Contacts, Enter
        page.set_viewport_size({"width": 1366, "height": 800})
        page.goto("/")
        page.get_by_test_id("nav-more").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("nav-more-contacts")).to_be_visible()
        page.keyboard.press("ArrowDown")
        expect(page.get_by_test_id("nav-more-contacts")).to_be_focused()
        page.keyboard.press("Enter")
        page.wait_for_url("**/contacts/")
        more = page.locator("#sf-nav .nav-item.dropdown:has([data-testid=nav-more])")
        expect(more).to_have_class(re.compile(r"\bsf-folded-active\b"))  # "More" marks the current page
    finally:
        context.close()
