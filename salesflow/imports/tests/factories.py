"""Helpers for import tests: files in memory, upload + run in one call."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from django.core.files.uploadedfile import SimpleUploadedFile

from salesflow.imports.models import ImportJob
from salesflow.imports.services import import_execute, import_start, import_upload
from salesflow.users.models import User


def csv_bytes(rows: Sequence[Sequence[object]], *, encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[object]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(actor: User, kind: str, data: bytes, name: str = "file.csv") -> ImportJob:
    return import_upload(actor=actor, kind=kind, upload=SimpleUploadedFile(name, data))


def run(actor: User, job: ImportJob, mode: str = "valid_rows", *, batch_size: int = 200) -> ImportJob:
    import_start(actor=actor, job=job, mode=mode)
    result = import_execute(job_id=job.pk, batch_size=batch_size)
    assert result is not None
    return result


LEAD_HEADERS_ZH = ["姓名", "公司名称", "手机", "邮箱", "线索来源", "负责人", "创建日期"]
LEAD_HEADERS_EN = ["Name", "Company", "Mobile", "Email", "Source", "Owner", "Created"]


def lead_rows(n: int, *, start: int = 0, owner: str = "") -> list[list[object]]:
    return [
        [f"客户{i}", f"测试公司{i}有限公司", f"139{i:08d}", f"p{i}@example.com", "inbound", owner, "2024-03-01"]
        for i in range(start, start + n)
    ]
