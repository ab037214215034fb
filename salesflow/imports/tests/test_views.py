"""The import pages: upload, mapping + template, preview, run, progress fragment, report."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from salesflow.core.testing import run_worker
from salesflow.imports.models import ImportJob, MappingTemplate
from salesflow.imports.tests.factories import LEAD_HEADERS_ZH, csv_bytes, lead_rows
from salesflow.leads.models import Lead

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_wizard_from_upload_to_error_report(personas, client_for, django_capture_on_commit_callbacks, language):
    client = client_for(personas.manager, language)
    page = client.get("/imports/?kind=contact")
    assert page.status_code == 200 and b'value="contact" selected' in page.content
    assert b"leads-zh.csv" in page.content
    assert client.get("/imports/samples/leads-zh.csv").status_code == 200
    assert client.get("/imports/samples/..%2Fmodels.py").status_code == 404
    rows = lead_rows(3, owner="rep")
    rows[1][2] = "123"
    data = csv_bytes([LEAD_HEADERS_ZH, *rows])
    response = client.post("/imports/new/", {"kind": "lead", "file": SimpleUploadedFile("l.csv", data)})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/imports/{job.pk}/"
    detail = client.get(f"/imports/{job.pk}/").content.decode()
    assert 'data-testid="preview-row" data-state="rejected"' in detail and detail.count('data-state="created"') == 2
    mapping = {f"map-{i}": field for i, field in enumerate(job.mapping[h] for h in job.headers)}
    response = client.post(
        f"/imports/{job.pk}/mapping/", {**mapping, "template_name": "Fair cards", "template_shared": "on"}
    )
    assert response.status_code == 302
    assert MappingTemplate.objects.get().shared is True
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/imports/{job.pk}/run/", {"mode": "valid_rows"})
    progress = client.get(f"/imports/{job.pk}/", headers={"HX-Request": "true", "HX-Target": "import-progress"})
    assert b'data-status="queued"' in progress.content and b"hx-get" in progress.content
    run_worker()
    done = client.get(f"/imports/{job.pk}/").content.decode()
    assert 'data-status="done"' in done and "import-error-report" in done and "import-rollback" in done
    report = client.get(f"/imports/{job.pk}/errors.xlsx")
    sheet = load_workbook(io.BytesIO(report.content)).active
    assert sheet is not None
    assert [r[:2] for r in sheet.iter_rows(min_row=2, values_only=True)] == [(3, "手机")]
    assert Lead.objects.count() == 2
    client.post(f"/imports/{job.pk}/rollback/")
    assert Lead.objects.count() == 0
    assert client_for(personas.teammate).get(f"/imports/{job.pk}/").status_code == 404


def test_list_pages_offer_import(personas, client_for) -> None:
    client = client_for(personas.rep)
    for url, kind in (
        ("/leads/", "lead"),
        ("/accounts/", "account"),
        ("/contacts/", "contact"),
        ("/opportunities/", "opportunity"),
    ):
        assert f'data-testid="import-{kind}"'.encode() in client.get(url).content, url


def test_a_refused_upload_is_a_message(personas, client_for) -> None:
    client = client_for(personas.rep)
    response = client.post(
        "/imports/new/", {"kind": "lead", "file": SimpleUploadedFile("x.csv", b"A\x00B")}, follow=True
    )
    assert b"control characters" in response.content and ImportJob.objects.count() == 0
