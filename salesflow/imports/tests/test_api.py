"""The import API end to end (through the task worker) and hostile files: every refusal
is a 400 naming the field, with nothing written."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from salesflow.core.testing import run_worker
from salesflow.imports.models import ImportJob
from salesflow.imports.report import safe_cell
from salesflow.imports.tests.factories import LEAD_HEADERS_EN, LEAD_HEADERS_ZH, csv_bytes, lead_rows, xlsx_bytes
from salesflow.leads.models import Lead
from salesflow.users.services import api_token_create

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    _token, raw = api_token_create(user=user, name="test")
    return Client(headers={"authorization": f"Bearer {raw}", "accept-language": "en"})


def _upload(client: Client, data: bytes, name: str = "leads.csv", kind: str = "lead", **extra: Any) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/api/v1/imports", {"kind": kind, "file": SimpleUploadedFile(name, data), **extra})


def test_the_whole_flow_through_the_api(personas, django_capture_on_commit_callbacks) -> None:
    client = _client(personas.rep)
    rows = lead_rows(4)
    rows[1][3] = '=HYPERLINK("http://evil")'  # formula in a bad email
    rows[2][6] = "yesterday"
    response = _upload(client, csv_bytes([LEAD_HEADERS_EN, *rows]))
    assert response.status_code == 201, response.content
    job = response.json()
    assert job["mapping"]["Email"] == "email" and job["status"] == "mapping" and job["total_rows"] == 4
    job_id = job["id"]
    mapping = {**job["mapping"], "Created": "created_at"}
    assert (
        client.put(
            f"/api/v1/imports/{job_id}/mapping", {"mapping": mapping}, content_type="application/json"
        ).status_code
        == 200
    )
    preview = client.get(f"/api/v1/imports/{job_id}/preview").json()
    assert [r["state"] for r in preview["rows"]] == ["created", "rejected", "rejected", "created"]
    assert preview["rows"][2]["errors"] == [{"column": "Created", "reason": "Enter a date as YYYY-MM-DD."}]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/imports/{job_id}/run", {"mode": "valid_rows"}, content_type="application/json")
    assert response.status_code == 202 and response.json()["status"] == "queued"
    assert run_worker() == 1
    status = client.get(f"/api/v1/imports/{job_id}").json()
    assert (status["status"], status["created"], status["rejected"], status["percent"]) == ("done", 2, 2, 100)
    report = client.get(f"/api/v1/imports/{job_id}/errors.xlsx")
    assert report.status_code == 200
    sheet = load_workbook(io.BytesIO(report.content)).active
    assert sheet is not None
    lines = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert lines[0][:3] == ["Row", "Column", "Reason"]
    assert [(r[0], r[1], r[2]) for r in lines[1:]] == [
        (3, "Email", "Enter a valid email address."),
        (4, "Created", "Enter a date as YYYY-MM-DD."),
    ]
    assert lines[1][3 + 3] == '\'=HYPERLINK("http://evil")'  # escaped, never a formula
    assert Lead.objects.count() == 2
    # resume is refused once done; rollback deletes exactly the two
    assert client.post(f"/api/v1/imports/{job_id}/resume").status_code == 409
    assert client.post(f"/api/v1/imports/{job_id}/rollback").json() == {"deleted": 2, "kept": []}
    assert Lead.objects.count() == 0
    assert client.post(f"/api/v1/imports/{job_id}/cancel").status_code == 409
    # others do not see the job
    assert _client(personas.teammate).get(f"/api/v1/imports/{job_id}").status_code == 404


def test_templates_through_the_api(personas) -> None:
    client = _client(personas.manager)
    body = {"kind": "lead", "name": "Old CRM", "mapping": {"Who": "name", "Cell": "mobile"}, "shared": True}
    response = client.post("/api/v1/imports/templates", body, content_type="application/json")
    assert response.status_code == 201
    template_id = response.json()["id"]
    assert [t["name"] for t in _client(personas.rep).get("/api/v1/imports/templates?kind=lead").json()] == ["Old CRM"]
    data = csv_bytes([["Who", "Cell", "Source"], ["X", "13912345678", "inbound"]])
    job = _upload(_client(personas.rep), data, template_id=str(template_id)).json()
    assert job["mapping"] == {"Who": "name", "Cell": "mobile", "Source": "source_channel"}
    bad = {**body, "mapping": {"Who": "salary"}}
    assert client.post("/api/v1/imports/templates", bad, content_type="application/json").json()["errors"]["mapping"]
    assert (
        client.post("/api/v1/imports/templates", {**body, "x": 1}, content_type="application/json").status_code == 400
    )


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types><Override ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>',
        )
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024 * 1024))
    return buffer.getvalue()


HOSTILE = {
    "wrong-extension-xlsx-as-csv": (lambda: xlsx_bytes([["Name"], ["x"]]), "leads.csv"),
    "csv-as-xlsx": (lambda: csv_bytes([["Name"], ["x"]]), "leads.xlsx"),
    "executable": (lambda: b"MZ\x90\x00" + b"\x00" * 100, "leads.csv"),
    "nul-bytes": (lambda: b"Name,Mobile\nA\x00B,139\n", "leads.csv"),
    "zip-bomb": (_zip_bomb, "leads.xlsx"),
    "not-a-spreadsheet": (lambda: b"%PDF-1.4 hello", "leads.pdf"),
    "empty": (lambda: b"", "leads.csv"),
    "header-only": (lambda: csv_bytes([["Name", "Mobile"]]), "leads.csv"),
    "50k-cell": (lambda: csv_bytes([["Name", "Mobile"], ["x" * 50_000, "139"]]), "leads.csv"),
    "duplicate-headers": (lambda: csv_bytes([["Name", "Name"], ["a", "b"]]), "leads.csv"),
    "html": (lambda: b"<html><script>alert(1)</script></html>", "leads.csv"),
}


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_hostile_files_are_a_400_on_file_and_store_nothing(personas, case) -> None:
    make, name = HOSTILE[case]
    response = _upload(_client(personas.rep), make(), name)
    assert response.status_code == 400, response.content
    assert response.json()["errors"]["file"], response.json()
    assert ImportJob.objects.count() == 0


def test_an_oversized_file_is_refused(personas, settings) -> None:
    settings.SALESFLOW_IMPORT_MAX_BYTES = 200
    response = _upload(_client(personas.rep), csv_bytes([LEAD_HEADERS_ZH, *lead_rows(20)]))
    assert response.status_code == 400 and "larger than" in response.json()["errors"]["file"][0]
    settings.SALESFLOW_ATTACHMENT_MAX_BYTES = 300  # the upload handler stops it while it arrives
    response = _upload(_client(personas.rep), csv_bytes([LEAD_HEADERS_ZH, *lead_rows(20)]))
    assert response.status_code == 400 and response.json()["errors"]["file"]
    assert ImportJob.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("kind", {"kind": "salary"}),
        ("template_id", {"kind": "lead", "template_id": "999999"}),
        ("bogus", {"kind": "lead", "bogus": "1"}),
    ],
)
def test_bad_upload_fields(personas, field, body) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    body = {**body, "file": SimpleUploadedFile("a.csv", csv_bytes([LEAD_HEADERS_ZH, *lead_rows(1)]))}
    response = _client(personas.rep).post("/api/v1/imports", body)
    assert response.status_code == 400 and field in response.json()["errors"]
    assert ImportJob.objects.count() == 0


@pytest.mark.parametrize(
    ("amount", "message"),
    [("NaN", ""), ("1e400", ""), ("99999999999999999999999", ""), ("-5", ""), ("abc", "")],
)
def test_hostile_amounts_and_dates_are_row_errors_naming_the_column(personas, amount, message) -> None:
    from salesflow.parties.services import account_create

    account_create(actor=personas.rep, owner=personas.rep, name="Amount Test Ltd")
    data = csv_bytes([["Account", "Deal name", "Amount", "Created"], ["Amount Test", "Deal", amount, "2024-02-30"]])
    client = _client(personas.rep)
    job = _upload(client, data, kind="opportunity").json()
    row = client.get(f"/api/v1/imports/{job['id']}/preview").json()["rows"][0]
    assert row["state"] == "rejected"
    assert {e["column"] for e in row["errors"]} == {"Amount", "Created"}


def test_hostile_mapping_and_preview_params(personas) -> None:
    client = _client(personas.rep)
    job = _upload(client, csv_bytes([LEAD_HEADERS_ZH, *lead_rows(1)])).json()
    url = f"/api/v1/imports/{job['id']}"
    for body in (
        {"mapping": {"姓名": "salary"}},
        {"mapping": {"x" * 50_000: "name"}},
        {"mapping": {"姓名": "name"}, "x": 1},
    ):
        response = client.put(f"{url}/mapping", body, content_type="application/json")
        assert response.status_code == 400, body
    assert client.put(f"{url}/mapping", "{bad json", content_type="application/json").status_code == 400
    assert client.get(f"{url}/preview?limit=100000").status_code == 400
    assert client.post(f"{url}/run", {"mode": "sometimes"}, content_type="application/json").json()["errors"]["mode"]


def test_safe_cell_escapes_formulas() -> None:
    assert [safe_cell(v) for v in ("=1+1", "+1", "-1", "@SUM(A1)", "ok", None)] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@SUM(A1)",
        "ok",
        "",
    ]


def test_xlsx_upload_through_the_api(personas) -> None:
    response = _upload(_client(personas.rep), xlsx_bytes([LEAD_HEADERS_ZH, *lead_rows(2)]), "leads.xlsx")
    assert response.status_code == 201 and response.json()["total_rows"] == 2
