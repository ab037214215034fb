"""``/api/v1/attachments``: list, upload (multipart), metadata, download, delete — with the
personas, hostile multipart input, and the same services as the web panel."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from salesflow.attachments.models import Attachment
from salesflow.attachments.samples import pdf_bytes, png_bytes
from salesflow.attachments.services import attachment_add
from salesflow.core.models import AuditEvent
from salesflow.sales.tests.factories import make_opportunity
from salesflow.users.testing import PERSONA_NAMES, expected_denial

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def attachments_dir(settings, tmp_path):
    settings.SALESFLOW_ATTACHMENTS_DIR = tmp_path / "attachments"


@pytest.fixture
def deal(personas):
    return make_opportunity(personas.rep, name="华东项目")


def _upload(api, deal, name="合同.pdf", content=None, **fields):
    data = {"record_kind": "opportunity", "record_id": deal.pk, "kind": "contract", **fields}
    if content is not False:
        data["file"] = SimpleUploadedFile(name, content or pdf_bytes())
    return api.client.post("/api/v1/attachments", data)


def _envelope(response):
    body = response.json()
    assert set(body) == {"detail", "code", "errors"}
    return body


def test_upload_list_read_download_delete(personas, api_for, deal):
    api = api_for(personas.rep)
    created = _upload(api, deal, "报价单.pdf")
    assert created.status_code == 201, created.content
    item = created.json()
    assert item["record_kind"] == "opportunity" and item["record_id"] == deal.pk
    assert item["file_name"] == "报价单.pdf" and item["mime_type"] == "application/pdf" and item["kind"] == "contract"
    assert item["size"] == len(pdf_bytes()) and item["uploaded_by_id"] == personas.rep.pk
    assert item["download_url"] == f"/api/v1/attachments/{item['id']}/download"

    listed = api.get("/attachments", record_kind="opportunity", record_id=deal.pk)
    assert listed.status_code == 200 and listed.json()["count"] == 1
    assert listed.json()["items"][0]["id"] == item["id"]
    assert api.get("/attachments", record_kind="opportunity", record_id=deal.pk, kind="photo").json()["count"] == 0

    assert api.get(f"/attachments/{item['id']}").json()["file_name"] == "报价单.pdf"
    download = api.client.get(item["download_url"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == pdf_bytes()
    assert download["Content-Type"] == "application/pdf"
    assert "filename*=utf-8''" in download["Content-Disposition"]

    assert api.delete(f"/attachments/{item['id']}").status_code == 204
    assert not Attachment.objects.exists()
    verbs = list(
        AuditEvent.objects.filter(target_id=deal.pk, verb__startswith="attachments.").values_list("verb", flat=True)
    )
    assert sorted(verbs) == ["attachments.attachment.added", "attachments.attachment.deleted"]


@pytest.mark.parametrize("persona", PERSONA_NAMES)
def test_persona_matrix(personas, api_for, deal, persona):
    attachment = attachment_add(
        actor=personas.rep, record=deal, upload=SimpleUploadedFile("a.pdf", pdf_bytes()), kind="other"
    )
    api = api_for(personas.all()[persona])
    read = expected_denial(persona, write=False)
    write = expected_denial(persona, write=True)
    assert api.get(f"/attachments/{attachment.pk}").status_code == (read or 200)
    assert api.client.get(f"/api/v1/attachments/{attachment.pk}/download").status_code == (read or 200)
    assert api.get("/attachments", record_kind="opportunity", record_id=deal.pk).status_code == (read or 200)
    assert _upload(api, deal).status_code == (write or 201)
    assert api.delete(f"/attachments/{attachment.pk}").status_code == (write or 204)
    assert Attachment.objects.filter(pk=attachment.pk).exists() == bool(write)


def test_refusals_name_the_field(personas, api_for, deal, settings):
    api = api_for(personas.rep)
    spoofed = _upload(api, deal, "evil.pdf", b"<html><script>alert(1)</script></html>")
    assert spoofed.status_code == 400 and list(_envelope(spoofed)["errors"]) == ["file"]
    settings.SALESFLOW_ATTACHMENT_MAX_BYTES = 100
    big = _upload(api, deal, "big.png", png_bytes())
    assert big.status_code == 400 and "larger than" in _envelope(big)["errors"]["file"][0]
    settings.SALESFLOW_ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024
    assert list(_envelope(_upload(api, deal, kind="nope"))["errors"]) == ["kind"]
    assert list(_envelope(_upload(api, deal, record_kind="user"))["errors"]) == ["record_kind"]
    missing = _upload(api, deal, content=False)
    assert missing.status_code == 400 and "file" in _envelope(missing)["errors"]
    assert not Attachment.objects.exists()


def test_hostile_multipart_input_never_500s(personas, api_for, deal):
    api = api_for(personas.rep)
    hostile = [
        {"record_kind": "opp\x00ortunity"},
        {"record_kind": "x" * 50_000},
        {"record_id": "9" * 40},
        {"record_id": "-1"},
        {"record_id": "abc"},
        {"kind": "\x1b[31m"},
        {"zz_unknown": "1"},
    ]
    for fields in hostile:
        response = _upload(api, deal, **fields)
        assert 400 <= response.status_code < 500, (fields, response.status_code, response.content[:200])
        _envelope(response)
    for name in ("a\x00b.pdf", "\x1b.pdf", "x" * 5000 + ".pdf"):
        response = _upload(api, deal, name)
        assert response.status_code in (201, 400), (name[:10], response.status_code)
    for raw, content_type in [
        ("{bad", "application/json"),
        ('{"record_kind": "opportunity"}', "application/json"),
        ("x", "text/plain"),
    ]:
        response = api.client.post("/api/v1/attachments", raw, content_type=content_type)
        assert 400 <= response.status_code < 500
        _envelope(response)
    for query in [
        {"record_kind": "opportunity", "record_id": "abc"},
        {"record_kind": "nope", "record_id": deal.pk},
        {},
    ]:
        response = api.client.get("/api/v1/attachments", query)
        assert response.status_code in (400, 404)
        _envelope(response)
    assert Attachment.objects.filter(file_name__startswith="x").count() <= 1
    assert all(len(a.file_name) <= 200 for a in Attachment.objects.all())


def test_unseen_record_is_404(personas, api_for, deal):
    api = api_for(personas.outsider)
    assert api.get("/attachments", record_kind="opportunity", record_id=deal.pk).status_code == 404
    assert _upload(api, deal).status_code == 404
    assert not Attachment.objects.exists()


def test_oversized_upload_is_skipped_while_it_arrives(personas, api_for, client_for, deal, settings):
    """The upload handler drops a part above the limit instead of spooling it; both
    interfaces answer with the size message on ``file``."""
    settings.SALESFLOW_ATTACHMENT_MAX_BYTES = 64 * 1024
    big = b"a" * (200 * 1024)
    response = _upload(api_for(personas.rep), deal, "big.txt", big)
    assert response.status_code == 400
    assert "larger than 64 KB" in _envelope(response)["errors"]["file"][0]
    panel = client_for(personas.rep).post(
        f"/attachments/upload/opportunity/{deal.pk}/",
        {"kind": "other", "file": SimpleUploadedFile("big.txt", big)},
        headers={"HX-Request": "true"},
    )
    assert panel.status_code == 200 and "larger than 64 KB" in panel.content.decode()
    assert not Attachment.objects.exists()
