"""``salesflow duplicates FILE --kind … [--against-db] [--map COLUMN=FIELD]``."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from salesflow.leads.services import lead_create


def run(*args: str) -> list[list[str]]:
    out = io.StringIO()
    call_command("duplicates", *args, stdout=out)
    return [line.split(",", 3) for line in out.getvalue().strip().splitlines()]


def test_pairs_inside_a_csv_with_chinese_headers_and_bom(tmp_path: Path):
    path = tmp_path / "leads.csv"
    path.write_text(
        "编号,姓名,手机,公司名称\nL1,张伟,13812345678,上海星云科技有限公司\nL2,Zhang Wei,+86 138 1234 5678,星云科技\n"
        "L3,李娜,13900000000,北京华为技术有限公司\n",
        encoding="utf-8-sig",
    )
    lines = run(str(path), "--kind", "lead")
    assert lines[0] == ["id_a", "id_b", "score", "reasons"]
    assert len(lines) == 2
    assert lines[1][:2] == ["L1", "L2"] and float(lines[1][2]) >= 0.8
    assert lines[1][3].startswith("same mobile")


def test_gbk_csv_row_numbers_and_map_override(tmp_path: Path):
    path = tmp_path / "accounts.csv"
    path.write_bytes("客户,电话号码\n上海星云科技有限公司,021-68888888\n星云科技（上海）有限公司,\n".encode("gbk"))
    lines = run(str(path), "--kind", "account", "--map", "客户=name")
    assert [line[:2] for line in lines[1:]] == [["1", "2"]]


@pytest.mark.django_db
def test_against_the_database_and_xlsx(tmp_path: Path, personas):
    lead = lead_create(
        actor=personas.rep, owner=personas.rep, name="张伟", source_channel="inbound", mobile="13812345678"
    )
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Name", "Mobile"])
    sheet.append(["Zhang Wei", "0086 138 1234 5678"])
    path = tmp_path / "list.xlsx"
    workbook.save(path)
    lines = run(str(path), "--kind", "lead", "--against-db")
    assert [line[:2] for line in lines[1:]] == [["1", f"lead:{lead.pk}"]]


def error_of(*args: str) -> CommandError:
    with pytest.raises(CommandError) as info:
        call_command("duplicates", *args, stdout=io.StringIO())
    assert info.value.returncode == 2
    return info.value


def test_clear_errors(tmp_path: Path):
    good = tmp_path / "ok.csv"
    good.write_text("name,mobile\na,1\n", encoding="utf-8")
    assert "Unknown kind" in str(error_of(str(good), "--kind", "planet"))
    assert "no column" in str(error_of(str(good), "--kind", "lead", "--map", "nope=name"))
    assert "no field" in str(error_of(str(good), "--kind", "lead", "--map", "name=salary"))
    assert "COLUMN=FIELD" in str(error_of(str(good), "--kind", "lead", "--map", "name"))
    assert "cannot be read" in str(error_of(str(tmp_path / "missing.csv"), "--kind", "lead"))
    fake = tmp_path / "fake.xlsx"
    fake.write_text("name,mobile\n", encoding="utf-8")
    assert "does not match" in str(error_of(str(fake), "--kind", "lead"))
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "x")
        archive.writestr("xl/big.xml", b"\0" * (50 * 1024 * 1024))
    assert "too much data" in str(error_of(str(bomb), "--kind", "lead"))
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    error_of(str(empty), "--kind", "lead")
