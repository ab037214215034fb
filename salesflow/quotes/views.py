"""Pages of quotes: the list, a quote (version switcher, actions, timeline), the editor,
sending, the PDF, the deal page's panel, the company profile and the customer's public
page. Thin callers of ``quotes.services`` and ``quotes.selectors``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salesflow.catalogue.models import Product
from salesflow.core.audit import timeline_for
from salesflow.core.errors import ServiceError
from salesflow.core.keyset import keyset_page
from salesflow.core.web import apply_service_error, render_list
from salesflow.parties.models import Contact
from salesflow.quotes.forms import (
    BLANK_ROWS,
    CompanyProfileForm,
    DecisionForm,
    QuoteFilterForm,
    QuoteForm,
    SendForm,
    line_rows,
)
from salesflow.quotes.links import public_path, read_token
from salesflow.quotes.models import Quote, QuoteLanguage, QuoteStatus, QuoteVersion
from salesflow.quotes.pdf import pdf_filename, render_quote_pdf
from salesflow.quotes.permissions import can_write_quote, get_quote_for_user
from salesflow.quotes.public import client_address, decision_allowed
from salesflow.quotes.selectors import (
    PAGE_SIZE,
    SORTS,
    QuoteFilters,
    company_profile,
    quote_list,
    quotes_for_opportunity,
    version_by_number,
    versions_of,
)
from salesflow.quotes.services import (
    OPEN_FOR_DECISION,
    PROFILE_FIELDS,
    company_profile_save,
    quote_create,
    quote_decide,
    quote_issue,
    quote_revise,
    quote_send,
    quote_update,
)
from salesflow.sales.models import Opportunity
from salesflow.sales.permissions import can_write_opportunity, get_opportunity_for_user
from salesflow.sales.selectors import owner_filter_choices
from salesflow.users.models import User


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


# --- list ----------------------------------------------------------------------------------


@require_GET
def quote_list_view(request: HttpRequest) -> HttpResponse:
    """Quotes the user may read: filters (status, owner, account, created dates, search),
    sorts and keyset pages; a constant number of queries per page."""
    user = _user(request)
    owners = [(u.pk, str(u)) for u in owner_filter_choices(user)]
    form = QuoteFilterForm(request.GET or None, owners=owners)
    data: dict[str, Any] = form.cleaned_data if form.is_valid() else {}
    sort = request.GET.get("sort", "-created")
    sort = sort if sort in SORTS else "-created"
    filters = QuoteFilters(
        status=data.get("status") or "",
        owner_id=data.get("owner"),
        account_id=data.get("account"),
        created_from=data.get("created_from"),
        created_to=data.get("created_to"),
        q=data.get("q") or "",
        sort=sort,
    )
    try:
        rows, next_cursor = keyset_page(
            quote_list(user, filters), cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE
        )
    except ServiceError:
        rows, next_cursor = keyset_page(quote_list(user, filters), cursor=None, limit=PAGE_SIZE)
    params = request.GET.copy()
    params.pop("cursor", None)
    context = {
        "form": form,
        "quotes": rows,
        "next_cursor": next_cursor,
        "base_query": params.urlencode(),
        "sort": sort,
        "section": "quotes",
    }
    return render_list(
        request,
        page="quotes/list.html",
        fragment="quotes/partials/list_results.html",
        context=context,
        target="quote-results",
    )


# --- the deal page's panel ---------------------------------------------------------------------


@require_GET
def deal_panel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The quotes panel of a deal page: its quotes (status, total) and "New quote"."""
    user = _user(request)
    opportunity = get_opportunity_for_user(user, pk)
    context = {
        "opportunity": opportunity,
        "quotes": quotes_for_opportunity(user, opportunity.pk),
        "can_create": can_write_opportunity(user, opportunity) and opportunity.outcome != "lost",
    }
    return render(request, "quotes/partials/deal_panel.html", context)


# --- create and edit ---------------------------------------------------------------------------


def _products() -> list[Product]:
    return list(Product.objects.filter(active=True).order_by("code")[:500])


def _contacts(opportunity: Opportunity) -> list[tuple[int, str]]:
    return [(c.pk, c.name) for c in Contact.objects.filter(account_id=opportunity.account_id).order_by("name")[:200]]


def _editor(
    request: HttpRequest,
    *,
    opportunity: Opportunity,
    form: QuoteForm,
    rows: list[dict[str, Any]],
    quote: Quote | None,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    blank = {"product_id": "", "quantity": "1"}
    context = {
        "opportunity": opportunity,
        "quote": quote,
        "form": form,
        "rows": [*rows, *([blank] * BLANK_ROWS)],
        "products": _products(),
        "line_errors": sorted((errors or {}).items()),
    }
    return render(request, "quotes/form.html", context, status=status)


def _service_call(form: QuoteForm, exc: ServiceError) -> dict[str, list[str]]:
    line_errors = {k: v for k, v in exc.field_errors.items() if k.startswith("lines")}
    other = ServiceError(
        exc.message, field_errors={k: v for k, v in exc.field_errors.items() if not k.startswith("lines")}
    )
    if other.field_errors or not line_errors:
        apply_service_error(form, other)
    return line_errors


def _header(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": data["title"],
        "contact": data["contact"],
        "valid_until": data["valid_until"],
        "language": data["language"],
        "prices_include_tax": data["prices_include_tax"],
        "terms": data["terms"],
    }


@require_http_methods(["GET", "POST"])
def quote_create_view(request: HttpRequest) -> HttpResponse:
    """A new quote on the deal ``?opportunity=<id>`` (the deal page's "New quote")."""
    user = _user(request)
    opportunity = get_opportunity_for_user(user, request.GET.get("opportunity", ""), write=True)
    initial = {
        "title": opportunity.name,
        "valid_until": timezone.localdate() + timedelta(days=30),
        "language": QuoteLanguage.ZH if (translation.get_language() or "").startswith("zh") else QuoteLanguage.EN,
    }
    form = QuoteForm(request.POST or None, initial=initial, contacts=_contacts(opportunity))
    if request.method == "GET":
        return _editor(request, opportunity=opportunity, form=form, rows=[], quote=None)
    rows = line_rows(request.POST)
    errors: dict[str, list[str]] = {}
    if form.is_valid():
        try:
            quote = quote_create(actor=user, opportunity=opportunity, lines=rows, **_header(form.cleaned_data))
        except ServiceError as exc:
            if exc.status_code not in (400, 409):
                raise
            errors = _service_call(form, exc)
        else:
            messages.success(request, _("Quote %(number)s was created.") % {"number": quote.number})
            return redirect("quotes:detail", quote.pk)
    return _editor(request, opportunity=opportunity, form=form, rows=rows, quote=None, errors=errors, status=400)


@require_http_methods(["GET", "POST"])
def quote_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit the draft version (409 once the version is issued)."""
    user = _user(request)
    quote = get_quote_for_user(user, pk, write=True)
    version = quote.current_version
    assert version is not None
    if version.status != QuoteStatus.DRAFT:
        return _detail(
            request,
            quote,
            version,
            status=409,
            error=_("This version is issued and can no longer be changed; revise the quote to make a new version."),
        )
    initial = {
        "title": quote.title,
        "contact": quote.contact_id,
        "valid_until": version.valid_until,
        "language": quote.language,
        "prices_include_tax": version.prices_include_tax,
        "terms": version.terms,
    }
    form = QuoteForm(request.POST or None, initial=initial, contacts=_contacts(quote.opportunity))
    if request.method == "GET":
        rows = [
            {
                "product_id": line.product_id or "",
                "code": line.code,
                "name_zh": line.name_zh,
                "name_en": line.name_en,
                "unit": line.unit,
                "quantity": f"{line.quantity.normalize():f}",
                "unit_price": f"{line.unit_price}",
                "discount_percent": f"{line.discount_percent}",
                "tax_rate": f"{line.tax_rate}",
            }
            for line in version.lines.all()
        ]
        return _editor(request, opportunity=quote.opportunity, form=form, rows=rows, quote=quote)
    rows = line_rows(request.POST)
    errors: dict[str, list[str]] = {}
    if form.is_valid():
        try:
            quote_update(actor=user, quote=quote, lines=rows, **_header(form.cleaned_data))
        except ServiceError as exc:
            if exc.status_code == 409:
                return _detail(request, quote, version, status=409, error=str(exc.message))
            if exc.status_code != 400:
                raise
            errors = _service_call(form, exc)
        else:
            messages.success(request, _("The quote was saved."))
            return redirect("quotes:detail", quote.pk)
    return _editor(request, opportunity=quote.opportunity, form=form, rows=rows, quote=quote, errors=errors, status=400)


# --- detail and actions --------------------------------------------------------------------------


def _detail(
    request: HttpRequest, quote: Quote, shown: QuoteVersion | None, *, status: int = 200, error: str = ""
) -> HttpResponse:
    user = _user(request)
    versions = versions_of(quote)
    current = next(v for v in versions if v.pk == quote.current_version_id)
    version = next((v for v in versions if shown is not None and v.pk == shown.pk), current)
    writable = can_write_quote(user, quote)
    context = {
        "quote": quote,
        "version": version,
        "current": current,
        "versions": versions,
        "lines": list(version.lines.all()),
        "can_write": writable,
        "is_current": version.pk == current.pk,
        "public_url": (
            request.build_absolute_uri(public_path(current)) if writable and current.status in OPEN_FOR_DECISION else ""
        ),
        "events": timeline_for(quote, user=user),
        "send_form": SendForm(initial={"language": quote.language, "to": quote.contact.email if quote.contact else ""}),
        "error": error,
        "languages": QuoteLanguage.choices,
        "section": "quotes",
    }
    return render(request, "quotes/detail.html", context, status=status)


@require_GET
def quote_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A quote: the chosen version (``?v=<n>``, default current) with its lines and totals,
    the version switcher, the actions the user may take and the timeline."""
    quote = get_quote_for_user(_user(request), pk)
    shown = version_by_number(quote, request.GET["v"]) if request.GET.get("v") else None
    if request.GET.get("v") and shown is None:
        raise Http404("version not found")
    return _detail(request, quote, shown)


def _action(request: HttpRequest, pk: int, action: Any, done: str) -> HttpResponse:
    user = _user(request)
    quote = get_quote_for_user(user, pk, write=True)
    try:
        action(actor=user, quote=quote)
    except ServiceError as exc:
        if exc.status_code == 403:
            raise PermissionDenied(str(exc.message)) from exc
        quote = get_quote_for_user(user, pk)
        return _detail(request, quote, None, status=exc.status_code, error=str(exc.message))
    messages.success(request, done)
    return redirect("quotes:detail", pk)


@require_POST
def quote_issue_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(request, pk, quote_issue, _("The quote was issued."))


@require_POST
def quote_revise_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(request, pk, quote_revise, _("A new version was made: edit it and issue it again."))


@require_POST
def quote_send_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    quote = get_quote_for_user(user, pk, write=True)
    form = SendForm(request.POST)
    if not form.is_valid():
        errors = " ".join(str(e) for errs in form.errors.values() for e in errs)
        return _detail(request, quote, None, status=400, error=errors)
    try:
        quote_send(
            actor=user,
            quote=quote,
            to=form.cleaned_data["to"],
            language=form.cleaned_data["language"],
            message=form.cleaned_data["message"],
        )
    except ServiceError as exc:
        if exc.status_code == 403:
            raise PermissionDenied(str(exc.message)) from exc
        detail = " ".join(m for msgs in exc.field_errors.values() for m in msgs) or str(exc.message)
        return _detail(request, get_quote_for_user(user, pk), None, status=exc.status_code, error=detail)
    messages.success(request, _("The quote was sent."))
    return redirect("quotes:detail", pk)


@require_GET
def quote_pdf_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The PDF of a version (``?v=<n>``, default current) in ``?lang=zh-hans|en`` (default:
    the quote's language), as a download."""
    quote = get_quote_for_user(_user(request), pk)
    version = version_by_number(quote, request.GET["v"]) if request.GET.get("v") else quote.current_version
    if version is None:
        raise Http404("version not found")
    language = request.GET.get("lang") or quote.language
    if language not in QuoteLanguage.values:
        language = quote.language
    response = HttpResponse(render_quote_pdf(quote, version, language), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{pdf_filename(quote, version, language)}"'
    return response


# --- company profile -------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def company_profile_view(request: HttpRequest) -> HttpResponse:
    """The company header printed on quotes (administrators)."""
    user = _user(request)
    if not user.is_admin:
        raise PermissionDenied(_("Only administrators may change the company profile."))
    profile = company_profile()
    form = CompanyProfileForm(request.POST or None, initial={key: getattr(profile, key) for key in PROFILE_FIELDS})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                company_profile_save(actor=user, **form.cleaned_data)
            except ServiceError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("The company profile was saved."))
                return redirect("quotes:company_profile")
        status = 400
    return render(request, "quotes/company_profile.html", {"form": form, "section": "settings"}, status=status)


# --- the customer's public page ------------------------------------------------------------


def _public(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    response = render(request, template, context, status=status)
    response["X-Robots-Tag"] = "noindex, nofollow"
    # same-origin: the token in the URL never leaks to other sites, and form posts keep
    # their Origin header (no-referrer makes browsers send "Origin: null", which CSRF refuses)
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "no-store"
    return response


@login_not_required
@require_http_methods(["GET", "POST"])
def public_view(request: HttpRequest, token: str) -> HttpResponse:
    """The customer's page behind the signed link (no login): the frozen version in
    Chinese or English (``?lang=``), and Accept / Decline with their name. 404 for a bad
    token; 410 once the validity ended; 409 for a second decision or a replaced version;
    429 past the rate limit."""
    data = read_token(token)
    if data is None:
        raise Http404("unknown link")
    version = (
        QuoteVersion.objects.select_related("quote", "quote__owner", "quote__account")
        .filter(pk=data.version_id)
        .first()
    )
    if version is None:
        raise Http404("unknown link")
    quote = version.quote
    language = request.GET.get("lang") or request.POST.get("lang") or quote.language
    if language not in QuoteLanguage.values:
        language = quote.language
    with translation.override(language):
        context: dict[str, Any] = {
            "quote": quote,
            "version": version,
            "lines": list(version.lines.order_by("position", "id")),
            "profile": company_profile(),
            "zh": language == QuoteLanguage.ZH,
            "language": language,
            "token": token,
            "form": DecisionForm(request.POST or None),
        }
        if data.expired and version.status in OPEN_FOR_DECISION:
            return _public(request, "quotes/public.html", {**context, "state": "expired"}, status=410)
        if request.method == "GET":
            return _public(
                request,
                "quotes/public.html",
                {**context, "state": "open" if version.status in OPEN_FOR_DECISION else "closed"},
            )
        address = client_address(request.META)
        if not decision_allowed(address):
            return _public(request, "quotes/public.html", {**context, "state": "limited"}, status=429)
        form = context["form"]
        decision = request.POST.get("decision", "")
        if not form.is_valid() or decision not in ("accept", "decline"):
            return _public(request, "quotes/public.html", {**context, "state": "open"}, status=400)
        try:
            version = quote_decide(
                version_id=version.pk,
                decision=decision,
                name=form.cleaned_data["name"],
                reason=form.cleaned_data["reason"],
                ip=address,
                user_agent=str(request.META.get("HTTP_USER_AGENT", "")),
            )
        except ServiceError as exc:
            version.refresh_from_db()
            return _public(
                request,
                "quotes/public.html",
                {**context, "version": version, "state": "closed", "error": str(exc.message)},
                status=exc.status_code,
            )
        return _public(request, "quotes/public.html", {**context, "version": version, "state": "done"})
