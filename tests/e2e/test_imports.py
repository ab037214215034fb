"""An import with bad rows, its error report downloaded and read back (issue 8).

The rep uploads a lead file with Chinese headers through the import page, sees the
suggested column mapping and the preview naming each bad row's column and reason, runs the
import in "import valid rows" mode (the task worker runs it), watches the job finish and
downloads the error report, which openpyxl reads back: every rejected row with its row
number, column and reason, formulas escaped. Screenshots in Chinese and English."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

HEADERS = ["姓名", "公司名称", "手机", "邮箱", "线索来源", "创建日期"]
ROWS = [
    ["导入·钱一", "浦江导入测试有限公司", "13655550001", "qian1@example.cn", "inbound", "2024-03-01"],
    ["导入·钱二", "浦江导入测试有限公司", "1365555", "qian2@example.cn", "inbound", "2024-03-02"],
    ["导入·钱三", "浦江导入测试有限公司", "13655550003", '=HYPERLINK("http://x")', "inbound", "2024-03-03"],
    ["导入·钱四", "浦江导入测试有限公司", "13655550004", "", "inbound", "2024-02-30"],
    ["导入·钱五", "浦江导入测试有限公司", "13655550005", "", "referral", "2024-03-05"],
]


def _file(tmp_path: Path) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([HEADERS, *ROWS])
    path = tmp_path / "展会线索.csv"
    path.write_bytes(buffer.getvalue().encode("utf-8-sig"))
    return path


def test_an_import_with_bad_rows_and_its_error_report(
    page: Page, login: Callable[..., None], screenshot: Callable[[str], Any], manage: Any, tmp_path: Path
) -> None:
    login(page, "rep")
    page.goto("/leads/")
    page.get_by_test_id("import-lead").click()
    expect(page.get_by_test_id("import-kind")).to_have_value("lead")
    page.get_by_test_id("import-file").set_input_files(str(_file(tmp_path)))
    screenshot("upload-zh")
    page.get_by_test_id("import-upload").click()

    # the mapping is suggested from the Chinese headers; the preview names column and reason
    expect(page.get_by_test_id("map-手机")).to_have_value("mobile")
    expect(page.get_by_test_id("map-创建日期")).to_have_value("created_at")
    preview = page.get_by_test_id("import-preview")
    expect(preview.locator('[data-testid="preview-row"][data-state="rejected"]')).to_have_count(3)
    expect(preview.get_by_test_id("preview-error").filter(has_text="创建日期")).to_contain_text("YYYY-MM-DD")
    screenshot("preview-zh")
    page.get_by_test_id("mode-valid_rows").check()
    page.get_by_test_id("import-run").click()
    expect(page.get_by_test_id("import-progress")).to_be_visible()
    manage("worker", "--batch")
    expect(page.get_by_test_id("import-progress")).to_have_attribute("data-status", "done", timeout=15_000)
    expect(page.get_by_test_id("import-counts")).to_contain_text("导入 2 行")
    screenshot("done-zh")

    with page.expect_download() as info:
        page.get_by_test_id("import-error-report").click()
    path = tmp_path / "errors.xlsx"
    info.value.save_as(path)
    sheet = load_workbook(path, read_only=True).worksheets[0]
    lines = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert lines[0][:3] == ["行号", "列", "原因"]
    assert [(r[0], r[1]) for r in lines[1:]] == [(3, "手机"), (4, "邮箱"), (5, "创建日期")]
    assert all(r[2] for r in lines[1:])
    assert lines[2][3 + 3] == '\'=HYPERLINK("http://x")'

    # the same page in English
    page.get_by_test_id("language-switch").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("import-counts")).to_contain_text("2 imported, 0 already existing, 3 rejected")
    screenshot("done-en")
    page.goto("/imports/")
    expect(page.get_by_test_id("import-job-row").first).to_contain_text("展会线索.csv")
    screenshot("list-en")
