"""Attachments on records: services, persona matrix, downloads, thumbnails, deletion, UI panel.

(Here rather than in ``salesflow/attachments/tests``: they drive records of the apps above
``attachments``, which the app-order contract forbids that app's own modules to import.)
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404

from salesflow.activities.services import activity_delete
from salesflow.activities.tests.factories import make_activity
from salesflow.attachments import storage
from salesflow.attachments.models import Attachment
from salesflow.attachments.permissions import get_attachment_for_user
from salesflow.attachments.samples import docx_bytes, jpeg_bytes, pdf_bytes, png_bytes
from salesflow.attachments.services import (
    attachment_add,
    attachment_delete,
    attachments_purge_orphans,
    attachments_purge_stray_files,
    clean_file_name,
)
from salesflow.core.audit import timeline_for
from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.core.testing import run_worker
from salesflow.leads.tests.factories import make_lead
from salesflow.parties.services import account_delete
from salesflow.sales.services import opportunity_delete
from salesflow.sales.tests.factories import make_account, make_contact, make_opportunity
from salesflow.users.services import share_grant
from salesflow.users.testing import PERSONA_NAMES, expected_denial

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def attachments_dir(settings, tmp_path):
    settings.SALESFLOW_ATTACHMENTS_DIR = tmp_path / "attachments"
    return settings.SALESFLOW_ATTACHMENTS_DIR


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


@pytest.fixture
def deal(personas):
    return make_opportunity(personas.rep, name="华东项目")


def add(personas, record, name="合同.pdf", content=None, kind="contract"):
    return attachment_add(actor=personas.rep, record=record, upload=upload(name, content or pdf_bytes()), kind=kind)


def test_add_stores_under_a_random_name_and_audits_on_the_record(personas, deal, attachments_dir):
    attachment = add(personas, deal, "报价 v2.pdf")
    assert attachment.file_name == "报价 v2.pdf"
    assert attachment.mime_type == "application/pdf" and attachment.kind == "contract"
    assert attachment.size == len(pdf_bytes()) and len(attachment.sha256) == 64
    stored = storage.absolute(attachment.stored_path)
    assert stored.read_bytes() == pdf_bytes()
    assert attachments_dir.resolve() in stored.parents and "报价" not in str(stored) and ".pdf" not in stored.name
    event = AuditEvent.objects.get(verb="attachments.attachment.added")
    assert event.target_id == deal.pk and event.data["file_name"] == "报价 v2.pdf"
    assert event.data["size"] == attachment.size and event.data["kind"] == "contract"
    assert event in list(timeline_for(deal, user=personas.manager))


@pytest.mark.parametrize(
    ("name", "content", "mime"),
    [
        ("photo.png", png_bytes(), "image/png"),
        ("现场.JPG", jpeg_bytes(), "image/jpeg"),
        ("方案.docx", docx_bytes(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("客户名单.csv", "名称,电话\n星云,13800000000\n".encode(), "text/csv"),
        ("gbk.txt", "纪要：客户同意报价".encode("gb18030"), "text/plain"),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 40 and "\n" not in value else "…",
)
def test_allowed_types_are_detected_by_content(personas, deal, name, content, mime):
    assert add(personas, deal, name, content, kind="other").mime_type == mime


def _xlsx() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["客户", "金额"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xlsx_from_openpyxl_is_accepted(personas, deal):
    assert add(personas, deal, "报价.xlsx", _xlsx()).mime_type.endswith("spreadsheetml.sheet")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("evil.pdf", b"MZ\x90\x00\x03" + b"\x00" * 200),  # a Windows executable named .pdf
        ("evil.pdf", b"<!DOCTYPE html><html><script>alert(1)</script></html>"),  # HTML named .pdf
        ("page.txt", b"<html><body><script>alert(1)</script></body></html>"),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("logo.png", b'<svg xmlns="http://www.w3.org/2000/svg"></svg>'),
        ("report.pdf", png_bytes()),  # a real PNG under a PDF name
        ("photo.png", pdf_bytes()),
        ("setup.exe", b"MZ" + b"\x00" * 100),
        ("run.sh", b"#!/bin/sh\nrm -rf /\n"),
        ("notes.txt", b"text\x00with NUL"),
        ("broken.png", png_bytes()[:60]),  # a truncated image does not decode
        ("doc.docx", b"PK\x03\x04" + b"\x00" * 50),  # not a real zip
        ("archive.zip", docx_bytes()),
        ("noext", b"plain text"),
        ("empty.txt", b""),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 40 and "\n" not in value else "…",
)
def test_spoofed_and_forbidden_types_are_refused_naming_the_field(personas, deal, name, content, attachments_dir):
    with pytest.raises(ValidationFailed) as caught:
        add(personas, deal, name, content)
    assert list(caught.value.field_errors) == ["file"]
    assert not Attachment.objects.exists()
    assert not AuditEvent.objects.filter(verb="attachments.attachment.added").exists()
    assert not [p for p in Path(attachments_dir).rglob("*") if p.is_file()], "a refused file was left on disk"


def test_macro_documents_and_zip_bombs_are_refused(personas, deal):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", docx_bytes() and "x")
        archive.writestr("word/bomb.xml", b"0" * (30 * 1024 * 1024))  # 30 MB of zeros: a huge ratio
    with pytest.raises(ValidationFailed) as caught:
        add(personas, deal, "bomb.docx", buffer.getvalue())
    assert "too much data" in caught.value.field_errors["file"][0]
    macro = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx_bytes())) as src, zipfile.ZipFile(macro, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr("word/vbaProject.bin", b"\x00" * 10)
    with pytest.raises(ValidationFailed, match="could not be attached"):
        add(personas, deal, "macro.docx", macro.getvalue())


def test_image_pixel_limit_refuses_decompression_bombs(personas, deal, settings):
    settings.SALESFLOW_ATTACHMENT_MAX_PIXELS = 1000
    with pytest.raises(ValidationFailed) as caught:
        add(personas, deal, "big.png", png_bytes(100, 100))
    assert "pixels" in caught.value.field_errors["file"][0]


def test_size_limit(personas, deal, settings, attachments_dir):
    settings.SALESFLOW_ATTACHMENT_MAX_BYTES = 1024
    with pytest.raises(ValidationFailed) as caught:
        add(personas, deal, "big.txt", b"a" * 1025)
    assert "larger than 1 KB" in caught.value.field_errors["file"][0]
    assert not Attachment.objects.exists()
    # a lying size (the stream is longer than announced) is caught while writing
    lying = upload("big.txt", b"a" * 4096)
    lying.size = 10
    with pytest.raises(ValidationFailed):
        attachment_add(actor=personas.rep, record=deal, upload=lying, kind="other")
    assert not [p for p in Path(attachments_dir).rglob("*") if p.is_file()]


def test_kind_is_validated(personas, deal):
    with pytest.raises(ValidationFailed) as caught:
        add(personas, deal, kind="secret")
    assert list(caught.value.field_errors) == ["kind"]


def test_file_names_are_sanitised():
    assert clean_file_name("C:\\Users\\me\\合同.pdf") == "合同.pdf"
    assert clean_file_name("../../etc/passwd.txt") == "passwd.txt"
    assert clean_file_name('a<b>:"c|?*.txt') == "a_b___c___.txt"
    assert clean_file_name("  .hidden.txt ") == "hidden.txt"
    long = clean_file_name("长" * 500 + ".pdf")
    assert len(long) == 200 and long.endswith(".pdf")
    for bad in ("a\x00b.pdf", "a\nb.pdf", "\x1b[31m.pdf"):
        with pytest.raises(ValidationFailed):
            clean_file_name(bad)
    with pytest.raises(ValidationFailed):
        clean_file_name("...")


@pytest.mark.parametrize("persona", PERSONA_NAMES)
def test_upload_persona_matrix(personas, deal, persona):
    user = personas.all()[persona]
    denied = expected_denial(persona, write=True)
    if denied is None:
        attachment_add(actor=user, record=deal, upload=upload("a.pdf", pdf_bytes()), kind="other")
        assert Attachment.objects.count() == 1
    else:
        with pytest.raises(Forbidden):
            attachment_add(actor=user, record=deal, upload=upload("a.pdf", pdf_bytes()), kind="other")
        assert not Attachment.objects.exists()


@pytest.mark.parametrize("persona", PERSONA_NAMES)
def test_download_and_delete_persona_matrix(personas, deal, client_for, persona):
    attachment = add(personas, deal)
    client = client_for(personas.all()[persona])
    read_denied = expected_denial(persona, write=False)
    response = client.get(f"/attachments/{attachment.pk}/download/")
    if read_denied:
        assert response.status_code == 404
    else:
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == pdf_bytes()
    write_denied = expected_denial(persona, write=True)
    response = client.post(f"/attachments/{attachment.pk}/delete/")
    assert response.status_code == (write_denied or 302)
    assert Attachment.objects.filter(pk=attachment.pk).exists() == bool(write_denied)


def test_share_holder_may_download_and_a_read_share_may_not_delete(personas, deal, client_for):
    attachment = add(personas, deal)
    outsider = client_for(personas.outsider)
    assert outsider.get(f"/attachments/{attachment.pk}/download/").status_code == 404
    share_grant(actor=personas.rep, target=deal, grantee_user=personas.outsider)
    assert outsider.get(f"/attachments/{attachment.pk}/download/").status_code == 200
    assert outsider.post(f"/attachments/{attachment.pk}/delete/").status_code == 403
    with pytest.raises(Forbidden):
        attachment_delete(actor=personas.outsider, attachment=attachment)
    assert Attachment.objects.filter(pk=attachment.pk).exists()


def test_download_headers_for_a_chinese_name(personas, deal, client_for):
    attachment = add(personas, deal, "合同 (终版).pdf")
    response = client_for(personas.manager).get(f"/attachments/{attachment.pk}/download/")
    assert response["Content-Type"] == "application/pdf"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=utf-8''%E5%90%88%E5%90%8C%20%28%E7%BB%88%E7%89%88%29.pdf" in disposition
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_text_is_never_served_inline_as_html(personas, deal, client_for):
    attachment = add(personas, deal, "notes.txt", "普通的纪要".encode())
    response = client_for(personas.rep).get(f"/attachments/{attachment.pk}/download/")
    assert response["Content-Type"] == "text/plain"
    assert response["Content-Disposition"].startswith("attachment;")


def test_thumbnail_is_generated_by_the_worker(personas, deal, client_for, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        attachment = add(personas, deal, "现场照片.png", png_bytes(800, 600), kind="photo")
    attachment.refresh_from_db()
    assert attachment.thumbnail_path == ""
    assert client_for(personas.rep).get(f"/attachments/{attachment.pk}/thumbnail/").status_code == 404
    assert run_worker() >= 1
    attachment.refresh_from_db()
    assert attachment.thumbnail_path.endswith(".thumb.png")
    from PIL import Image

    with Image.open(storage.absolute(attachment.thumbnail_path)) as thumb:
        assert max(thumb.size) == 240
    response = client_for(personas.manager).get(f"/attachments/{attachment.pk}/thumbnail/")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == "inline"
    assert client_for(personas.outsider).get(f"/attachments/{attachment.pk}/thumbnail/").status_code == 404
    panel = client_for(personas.rep).get(f"/attachments/panel/opportunity/{deal.pk}/")
    assert b'data-testid="attachment-thumbnail"' in panel.content


def test_delete_removes_row_and_file_after_commit_and_audits(personas, deal, django_capture_on_commit_callbacks):
    attachment = add(personas, deal)
    path = storage.absolute(attachment.stored_path)
    with django_capture_on_commit_callbacks(execute=True):
        attachment_delete(actor=personas.manager, attachment=attachment)
    assert not Attachment.objects.exists() and not path.exists()
    event = AuditEvent.objects.get(verb="attachments.attachment.deleted")
    assert event.target_id == deal.pk and event.actor == personas.manager and event.data["file_name"] == "合同.pdf"


def test_deleting_the_record_deletes_its_attachments(personas, django_capture_on_commit_callbacks):
    account = make_account(personas.rep)
    deal = make_opportunity(personas.rep, account=account)
    activity = make_activity(personas.rep, kind="visit", subject="拜访", account=account)
    other = make_opportunity(personas.rep, account=account)
    on_deal = add(personas, deal)
    on_activity = add(personas, activity, "纪要.txt", "拜访纪要".encode())
    kept = add(personas, other)
    files = [storage.absolute(a.stored_path) for a in (on_deal, on_activity)]
    with django_capture_on_commit_callbacks(execute=True):
        opportunity_delete(actor=personas.rep, opportunity=deal)
        activity_delete(actor=personas.rep, activity=activity)
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    assert list(Attachment.objects.all()) == [kept]
    assert not any(f.exists() for f in files)
    assert storage.absolute(kept.stored_path).exists()


def test_cascaded_deletions_are_swept(personas, django_capture_on_commit_callbacks):
    """Account deletion (nothing left under it) and a deal's deletion, which cascades to its
    activities: their files go too."""
    account = make_account(personas.rep)
    deal = make_opportunity(personas.rep, account=account)
    activity = make_activity(personas.rep, kind="visit", subject="拜访", account=account, opportunity=deal)
    on_activity = add(personas, activity, "a.png", png_bytes(), kind="photo")
    with django_capture_on_commit_callbacks(execute=True):
        opportunity_delete(actor=personas.rep, opportunity=deal)
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    assert not Attachment.objects.filter(pk=on_activity.pk).exists()
    on_account = add(personas, account)
    with django_capture_on_commit_callbacks(execute=True):
        account_delete(actor=personas.rep, account=account)
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    assert not Attachment.objects.filter(pk=on_account.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert attachments_purge_orphans() == 0


def test_stray_files_are_removed_once_old(personas, deal, attachments_dir):
    kept = add(personas, deal)
    stray = Path(attachments_dir) / "2020" / "01" / "deadbeef"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"x")
    assert attachments_purge_stray_files() == 0  # too recent
    assert attachments_purge_stray_files(older_than_seconds=-10) == 1
    assert not stray.exists() and storage.absolute(kept.stored_path).exists()


@pytest.mark.parametrize("kind", ["account", "contact", "lead", "opportunity", "activity"])
def test_every_record_kind_takes_attachments(personas, kind, client_for):
    account = make_account(personas.rep)
    record = {
        "account": lambda: account,
        "contact": lambda: make_contact(account),
        "lead": lambda: make_lead(owner=personas.rep),
        "opportunity": lambda: make_opportunity(personas.rep, account=account),
        "activity": lambda: make_activity(personas.rep, kind="task", subject="跟进", account=account),
    }[kind]()
    add(personas, record)
    client = client_for(personas.rep)
    panel = client.get(f"/attachments/panel/{kind}/{record.pk}/")
    assert panel.status_code == 200 and "合同.pdf" in panel.content.decode()
    assert client_for(personas.outsider).get(f"/attachments/panel/{kind}/{record.pk}/").status_code == 404


def test_record_pages_load_the_panel(personas, deal, client_for):
    account = deal.account
    lead = make_lead(owner=personas.rep)
    contact = make_contact(account)
    activity = make_activity(personas.rep, kind="task", subject="跟进", account=account)
    client = client_for(personas.rep)
    for url, panel in [
        (f"/opportunities/{deal.pk}/", f"/attachments/panel/opportunity/{deal.pk}/"),
        (f"/accounts/{account.pk}/", f"/attachments/panel/account/{account.pk}/"),
        (f"/contacts/{contact.pk}/", f"/attachments/panel/contact/{contact.pk}/"),
        (f"/leads/{lead.pk}/", f"/attachments/panel/lead/{lead.pk}/"),
        (f"/activities/{activity.pk}/", f"/attachments/panel/activity/{activity.pk}/"),
    ]:
        assert panel in client.get(url).content.decode(), url


def test_panel_upload_through_htmx_and_errors_name_the_field(personas, deal, client_for):
    client = client_for(personas.rep)
    url = f"/attachments/upload/opportunity/{deal.pk}/"
    ok = client.post(url, {"kind": "proposal", "file": upload("方案.pdf", pdf_bytes())}, headers={"HX-Request": "true"})
    assert ok.status_code == 200 and "方案.pdf" in ok.content.decode()
    bad = client.post(
        url, {"kind": "proposal", "file": upload("x.pdf", b"MZ" + b"\0" * 10)}, headers={"HX-Request": "true"}
    )
    assert bad.status_code == 200 and 'data-testid="attachment-errors"' in bad.content.decode()
    assert Attachment.objects.count() == 1
    # without htmx: back to the record page
    plain = client.post(url, {"kind": "other", "file": upload("b.pdf", pdf_bytes())})
    assert plain.status_code == 302 and plain["Location"] == f"/opportunities/{deal.pk}/"
    # read-only support sees the panel without the form; may not upload
    support = client_for(personas.support)
    assert b"attachment-form" not in support.get(f"/attachments/panel/opportunity/{deal.pk}/").content
    assert support.post(url, {"kind": "other", "file": upload("c.pdf", pdf_bytes())}).status_code == 403
    assert Attachment.objects.count() == 2


def test_panel_is_translated(personas, deal, client_for):
    add(personas, deal)
    html = client_for(personas.rep, "zh-hans").get(f"/attachments/panel/opportunity/{deal.pk}/").content.decode()
    assert "附件" in html and "合同" in html and "上传" in html


def test_get_attachment_for_user_refuses_bad_ids(personas):
    for bad in ("x", -1, 0, 2**70, None, 999999):
        with pytest.raises(Http404):
            get_attachment_for_user(personas.admin, bad)


def test_panel_query_count_is_bounded(personas, deal, client_for, django_assert_max_num_queries):
    for n in range(5):
        add(personas, deal, f"f{n}.pdf")
    client = client_for(personas.rep)
    with django_assert_max_num_queries(12):
        client.get(f"/attachments/panel/opportunity/{deal.pk}/")
