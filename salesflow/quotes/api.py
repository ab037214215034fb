"""JSON API of quotes (``/api/v1/quotes``): list (filters, sorts, cursor pages), create,
read with every version, edit the draft, issue, revise, send, the PDF, the public link and
the company profile — through the same services as the pages."""

from __future__ import annotations

from typing import Any, cast

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Query, Router

from salesflow.core.keyset import api_page
from salesflow.core.money import format_amount
from salesflow.quotes.links import public_path
from salesflow.quotes.models import Quote, QuoteVersion
from salesflow.quotes.pdf import pdf_filename, render_quote_pdf
from salesflow.quotes.permissions import get_quote_for_user
from salesflow.quotes.schemas import (
    CompanyProfileIn,
    CompanyProfileOut,
    Language,
    QuoteCreateIn,
    QuoteDetailOut,
    QuoteFiltersIn,
    QuotePage,
    QuoteUpdateIn,
    SendIn,
)
from salesflow.quotes.selectors import QuoteFilters, company_profile, quote_list, version_by_number, versions_of
from salesflow.quotes.services import (
    OPEN_FOR_DECISION,
    company_profile_save,
    quote_create,
    quote_issue,
    quote_revise,
    quote_send,
    quote_update,
)
from salesflow.sales.permissions import get_opportunity_for_user
from salesflow.users.models import User

router = Router(tags=["quotes"])


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def quote_out(quote: Quote, request: HttpRequest) -> dict[str, Any]:
    version = quote.current_version
    assert version is not None
    open_link = version.status in OPEN_FOR_DECISION
    return {
        "id": quote.pk,
        "number": quote.number,
        "title": quote.title,
        "opportunity_id": quote.opportunity_id,
        "account_id": quote.account_id,
        "owner_id": quote.owner_id,
        "contact_id": quote.contact_id,
        "currency": quote.currency,
        "language": quote.language,
        "status": quote.status,
        "total": format_amount(quote.total, quote.currency),
        "version": version.version,
        "accepted_version": quote.accepted_version.version if quote.accepted_version is not None else None,
        "valid_until": version.valid_until,
        "created_at": quote.created_at,
        "pdf_url": reverse("quotes:pdf", args=[quote.pk]),
        "public_url": request.build_absolute_uri(public_path(version)) if open_link else None,
    }


def version_out(quote: Quote, version: QuoteVersion) -> dict[str, Any]:
    cur = quote.currency
    return {
        "version": version.version,
        "status": version.status,
        "valid_until": version.valid_until,
        "prices_include_tax": version.prices_include_tax,
        "customer": version.customer or {},
        "terms": version.terms,
        "subtotal": format_amount(version.subtotal, cur),
        "discount": format_amount(version.discount, cur),
        "net": format_amount(version.net, cur),
        "tax": format_amount(version.tax, cur),
        "total": format_amount(version.total, cur),
        "issued_at": version.issued_at,
        "sent_at": version.sent_at,
        "decided_at": version.decided_at,
        "decided_by_name": version.decided_by_name,
        "decided_ip": version.decided_ip,
        "lines": [
            {
                "position": line.position,
                "product_id": line.product_id,
                "code": line.code,
                "name_zh": line.name_zh,
                "name_en": line.name_en,
                "unit": line.unit,
                "quantity": f"{line.quantity}",
                "unit_price": format_amount(line.unit_price, cur),
                "discount_percent": f"{line.discount_percent}",
                "tax_rate": f"{line.tax_rate}",
                "gross": format_amount(line.gross, cur),
                "discount": format_amount(line.discount, cur),
                "net": format_amount(line.net, cur),
                "tax": format_amount(line.tax, cur),
                "total": format_amount(line.total, cur),
            }
            for line in version.lines.all()
        ],
    }


def _detail(quote: Quote, request: HttpRequest) -> dict[str, Any]:
    versions = versions_of(quote)
    body = quote_out(quote, request)
    body["versions"] = [version_out(quote, v) for v in versions]
    return body


def _reload(request: HttpRequest, quote: Quote) -> dict[str, Any]:
    return _detail(get_quote_for_user(_user(request), quote.pk), request)


def _line_specs(lines: list[Any]) -> list[dict[str, Any]]:
    return [line.model_dump() for line in lines]


@router.get("", response=QuotePage, summary="Quotes the caller may read (filters, sort, cursor pages)")
@router.get("/", response=QuotePage, include_in_schema=False)
def list_quotes(request: HttpRequest, filters: Query[QuoteFiltersIn]) -> dict[str, Any]:
    qs = quote_list(
        _user(request),
        QuoteFilters(
            status=filters.status or "",
            owner_id=filters.owner_id,
            account_id=filters.account_id,
            opportunity_id=filters.opportunity_id,
            created_from=filters.created_from,
            created_to=filters.created_to,
            q=filters.q,
            sort=filters.sort,
        ),
    )
    page = api_page(qs, cursor=filters.cursor, limit=filters.limit, offset=filters.offset)
    page["items"] = [quote_out(q, request) for q in page["items"]]
    return page


@router.post("", response={201: QuoteDetailOut}, summary="Create a quote from an opportunity (version 1, draft)")
@router.post("/", response={201: QuoteDetailOut}, include_in_schema=False)
def create_quote(request: HttpRequest, payload: QuoteCreateIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    opportunity = get_opportunity_for_user(user, payload.opportunity_id)
    quote = quote_create(
        actor=user,
        opportunity=opportunity,
        title=payload.title,
        contact=payload.contact_id,
        valid_until=payload.valid_until,
        prices_include_tax=payload.prices_include_tax,
        language=payload.language,
        terms=payload.terms,
        lines=_line_specs(payload.lines),
    )
    return 201, _reload(request, quote)


@router.get("/company-profile", response=CompanyProfileOut, summary="The company header printed on quotes")
def get_company_profile(request: HttpRequest) -> dict[str, Any]:
    profile = company_profile()
    return {key: getattr(profile, key) for key in CompanyProfileOut.model_fields}


@router.put("/company-profile", response=CompanyProfileOut, summary="Change the company header (administrators)")
def put_company_profile(request: HttpRequest, payload: CompanyProfileIn) -> dict[str, Any]:
    values = {k: v for k, v in payload.model_dump().items() if k in payload.model_fields_set and v is not None}
    profile = company_profile_save(actor=_user(request), **values)
    return {key: getattr(profile, key) for key in CompanyProfileOut.model_fields}


@router.get("/{int:quote_id}", response=QuoteDetailOut, summary="A quote with every version and its lines")
def get_quote(request: HttpRequest, quote_id: int) -> dict[str, Any]:
    return _detail(get_quote_for_user(_user(request), quote_id), request)


@router.patch("/{int:quote_id}", response=QuoteDetailOut, summary="Edit the draft version (409 once issued)")
def update_quote(request: HttpRequest, quote_id: int, payload: QuoteUpdateIn) -> dict[str, Any]:
    user = _user(request)
    quote = get_quote_for_user(user, quote_id)
    changes: dict[str, Any] = {}
    for key in payload.model_fields_set:
        value = getattr(payload, key)
        if key == "contact_id":
            changes["contact"] = value
        elif key == "lines":
            changes["lines"] = _line_specs(value or [])
        elif value is not None:
            changes[key] = value
    quote_update(actor=user, quote=quote, **changes)
    return _reload(request, quote)


@router.get("/{int:quote_id}/versions/{int:number}", response=QuoteDetailOut, summary="The quote with one version")
def get_version(request: HttpRequest, quote_id: int, number: int) -> dict[str, Any]:
    quote = get_quote_for_user(_user(request), quote_id)
    version = version_by_number(quote, number)
    if version is None:
        raise Http404("version not found")
    body = _detail(quote, request)
    body["versions"] = [v for v in body["versions"] if v["version"] == version.version]
    return body


@router.post(
    "/{int:quote_id}/issue", response=QuoteDetailOut, summary="Issue the draft: freeze and submit for approval"
)
def issue_quote(request: HttpRequest, quote_id: int) -> dict[str, Any]:
    user = _user(request)
    quote = quote_issue(actor=user, quote=get_quote_for_user(user, quote_id))
    return _reload(request, quote)


@router.post("/{int:quote_id}/revise", response=QuoteDetailOut, summary="Make a new draft version from the issued one")
def revise_quote(request: HttpRequest, quote_id: int) -> dict[str, Any]:
    user = _user(request)
    quote = quote_revise(actor=user, quote=get_quote_for_user(user, quote_id))
    return _reload(request, quote)


@router.post("/{int:quote_id}/send", response=QuoteDetailOut, summary="Email the PDF with the accept/decline link")
def send_quote(request: HttpRequest, quote_id: int, payload: SendIn) -> dict[str, Any]:
    user = _user(request)
    quote = quote_send(
        actor=user,
        quote=get_quote_for_user(user, quote_id),
        to=payload.to,
        language=payload.language,
        message=payload.message,
    )
    return _reload(request, quote)


@router.get("/{int:quote_id}/pdf", summary="The PDF of a version (default: current) in zh-hans or en")
def quote_pdf(
    request: HttpRequest, quote_id: int, language: Language | None = None, version: int | None = None
) -> HttpResponse:
    quote = get_quote_for_user(_user(request), quote_id)
    chosen = quote.current_version if version is None else version_by_number(quote, version)
    if chosen is None:
        raise Http404("version not found")
    lang = language or quote.language
    response = HttpResponse(render_quote_pdf(quote, chosen, lang), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{pdf_filename(quote, chosen, lang)}"'
    return response
