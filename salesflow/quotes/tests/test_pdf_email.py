from __future__ import annotations

import io
import time
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from pypdf import PdfReader

from salesflow.core.models import AuditEvent
from salesflow.quotes.models import QuoteVersion
from salesflow.quotes.pdf import render_quote_pdf
from salesflow.quotes.services import company_profile_save, quote_issue, quote_send
from salesflow.quotes.tests.helpers import cv, make_quote

pytestmark = pytest.mark.django_db


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def _fonts(pdf: bytes) -> set[str]:
    reader = PdfReader(io.BytesIO(pdf))
    names: set[str] = set()
    for page in reader.pages:
        resources: Any = page["/Resources"]
        for font in resources["/Font"].values():
            obj = font.get_object()
            descendants = obj.get("/DescendantFonts")
            descriptor = (descendants[0].get_object() if descendants else obj).get("/FontDescriptor")
            if descriptor is not None and any(
                k in descriptor.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3")
            ):
                names.add(str(obj["/BaseFont"]))
    return names


def test_chinese_pdf_has_header_product_names_total_and_embedded_cjk_font(personas, deal, products):
    company_profile_save(
        actor=personas.admin,
        name_zh="杭州云帆软件有限公司",
        name_en="Hangzhou Yunfan Software Co., Ltd.",
        tax_id="91330100TEST",
    )
    quote = quote_issue(actor=personas.rep, quote=make_quote(personas.rep, deal, products))
    version = QuoteVersion.objects.get(quote=quote)
    started = time.perf_counter()
    pdf = render_quote_pdf(quote, version, "zh-hans")
    assert time.perf_counter() - started < 10  # the bench holds the real budget (< 1 s)
    text = _text(pdf)
    for expected in (
        "杭州云帆软件有限公司",
        "报价单",
        "销售管理软件标准版",
        "实施服务",
        "35,008.00",
        quote.number,
        "上海启明科技有限公司",
    ):
        assert expected in text, expected
    assert any("CJK" in name for name in _fonts(pdf))


def test_english_pdf_uses_english_names(personas, deal, products):
    company_profile_save(
        actor=personas.admin, name_zh="杭州云帆软件有限公司", name_en="Hangzhou Yunfan Software Co., Ltd."
    )
    quote = make_quote(personas.rep, deal, products)
    text = _text(render_quote_pdf(quote, cv(quote), "en"))
    for expected in ("Hangzhou Yunfan Software", "Quotation", "CRM Standard", "Implementation", "35,008.00"):
        assert expected in text, expected
    assert "Draft" in text


def test_pdf_download_page_and_api(personas, deal, products, client_for, api_for):
    quote = make_quote(personas.rep, deal, products)
    response = client_for(personas.rep).get(f"/quotes/{quote.pk}/pdf/?lang=zh-hans")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert f"{quote.number}-v1-zh.pdf" in response["Content-Disposition"]
    assert "销售管理软件标准版" in _text(response.content)
    response = api_for(personas.manager).get(f"/quotes/{quote.pk}/pdf", language="en")
    assert response.status_code == 200 and "CRM Standard" in _text(response.content)
    assert client_for(personas.outsider).get(f"/quotes/{quote.pk}/pdf/").status_code == 404


def test_send_emails_the_pdf_with_the_public_link(personas, deal, products, committed):
    quote = quote_issue(actor=personas.rep, quote=make_quote(personas.rep, deal, products))
    with committed():
        quote_send(actor=personas.rep, quote=quote, to=["chen@example.com"], language="zh-hans", message="请查收")
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["chen@example.com"] and email.reply_to == ["rep@example.com"]
    assert quote.number in email.subject
    assert "请查收" in email.body and "/q/" in email.body
    (name, content, mimetype) = email.attachments[0]
    assert name == f"{quote.number}-v1-zh.pdf" and mimetype == "application/pdf"
    assert "35,008.00" in _text(content)
    quote.refresh_from_db()
    assert quote.status == "sent"
    event = AuditEvent.objects.get(verb="quotes.quote.sent")
    assert event.data == {"version": 1, "to": ["chen@example.com"], "language": "zh-hans"}
    assert cv(quote).sent_at is not None
    assert quote.total == Decimal("35008.00")
