"""The quote PDF (WeasyPrint): the company header, the frozen customer data, the lines and
totals of one version, in Chinese or English. The Noto CJK font (system package
``fonts-noto-cjk``) is named first in the stylesheet, so WeasyPrint embeds the subset of
glyphs used: the PDF reads the same on a machine without Chinese fonts.
"""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.utils import translation

from salesflow.quotes.models import CompanyProfile, Quote, QuoteLanguage, QuoteVersion
from salesflow.quotes.selectors import company_profile, version_lines


def pdf_filename(quote: Quote, version: QuoteVersion, language: str) -> str:
    suffix = "zh" if language == QuoteLanguage.ZH else "en"
    return f"{quote.number}-v{version.version}-{suffix}.pdf"


def pdf_context(quote: Quote, version: QuoteVersion, language: str, profile: CompanyProfile) -> dict[str, Any]:
    zh = language == QuoteLanguage.ZH
    customer = version.customer or {}
    lines = [
        {
            "position": line.position,
            "code": line.code,
            "name": line.name_zh if zh or not line.name_en else line.name_en,
            "unit": line.unit,
            "quantity": line.quantity.normalize() if line.quantity == line.quantity.to_integral() else line.quantity,
            "unit_price": line.unit_price,
            "discount_percent": line.discount_percent,
            "tax_rate": line.tax_rate,
            "net": line.net,
            "tax": line.tax,
            "total": line.total,
        }
        for line in version_lines(version)
    ]
    return {
        "quote": quote,
        "version": version,
        "customer": customer,
        "lines": lines,
        "company_name": (profile.name_zh or profile.name_en) if zh else (profile.name_en or profile.name_zh),
        "company_address": (profile.address_zh or profile.address_en)
        if zh
        else (profile.address_en or profile.address_zh),
        "profile": profile,
        "zh": zh,
        "draft": version.issued_at is None,
    }


def render_quote_pdf(quote: Quote, version: QuoteVersion, language: str) -> bytes:
    """The PDF of ``version`` in ``language`` (``zh-hans`` or ``en``) as bytes."""
    from weasyprint import HTML  # type: ignore[import-untyped]

    with translation.override(language):
        html = render_to_string("quotes/pdf.html", pdf_context(quote, version, language, company_profile()))
    return bytes(HTML(string=html).write_pdf())
