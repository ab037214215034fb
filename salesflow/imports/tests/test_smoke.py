from __future__ import annotations

import pytest

from salesflow.imports.choices import ImportStatus
from salesflow.imports.selectors import preview
from salesflow.imports.tests.factories import LEAD_HEADERS_ZH, csv_bytes, lead_rows, run, upload
from salesflow.leads.models import Lead

pytestmark = pytest.mark.django_db


def test_smoke(personas) -> None:
    job = upload(personas.rep, "lead", csv_bytes([LEAD_HEADERS_ZH, *lead_rows(5)]))
    assert job.mapping["姓名"] == "name"
    p = preview(job)
    print(p.rows[0])
    assert p.valid == 5, p.rows
    job = run(personas.rep, job)
    assert job.status == ImportStatus.DONE, job.error
    assert Lead.objects.count() == 5
