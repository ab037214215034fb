"""Reports in a real browser (issue 10): a manager opens the sales report by customer,
exports it as XLSX and CSV, reads both files back and finds the page's figures (the
formula-looking customer name neutralised, the USD deal at its close day's rate, the
reopened win left out), saves the report as a named view and reopens it; zh-Hans and en."""

from __future__ import annotations

import csv
import re
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

SHOTS = Path(__file__).resolve().parents[2] / "shots"

SEED = """
import django; django.setup()
from datetime import date
from decimal import Decimal
from django.utils import timezone
from salesflow.core.services import exchange_rate_create
from salesflow.parties.models import Account
from salesflow.sales.services import opportunity_create, opportunity_close, opportunity_reopen
from salesflow.users.models import User
Y = timezone.localdate().year - 3
rep = User.objects.get(username="rep"); mate = User.objects.get(username="teammate")
admin = User.objects.get(username="admin")
exchange_rate_create(actor=admin, currency="USD", rate="7.10", valid_from=date(Y, 1, 1))
a = Account.objects.create(owner=rep, name="报表星云科技")
b = Account.objects.create(owner=mate, name="=报表公式客户")
def won(owner, acc, amount, day, currency="CNY"):
    o = opportunity_create(actor=owner, account=acc, owner=owner, name="报表商机", amount=Decimal(amount), currency=currency)
    return opportunity_close(actor=owner, opportunity=o, outcome="won", closed_on=day)
won(rep, a, "12000.00", date(Y, 5, 3))
won(rep, a, "1000.00", date(Y, 5, 20), "USD")
won(mate, b, "3456.78", date(Y, 5, 31))
again = won(rep, a, "99999.00", date(Y, 5, 10))
opportunity_reopen(actor=rep, opportunity=again)
print(Y)
"""


def _table(page: Page) -> list[list[str]]:
    rows = page.get_by_test_id("report-table").locator("tbody tr[data-testid=report-row], tfoot tr")
    return [[cell.get_attribute("data-value") or "" for cell in row.locator("td").all()] for row in rows.all()]


def test_manager_exports_a_report_and_reads_it_back(page: Page, login, manage, screenshot, tmp_path: Path) -> None:
    year = int(manage("shell", "-c", SEED).stdout.strip().splitlines()[-1])
    SHOTS.mkdir(exist_ok=True)
    login(page, "manager")
    page.goto("/reports/")
    expect(page.get_by_test_id("reports-index")).to_be_visible()
    page.screenshot(path=str(SHOTS / "reports-index-zh.png"), full_page=True)
    page.get_by_test_id("report-link-sales").click()
    page.locator("select[name=dimension]").select_option("customer")
    page.locator("input[name=period]").fill(f"{year}-05")
    page.get_by_test_id("report-apply").click()
    page.wait_for_url(re.compile(r"dimension=customer"))
    expect(page.get_by_test_id("report-totals")).to_be_visible()
    page.screenshot(path=str(SHOTS / "report-sales-customer-zh.png"), full_page=True)
    screenshot("sales-by-customer-zh")
    shown = _table(page)
    # 12000.00 + 1000 USD × 7.10; the reopened 99999.00 is not a win
    assert shown[0][:3] == ["报表星云科技", "2", "19100.00"]
    assert shown[1][:3] == ["=报表公式客户", "1", "3456.78"]
    assert shown[-1][1:3] == ["3", "22556.78"]

    with page.expect_download() as info:
        page.get_by_test_id("report-export-xlsx").click()
    path = tmp_path / "report.xlsx"
    info.value.save_as(path)
    assert info.value.suggested_filename.endswith(".xlsx")
    rows = [list(r) for r in load_workbook(path, read_only=True).worksheets[0].iter_rows(values_only=True)]
    assert rows[0][0] == "客户"
    assert len(rows) - 1 == len(shown)
    for got, want in zip(rows[1:], shown, strict=True):
        label = want[0] if not want[0].startswith("=") else "'" + want[0]
        assert got[0] == (label if got is not rows[-1] else got[0])
        assert Decimal(str(got[1])) == Decimal(want[1]) and Decimal(str(got[2])).quantize(Decimal("0.01")) == Decimal(
            want[2]
        )
    assert rows[2][0] == "'=报表公式客户"  # formula injection neutralised

    with page.expect_download() as info:
        page.get_by_test_id("report-export-csv").click()
    csv_path = tmp_path / "report.csv"
    info.value.save_as(csv_path)
    text = csv_path.read_text(encoding="utf-8-sig")
    lines = list(csv.reader(text.splitlines()))
    assert [(r[1], r[2]) for r in lines[1:]] == [(w[1], w[2]) for w in shown]

    # save the report as a named view, then reopen it from the bare report page
    page.get_by_test_id("saved-views-toggle").click()
    form = page.get_by_test_id("saved-view-form")
    form.locator("input[name=name]").fill("五月客户报表")
    form.get_by_test_id("saved-view-save").click()
    expect(page.get_by_test_id("saved-views-toggle")).to_contain_text("五月客户报表")
    page.goto("/reports/sales/")
    page.get_by_test_id("saved-views-toggle").click()
    page.get_by_test_id("saved-views-menu").get_by_text("五月客户报表").click()
    page.wait_for_url(re.compile(r"dimension=customer"))
    assert _table(page) == shown

    page.get_by_test_id("language-switch").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("report-table")).to_contain_text("Won revenue")
    assert _table(page)[:-1] == shown[:-1]
    page.screenshot(path=str(SHOTS / "report-sales-customer-en.png"), full_page=True)
    for name in ("won_lost", "velocity", "activities"):
        page.goto(f"/reports/{name}/?period={year}")
        expect(page.get_by_test_id("report-table")).to_be_visible()
        page.screenshot(path=str(SHOTS / f"report-{name}-en.png"), full_page=True)

    # every row links to the records behind it: the records page lists exactly the row's deals
    page.goto(f"/reports/sales/?period={year}-05&dimension=customer")
    first = page.get_by_test_id("report-row").first
    figure = first.locator("td").nth(1).get_attribute("data-value") or ""
    assert figure == "2"
    first.get_by_test_id("report-row-link").click()
    page.wait_for_url(re.compile(r"/dashboards/records/"))
    expect(page.get_by_test_id("dashboards-records-count")).to_have_attribute("data-count", figure)
    expect(page.get_by_test_id("dashboards-records").locator("tbody tr")).to_have_count(2)
    page.screenshot(path=str(SHOTS / "report-row-records-en.png"), full_page=True)
