"""Pages of contracts: the list, create (directly or from an accepted quote), detail with
versions, diff and approval state, edit, submit, sign, change orders, renew, and the account
and deal panels. Thin: forms parse, access functions resolve ids, services write."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, cast

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salesflow.catalogue.models import Product
from salesflow.contracts.diff import TERM_FIELDS, VersionDiff
from salesflow.contracts.forms import (
    MAX_FORM_LINES,
    AmendmentEditForm,
    AmendmentForm,
    ContractFilterForm,
    ContractForm,
    FromQuoteForm,
    SignForm,
    TerminateForm,
    lines_from_post,
)
from salesflow.contracts.models import Contract, ContractStatus, ContractVersion
from salesflow.contracts.permissions import (
    can_write_contract,
    get_contract_for_user,
    get_quote_for_user,
    quotes_visible_to,
)
from salesflow.contracts.selectors import (
    contract_list,
    contracts_for_account,
    contracts_for_opportunity,
    open_amendment,
    sort_order,
    version_diff,
    version_of,
    versions_of,
)
from salesflow.contracts.services import (
    KIND_AMENDMENT,
    KIND_CONTRACT,
    amendment_create,
    amendment_submit,
    amendment_update,
    contract_create,
    contract_create_from_quote,
    contract_renew,
    contract_sign,
    contract_submit,
    contract_terminate,
    contract_update,
    may_terminate,
)
from salesflow.core import approvals
from salesflow.core.audit import timeline_for
from salesflow.core.errors import ServiceError
from salesflow.core.web import apply_service_error, page_number, paginate, render_list
from salesflow.parties.permissions import accounts_visible_to, get_account_for_user
from salesflow.quotes.models import QuoteStatus
from salesflow.sales.permissions import get_opportunity_for_user
from salesflow.users.models import User
from salesflow.users.permissions import visible_owner_ids

PANEL_LIMIT = 20
ACCOUNT_CHOICES_LIMIT = 300


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _error_text(exc: ServiceError) -> str:
    details = [m for msgs in exc.field_errors.values() for m in msgs]
    return " ".join([str(exc.message), *details]) if details else str(exc.message)


def _approval_url(request_id: int | None) -> str | None:
    if request_id is None:
        return None
    for name in ("approvals:detail", "approvals:request"):
        try:
            return reverse(name, args=[request_id])
        except NoReverseMatch:
            continue
    return None


def _owner_choices(user: User) -> list[tuple[int, str]]:
    ids = visible_owner_ids(user)
    qs = User.objects.filter(is_active=True).order_by("display_name", "username")
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return [(u.pk, str(u)) for u in qs[:200]]


# ------------------------------------------------------------------------------ list


def contract_list_view(request: HttpRequest) -> HttpResponse:
    """``/contracts/``: visible contracts filtered by status, owner, account and "ending within
    N days", sortable, keyset pages. A fixed number of queries whatever the page size."""
    user = _user(request)
    form = ContractFilterForm(request.GET or None, owners=_owner_choices(user))
    values: dict[str, Any] = form.cleaned_data if form.is_bound and form.is_valid() else {}
    sort_key, _order = sort_order(values.get("sort") or None)
    qs = contract_list(
        user,
        status=values.get("status") or None,
        owner_id=values.get("owner"),
        account_id=values.get("account"),
        ending_within=values.get("ending_within"),
        q=(values.get("q") or "").strip() or None,
        sort=sort_key,
        today=timezone.localdate(),
    )
    page = paginate(qs, page_number(request))
    headers = {}
    for key in ("created", "end_date", "total", "number"):
        active = sort_key.lstrip("-") == key
        desc = sort_key.startswith("-")
        headers[key] = {"active": active, "desc": active and desc, "next": f"-{key}" if active and not desc else key}
    context = {"form": form, "page": page, "sort": sort_key, "sort_headers": headers, "today": timezone.localdate()}
    return render_list(
        request,
        page="contracts/list.html",
        fragment="contracts/partials/list_results.html",
        context=context,
        target="contract-results",
    )


# ------------------------------------------------------------------------------ create


def _product_choices() -> list[Product]:
    return list(Product.objects.filter(active=True).order_by("code")[:500])


def _line_rows(data: Any, lines: list[Any] | None = None) -> list[dict[str, Any]]:
    """Rows for the line editor: posted rows, or existing lines, plus blank rows."""
    rows: list[dict[str, Any]] = []
    if data is not None:
        for index in range(MAX_FORM_LINES):
            row = {
                name: data.get(f"line-{index}-{name}", "")
                for name in ("product_id", "name_zh", "unit", "quantity", "unit_price", "discount_percent", "tax_rate")
            }
            if any(row.values()):
                rows.append(row)
    elif lines:
        for line in lines:
            rows.append(
                {
                    "product_id": str(line.product_id or ""),
                    "name_zh": line.name_zh,
                    "unit": line.unit,
                    "quantity": str(line.quantity.normalize()) if line.quantity else "",
                    "unit_price": str(line.unit_price),
                    "discount_percent": str(line.discount_percent.normalize()),
                    "tax_rate": str(line.tax_rate.normalize()),
                }
            )
    blank = {"product_id": "", "name_zh": "", "unit": "", "quantity": "", "unit_price": ""}
    target = min(MAX_FORM_LINES, max(3, len(rows) + 2))
    rows.extend({**blank, "discount_percent": "", "tax_rate": ""} for _i in range(target - len(rows)))
    return [{"index": i, **row} for i, row in enumerate(rows)]


def _line_errors(exc: ServiceError) -> list[str]:
    return [
        f"{key.replace('lines.', '#').replace('.', ' ')}: {' '.join(msgs)}"
        for key, msgs in exc.field_errors.items()
        if key.startswith("lines")
    ]


def _account_choices(user: User, selected: int | None) -> list[tuple[int, str]]:
    qs = accounts_visible_to(user).order_by("name").values_list("pk", "name")
    rows = list(qs[:ACCOUNT_CHOICES_LIMIT])
    if selected and all(pk != selected for pk, _name in rows):
        extra = accounts_visible_to(user).filter(pk=selected).values_list("pk", "name").first()
        if extra:
            rows.insert(0, extra)
    return rows


@require_http_methods(["GET", "POST"])
def contract_create_view(request: HttpRequest) -> HttpResponseBase:
    """``/contracts/new/``: a contract entered directly (``?account=``, ``?opportunity=``
    preselect), or from an accepted quote (``?quote=``: terms only, lines copied)."""
    user = _user(request)
    quote_id = request.GET.get("quote") or request.POST.get("quote")
    if quote_id:
        return _create_from_quote(request, user, quote_id)
    preset_account: int | None = None
    opportunity = None
    if request.GET.get("opportunity"):
        opportunity = get_opportunity_for_user(user, request.GET["opportunity"])
        preset_account = opportunity.account_id
    elif request.GET.get("account"):
        preset_account = get_account_for_user(user, request.GET["account"]).pk
    initial: dict[str, Any] = {"account": preset_account, "opportunity": opportunity.pk if opportunity else None}
    if opportunity is not None:
        initial["title"] = opportunity.name
    accounts = _account_choices(user, preset_account)
    form = ContractForm(request.POST or None, initial=initial, accounts=accounts)
    line_errors: list[str] = []
    status = 200
    if request.method == "POST":
        lines, parse_errors = lines_from_post(request.POST)
        if form.is_valid() and not parse_errors:
            data = form.cleaned_data
            try:
                account = get_account_for_user(user, data["account"])
                opp = get_opportunity_for_user(user, data["opportunity"]) if data.get("opportunity") else None
                contract = contract_create(
                    actor=user,
                    account=account,
                    title=data["title"],
                    opportunity=opp,
                    currency=data["currency"],
                    prices_include_tax=data["prices_include_tax"],
                    terms=form.terms(),
                    lines=lines,
                )
            except ServiceError as exc:
                apply_service_error(form, exc)
                line_errors = _line_errors(exc)
            else:
                messages.success(request, _("Contract %(number)s created.") % {"number": contract.number})
                return redirect("contracts:detail", contract.pk)
        line_errors += [f"{k}: {' '.join(v)}" for k, v in parse_errors.items()]
        status = 400
    quotes = list(
        quotes_visible_to(user)
        .filter(status=QuoteStatus.ACCEPTED, contracts__isnull=True)
        .select_related("account")
        .order_by("-created_at")[:50]
    )
    return render(
        request,
        "contracts/form.html",
        {
            "form": form,
            "line_rows": _line_rows(request.POST if request.method == "POST" else None),
            "products": _product_choices(),
            "line_errors": line_errors,
            "accepted_quotes": quotes,
            "mode": "create",
        },
        status=status,
    )


def _create_from_quote(request: HttpRequest, user: User, quote_id: str) -> HttpResponseBase:
    quote = get_quote_for_user(user, quote_id)
    form = FromQuoteForm(request.POST or None, initial={"title": quote.title})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                contract = contract_create_from_quote(
                    actor=user, quote=quote, title=form.cleaned_data["title"], terms=form.terms()
                )
            except ServiceError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("Contract %(number)s created.") % {"number": contract.number})
                return redirect("contracts:detail", contract.pk)
        status = 400
    return render(request, "contracts/from_quote.html", {"form": form, "quote": quote}, status=status)


# ------------------------------------------------------------------------------ detail


def _term_labels() -> dict[str, str]:
    return {
        "start_date": _("Start date"),
        "end_date": _("End date"),
        "payment_terms": _("Payment terms"),
        "delivery_terms": _("Delivery terms"),
        "special_clauses": _("Special clauses"),
        "non_standard_terms": _("Non-standard terms"),
    }


def _shown(value: Any) -> Any:
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return value


def _figure(field: str, value: Decimal) -> str:
    if field in ("unit_price", "total"):
        return f"{value:,.2f}"
    return f"{value.normalize():f}"


def diff_context(diff: VersionDiff | None) -> dict[str, Any]:
    """The diff with translated labels, ready for ``partials/diff.html``."""
    if diff is None:
        return {"diff": None}
    terms = _term_labels()
    fields = {
        "quantity": _("Quantity"),
        "unit_price": _("Unit price"),
        "discount_percent": _("Discount (%)"),
        "tax_rate": _("Tax rate (%)"),
        "total": _("Total"),
    }
    totals = {
        "subtotal": _("Subtotal"),
        "discount": _("Discount"),
        "net": _("Net amount"),
        "tax": _("Tax"),
        "total": _("Total"),
    }
    return {
        "diff": diff,
        "term_rows": [(terms[name], _shown(old), _shown(new)) for name, (old, new) in diff.terms.items()],
        "line_changes": [
            (name, [(fields[f], _figure(f, old), _figure(f, new)) for f, (old, new) in changes.items()])
            for name, changes in diff.changed
        ],
        "total_rows": [(totals[name], old, new) for name, (old, new) in diff.totals.items()],
    }


def _detail_context(request: HttpRequest, contract: Contract, **extra: Any) -> dict[str, Any]:
    user = _user(request)
    versions = versions_of(contract)
    current_no = contract.current_version.version if contract.current_version else 1
    current = version_of(contract, current_no)
    amendment = open_amendment(contract)
    request_id = approvals.pending_request_id(KIND_CONTRACT, contract)
    approval_kind, approval_object_id = KIND_CONTRACT, contract.pk
    if request_id is None and amendment is not None and amendment.status == ContractStatus.PENDING_APPROVAL:
        request_id = approvals.pending_request_id(KIND_AMENDMENT, amendment)
        approval_kind, approval_object_id = KIND_AMENDMENT, amendment.pk
    can_write = can_write_contract(user, contract)
    diff = None
    if len(versions) > 1:
        diff = version_diff(contract, versions[-2].version, versions[-1].version)
    return {
        "contract": contract,
        "versions": versions,
        "current": current,
        "amendment": amendment,
        "can_write": can_write,
        "approval_request_id": request_id,
        "approval_url": _approval_url(request_id),
        # the engine's panel on the page (current step, last return, withdraw for the requester)
        "approval_kind": approval_kind,
        "approval_object_id": approval_object_id,
        "sign_form": extra.pop("sign_form", None) or SignForm(initial={"signed_on": timezone.localdate()}),
        "amend_form": extra.pop("amend_form", None) or AmendmentForm(),
        "may_terminate": contract.status == ContractStatus.SIGNED and may_terminate(user, contract),
        "terminate_form": extra.pop("terminate_form", None)
        or TerminateForm(initial={"terminated_on": timezone.localdate()}),
        **diff_context(diff),
        "diff_from": versions[-2].version if len(versions) > 1 else 1,
        "diff_to": versions[-1].version,
        "terms": {
            name: (value.isoformat() if isinstance(value, date) else value)
            for name in TERM_FIELDS
            for value in [getattr(contract, name)]
        },
        "events": timeline_for(contract, user=user),
        **extra,
    }


@require_GET
def contract_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    contract = get_contract_for_user(_user(request), pk)
    return render(request, "contracts/detail.html", _detail_context(request, contract))


@require_GET
def version_view(request: HttpRequest, pk: int, version: int) -> HttpResponse:
    """``/contracts/<pk>/versions/<n>/``: one version, read-only (terms, lines, totals)."""
    contract = get_contract_for_user(_user(request), pk)
    item = version_of(contract, version)
    return render(
        request,
        "contracts/version.html",
        {"contract": contract, "version": item, "can_write": can_write_contract(_user(request), contract)},
    )


@require_GET
def diff_view(request: HttpRequest, pk: int) -> HttpResponse:
    """``/contracts/<pk>/diff/?from=&to=``: the diff partial (htmx) between two versions."""
    contract = get_contract_for_user(_user(request), pk)
    diff = version_diff(contract, request.GET.get("from", "1"), request.GET.get("to", "1"))
    return render(request, "contracts/partials/diff.html", {"contract": contract, **diff_context(diff)})


@require_http_methods(["GET", "POST"])
def contract_edit_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    """``/contracts/<pk>/edit/``: a draft's title, terms and lines (409 page once locked)."""
    user = _user(request)
    contract = get_contract_for_user(user, pk, write=True)
    current = version_of(contract, contract.current_version.version if contract.current_version else 1)
    initial = {name: getattr(contract, name) for name in TERM_FIELDS} | {
        "title": contract.title,
        "prices_include_tax": current.prices_include_tax,
    }
    form = ContractForm(request.POST or None, initial=initial, accounts=None)
    line_errors: list[str] = []
    status = 200
    if contract.status != ContractStatus.DRAFT:
        messages.error(request, _("Only a draft contract can be changed."))
        return redirect("contracts:detail", contract.pk)
    if request.method == "POST":
        lines, parse_errors = lines_from_post(request.POST)
        if form.is_valid() and not parse_errors:
            changes = form.terms() | {
                "title": form.cleaned_data["title"],
                "prices_include_tax": form.cleaned_data["prices_include_tax"],
            }
            try:
                contract_update(actor=user, contract=contract, changes=changes, lines=lines)
            except ServiceError as exc:
                if exc.status_code == 409:
                    messages.error(request, _error_text(exc))
                    return redirect("contracts:detail", contract.pk)
                apply_service_error(form, exc)
                line_errors = _line_errors(exc)
            else:
                messages.success(request, _("Contract saved."))
                return redirect("contracts:detail", contract.pk)
        line_errors += [f"{k}: {' '.join(v)}" for k, v in parse_errors.items()]
        status = 400
    return render(
        request,
        "contracts/form.html",
        {
            "form": form,
            "contract": contract,
            "line_rows": _line_rows(request.POST if request.method == "POST" else None, list(current.lines.all())),
            "products": _product_choices(),
            "line_errors": line_errors,
            "mode": "edit",
        },
        status=status,
    )


@require_POST
def contract_submit_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _user(request)
    contract = get_contract_for_user(user, pk, write=True)
    try:
        contract = contract_submit(actor=user, contract=contract)
    except ServiceError as exc:
        messages.error(request, _error_text(exc))
        return redirect("contracts:detail", contract.pk)
    if contract.status == ContractStatus.APPROVED:
        messages.success(request, _("The contract was approved: record the signature when it is signed."))
    else:
        messages.success(request, _("The contract was submitted for approval."))
    return redirect("contracts:detail", contract.pk)


def _detail_form_action(
    request: HttpRequest,
    contract: Contract,
    form: Any,
    form_name: str,
    action: Callable[[dict[str, Any]], object],
    success: str,
) -> HttpResponseBase:
    """Run ``action`` with the valid form's data: success redirects to the contract with
    ``success``; a state conflict (409) redirects with the error as a message; any other
    service error, or an invalid form, re-renders the contract page with the form's errors
    (400) under ``form_name``."""
    if form.is_valid():
        try:
            action(form.cleaned_data)
        except ServiceError as exc:
            if exc.status_code == 409:
                messages.error(request, _error_text(exc))
                return redirect("contracts:detail", contract.pk)
            apply_service_error(form, exc)
        else:
            messages.success(request, success)
            return redirect("contracts:detail", contract.pk)
    return render(request, "contracts/detail.html", _detail_context(request, contract, **{form_name: form}), status=400)


@require_POST
def contract_sign_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Sign with the date and the signed file (multipart); errors re-render the page (400)."""
    user = _user(request)
    contract = get_contract_for_user(user, pk, write=True)
    return _detail_form_action(
        request,
        contract,
        SignForm(request.POST, request.FILES),
        "sign_form",
        lambda data: contract_sign(actor=user, contract=contract, signed_on=data["signed_on"], upload=data["file"]),
        _("The signature was recorded; the contract is archived."),
    )


@require_POST
def amendment_create_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _user(request)
    contract = get_contract_for_user(user, pk, write=True)
    form = AmendmentForm(request.POST)
    if form.is_valid():
        try:
            version = amendment_create(actor=user, contract=contract, reason=form.cleaned_data["reason"])
        except ServiceError as exc:
            if exc.status_code == 409:
                messages.error(request, _error_text(exc))
                return redirect("contracts:detail", contract.pk)
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Change order %(number)s opened.") % {"number": version.number})
            return redirect("contracts:amendment_edit", contract.pk, version.version)
    return render(request, "contracts/detail.html", _detail_context(request, contract, amend_form=form), status=400)


def _amendment(request: HttpRequest, pk: int, version: int) -> tuple[Contract, ContractVersion]:
    contract = get_contract_for_user(_user(request), pk, write=True)
    item = version_of(contract, version)
    if item.version == 1:
        raise Http404
    return contract, item


@require_http_methods(["GET", "POST"])
def amendment_edit_view(request: HttpRequest, pk: int, version: int) -> HttpResponseBase:
    """``/contracts/<pk>/versions/<n>/edit/``: a draft change order's reason, terms and lines."""
    user = _user(request)
    contract, item = _amendment(request, pk, version)
    if item.status != ContractStatus.DRAFT or item.pk == contract.current_version_id:
        messages.error(request, _("Only a draft change order can be changed."))
        return redirect("contracts:detail", contract.pk)
    terms = dict(item.terms or {})
    form = AmendmentEditForm(request.POST or None, initial={**terms, "reason": item.change_summary})
    line_errors: list[str] = []
    status = 200
    if request.method == "POST":
        lines, parse_errors = lines_from_post(request.POST)
        if form.is_valid() and not parse_errors:
            try:
                amendment_update(
                    actor=user,
                    version=item,
                    changes=form.terms() | {"reason": form.cleaned_data["reason"]},
                    lines=lines,
                )
                if request.POST.get("action") == "submit":
                    amendment_submit(actor=user, version=item)
            except ServiceError as exc:
                if exc.status_code == 409:
                    messages.error(request, _error_text(exc))
                    return redirect("contracts:detail", contract.pk)
                apply_service_error(form, exc)
                line_errors = _line_errors(exc)
            else:
                item.refresh_from_db()
                if item.status == ContractStatus.APPROVED:
                    messages.success(request, _("The change order was approved and is now the current version."))
                elif request.POST.get("action") == "submit":
                    messages.success(request, _("The change order was submitted for approval."))
                else:
                    messages.success(request, _("Change order saved."))
                return redirect("contracts:detail", contract.pk)
        line_errors += [f"{k}: {' '.join(v)}" for k, v in parse_errors.items()]
        status = 400
    return render(
        request,
        "contracts/form.html",
        {
            "form": form,
            "contract": contract,
            "version": item,
            "line_rows": _line_rows(request.POST if request.method == "POST" else None, list(item.lines.all())),
            "products": _product_choices(),
            "line_errors": line_errors,
            "mode": "amend",
        },
        status=status,
    )


@require_POST
def amendment_submit_view(request: HttpRequest, pk: int, version: int) -> HttpResponseBase:
    user = _user(request)
    contract, item = _amendment(request, pk, version)
    try:
        amendment_submit(actor=user, version=item)
    except ServiceError as exc:
        messages.error(request, _error_text(exc))
        return redirect("contracts:detail", contract.pk)
    item.refresh_from_db()
    if item.status == ContractStatus.APPROVED:
        messages.success(request, _("The change order was approved and is now the current version."))
    else:
        messages.success(request, _("The change order was submitted for approval."))
    return redirect("contracts:detail", contract.pk)


@require_POST
def contract_terminate_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Terminate a signed contract early (date and reason); errors re-render the page (400),
    a state conflict (409) comes back as a message."""
    user = _user(request)
    contract = get_contract_for_user(user, pk, write=True)
    return _detail_form_action(
        request,
        contract,
        TerminateForm(request.POST),
        "terminate_form",
        lambda data: contract_terminate(
            actor=user, contract=contract, terminated_on=data["terminated_on"], reason=data["reason"]
        ),
        _("The contract was terminated."),
    )


@require_POST
def contract_renew_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = _user(request)
    contract = get_contract_for_user(user, pk, write=True)
    try:
        opportunity = contract_renew(actor=user, contract=contract)
    except ServiceError as exc:
        messages.error(request, _error_text(exc))
        return redirect("contracts:detail", contract.pk)
    messages.success(request, _("Renewal opportunity “%(name)s” created.") % {"name": opportunity.name})
    return redirect("opportunities:detail", opportunity.pk)


# ------------------------------------------------------------------------------ panels


@require_GET
def account_panel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """``/contracts/for-account/<pk>/panel/``: the account's visible contracts (20 at most)."""
    user = _user(request)
    account = get_account_for_user(user, pk)
    rows = list(contracts_for_account(user, account)[: PANEL_LIMIT + 1])
    return render(
        request,
        "contracts/partials/panel.html",
        {
            "contracts": rows[:PANEL_LIMIT],
            "has_more": len(rows) > PANEL_LIMIT,
            "list_url": f"{reverse('contracts:list')}?account={account.pk}",
            "new_url": f"{reverse('contracts:create')}?account={account.pk}",
            "testid": "account-contracts-panel",
        },
    )


@require_GET
def deal_panel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """``/contracts/for-opportunity/<pk>/panel/``: the deal's visible contracts."""
    user = _user(request)
    opportunity = get_opportunity_for_user(user, pk)
    rows = list(contracts_for_opportunity(user, opportunity)[: PANEL_LIMIT + 1])
    return render(
        request,
        "contracts/partials/panel.html",
        {
            "contracts": rows[:PANEL_LIMIT],
            "has_more": len(rows) > PANEL_LIMIT,
            "list_url": f"{reverse('contracts:list')}?account={opportunity.account_id}",
            "new_url": f"{reverse('contracts:create')}?opportunity={opportunity.pk}",
            "testid": "deal-contracts-panel",
        },
    )
