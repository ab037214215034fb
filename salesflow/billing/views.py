"""Pages of payment collection (回款) and invoices: the plan panel of contract and order pages,
the account's collections panel, payments (list, record, detail with allocation), invoices
(list, new, detail with issue / void / red reversal) and the receivables ageing report with
its drill-down and CSV export. Thin callers of ``billing.services`` and ``billing.selectors``;
amounts are shown only where ``may_see_money`` allows."""

from __future__ import annotations

import csv
import datetime as dt
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salesflow.billing.choices import AgeingBucket, AgeingGroup, InvoiceStatus, PaymentStatus
from salesflow.billing.forms import (
    AgeingForm,
    AllocationForm,
    InstalmentForm,
    InvoiceFilterForm,
    InvoiceForm,
    InvoiceNewForm,
    PaymentFilterForm,
    PaymentForm,
    PlanForm,
    ReasonForm,
    ReminderSettingsForm,
)
from salesflow.billing.models import Instalment, Invoice, Payment
from salesflow.billing.permissions import (
    get_document_for_user,
    get_instalment_for_user,
    get_invoice_for_user,
    get_payment_for_user,
    get_plan_for_user,
    may_see_money,
    payments_visible_to,
    plans_visible_to,
    sees_no_money,
)
from salesflow.billing.selectors import (
    BUCKETS,
    AgeingFilters,
    account_collections,
    ageing_instalments,
    ageing_report,
    invoice_list,
    open_instalments_for_payment,
    payment_detail,
    payment_list,
    plan_for_document,
    termination_cancelled,
)
from salesflow.billing.services import (
    AllocationInput,
    allocation_remove,
    instalment_add,
    instalment_void,
    invoice_create,
    invoice_issue,
    invoice_red_reverse,
    invoice_update,
    invoice_void,
    payment_allocate,
    payment_auto_allocate,
    payment_record,
    payment_void,
    plan_create,
    reminder_settings,
    reminder_settings_save,
)
from salesflow.billing.status import status_of
from salesflow.core.errors import ServiceError
from salesflow.core.exports import neutralise
from salesflow.core.web import apply_service_error, page_number, paginate, render_list
from salesflow.parties.permissions import get_account_for_user
from salesflow.users.models import Team, User
from salesflow.users.permissions import assignable_users_for, managed_team_ids

PAGE_SIZE = 25


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _today() -> dt.date:
    return timezone.localdate()


def _money(user: User, rows: list[Any]) -> list[Any]:
    for row in rows:
        row.show_money = may_see_money(user, row)
    return rows


def _statuses(rows: list[Instalment], today: dt.date) -> list[Instalment]:
    for inst in rows:
        inst.status = status_of(inst, today)  # type: ignore[attr-defined]
    return rows


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def _error_text(exc: ServiceError) -> str:
    return " ".join([str(exc.message), *(m for msgs in exc.field_errors.values() for m in msgs)])


def _doc_choices(user: User) -> list[tuple[str, str]]:
    plans = (
        plans_visible_to(user, write=True).select_related("contract", "order", "account").order_by("-created_at")[:200]
    )
    return [(f"{p.kind}:{p.document.pk}", f"{p.document.number} · {p.account.name}") for p in plans]


def _parse_doc(value: str) -> tuple[str, int]:
    kind, _sep, pk = value.partition(":")
    if kind not in ("contract", "order") or not pk.isdigit():
        raise Http404("unknown document")
    return kind, int(pk)


# --- the plan panel (contract and order pages) -----------------------------------------------------


def _panel_context(request: HttpRequest, kind: str, doc: Any) -> dict[str, Any]:
    user = _user(request)
    today = _today()
    plan = plan_for_document(user, kind, doc.pk)
    insts = _statuses(list(plan.instalments.all()), today) if plan is not None else []
    show = may_see_money(user, doc)
    planned = sum((i.amount for i in insts if i.voided_at is None), start=doc.total * 0)
    terminated = getattr(doc, "status", "") == "terminated"
    # planned + voided by termination + not yet planned = the document's total
    voided = termination_cancelled(plan) if plan is not None and terminated else doc.total * 0
    # a terminated contract: what is still owed (instalments due up to the termination date)
    remaining = sum((i.amount - i.paid for i in insts if i.voided_at is None), start=doc.total * 0)
    writable = True
    try:
        get_document_for_user(user, kind, doc.pk, write=True)
    except PermissionDenied:
        writable = False
    return {
        "kind": kind,
        "doc": doc,
        "plan": plan,
        "instalments": insts,
        "show_money": show,
        "planned": planned,
        "voided": voided,
        "unplanned": doc.total - planned - voided,
        "terminated_on": getattr(doc, "terminated_on", None) if terminated else None,
        "remaining": remaining,
        "writable": writable and not sees_no_money(user),
        "plan_form": PlanForm(initial={"terms": getattr(doc, "payment_terms", "")[:200]}),
        "instalment_form": InstalmentForm(),
        "panel_url": reverse("billing:document_panel", args=[kind, doc.pk]),
        "next": request.GET.get("next") or request.headers.get("HX-Current-URL", "") or request.path,
    }


@require_GET
def document_panel_view(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """The payment plan card of a contract or order page (htmx): instalments with amounts,
    due dates and derived statuses, the form to make the plan from the terms, to add or void
    an instalment, and a link to record a payment."""
    doc = get_document_for_user(_user(request), kind, pk)
    return render(request, "billing/partials/document_panel.html", _panel_context(request, kind, doc))


@require_GET
def plan_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A plan on a page of its own (the panel inside the layout): where reminders link."""
    plan = get_plan_for_user(_user(request), pk)
    context = _panel_context(request, plan.kind, plan.document)
    context["standalone"] = True
    return render(request, "billing/plan_detail.html", context)


@require_GET
def instalment_redirect_view(request: HttpRequest, pk: int) -> HttpResponse:
    inst = get_instalment_for_user(_user(request), pk)
    return redirect("billing:plan_detail", pk=inst.plan_id)


@require_POST
def plan_create_view(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    user = _user(request)
    doc = get_document_for_user(user, kind, pk)
    form = PlanForm(request.POST)
    back = _back(request, reverse("billing:payments"))
    if not form.is_valid():
        messages.error(request, " ".join(str(m) for msgs in form.errors.values() for m in msgs))
        return redirect(back)
    try:
        plan = plan_create(
            actor=user,
            kind=kind,
            document_id=doc.pk,
            terms=form.cleaned_data["terms"],
            start=form.cleaned_data["start"],
        )
    except ServiceError as exc:
        messages.error(request, _error_text(exc))
        return redirect(back)
    messages.success(request, _("The payment plan was made."))
    return redirect(_back(request, reverse("billing:plan_detail", args=[plan.pk])))


@require_POST
def instalment_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    plan = get_plan_for_user(user, pk)
    back = _back(request, reverse("billing:plan_detail", args=[plan.pk]))
    form = InstalmentForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(m) for msgs in form.errors.values() for m in msgs))
        return redirect(back)
    try:
        instalment_add(actor=user, plan=plan, **form.cleaned_data)
    except ServiceError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("The instalment was added."))
    return redirect(back)


@require_POST
def instalment_void_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    inst = get_instalment_for_user(user, pk)
    back = _back(request, reverse("billing:plan_detail", args=[inst.plan_id]))
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason."))
        return redirect(back)
    try:
        instalment_void(actor=user, instalment=inst, reason=form.cleaned_data["reason"])
    except ServiceError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("The instalment was voided."))
    return redirect(back)


# --- the account's collections panel ---------------------------------------------------------------


@require_GET
def account_panel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Collections (回款) of one customer for its account page (htmx): planned, received and
    overdue per currency, and the next open instalments."""
    user = _user(request)
    account = get_account_for_user(user, pk)
    today = _today()
    data = account_collections(user, account, today=today)
    return render(
        request,
        "billing/partials/account_panel.html",
        {
            "account": account,
            "data": data,
            "instalments": _money(user, _statuses(data.instalments, today)),
            "show_money": not sees_no_money(user),
        },
    )


# --- payments ------------------------------------------------------------------------------------


@require_GET
def payment_list_view(request: HttpRequest) -> HttpResponse:
    """Payments received, newest first; filters by status, method and "unallocated remainder"
    (the overpayments); each row shows what is still unallocated."""
    user = _user(request)
    form = PaymentFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    account = request.GET.get("account", "")
    qs = payment_list(
        user,
        account_id=int(account) if account.isdigit() and int(account) < 2**63 else None,
        status=data.get("status") or "",
        method=data.get("method") or "",
        unallocated=bool(data.get("unallocated")),
    )
    page = paginate(qs, page_number(request), PAGE_SIZE)
    _money(user, page.object_list)
    context = {"page": page, "payments": page.object_list, "filter_form": form, "section": "payments"}
    return render_list(
        request, page="billing/payment_list.html", fragment="billing/partials/payment_rows.html", context=context
    )


@require_http_methods(["GET", "POST"])
def payment_new_view(request: HttpRequest) -> HttpResponse:
    """Record a payment for a contract or order (preset by ``?kind=&id=``), allocated oldest
    due first or left for allocation by hand."""
    user = _user(request)
    if sees_no_money(user):
        raise PermissionDenied(_("You may not record payments."))
    documents = _doc_choices(user)
    initial: dict[str, Any] = {"received_on": _today()}
    kind, doc_id = request.GET.get("kind", ""), request.GET.get("id", "")
    if kind in ("contract", "order") and doc_id.isdigit():
        doc = get_document_for_user(user, kind, doc_id)
        initial["document"] = f"{kind}:{doc.pk}"
        if initial["document"] not in {c[0] for c in documents}:
            documents.insert(0, (initial["document"], f"{doc.number} · {doc.account.name}"))
    form = PaymentForm(request.POST or None, documents=documents, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        kind, doc_pk = _parse_doc(data["document"])
        try:
            payment = payment_record(
                actor=user,
                kind=kind,
                document_id=doc_pk,
                amount=data["amount"],
                received_on=data["received_on"],
                method=data["method"],
                reference=data["reference"],
                payer=data["payer"],
                note=data["note"],
                allocate=data["allocate"],
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Payment %(number)s was recorded.") % {"number": payment.number})
            return redirect("billing:payment_detail", pk=payment.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "billing/payment_form.html", {"form": form, "section": "payments"}, status=status)


def _payment_context(request: HttpRequest, payment: Payment, form: AllocationForm | None = None) -> dict[str, Any]:
    user = _user(request)
    today = _today()
    allocations = payment_detail(payment)
    open_rows: list[Instalment] = []
    writable = payment.status == PaymentStatus.RECORDED and not sees_no_money(user)
    if writable:
        try:
            get_payment_for_user(user, payment.pk, write=True)
        except PermissionDenied:
            writable = False
    if writable:
        open_rows = _statuses(open_instalments_for_payment(user, payment), today)
    return {
        "payment": payment,
        "show_money": may_see_money(user, payment),
        "allocations": allocations,
        "open_instalments": open_rows,
        "allocation_form": form or AllocationForm(instalment_ids=[i.pk for i in open_rows]),
        "void_form": ReasonForm(),
        "writable": writable,
        "invoices": list(payment.invoices.all()),
        "section": "payments",
    }


@require_GET
def payment_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    payment = get_payment_for_user(_user(request), pk)
    return render(request, "billing/payment_detail.html", _payment_context(request, payment))


@require_POST
def payment_allocate_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Manual allocation (one amount per open instalment) or ``auto`` (oldest due first)."""
    user = _user(request)
    payment = get_payment_for_user(user, pk)
    try:
        if request.POST.get("auto"):
            payment_auto_allocate(actor=user, payment=payment)
        else:
            ids = [i.pk for i in open_instalments_for_payment(user, payment)]
            form = AllocationForm(request.POST, instalment_ids=ids)
            if not form.is_valid():
                return render(
                    request, "billing/payment_detail.html", _payment_context(request, payment, form), status=400
                )
            payment_allocate(actor=user, payment=payment, allocations=[AllocationInput(i, a) for i, a in form.rows()])
    except ServiceError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("The payment was allocated."))
    return redirect("billing:payment_detail", pk=payment.pk)


@require_POST
def allocation_remove_view(request: HttpRequest, pk: int, instalment_id: int) -> HttpResponse:
    user = _user(request)
    payment = get_payment_for_user(user, pk)
    try:
        allocation_remove(actor=user, payment=payment, instalment_id=instalment_id)
    except ServiceError as exc:
        messages.error(request, _error_text(exc))
    return redirect("billing:payment_detail", pk=payment.pk)


@require_POST
def payment_void_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    payment = get_payment_for_user(user, pk)
    form = ReasonForm(request.POST)
    try:
        if not form.is_valid():
            raise ServiceError(_("Give a reason."))
        payment_void(actor=user, payment=payment, reason=form.cleaned_data["reason"])
    except ServiceError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("The payment was voided."))
    return redirect("billing:payment_detail", pk=payment.pk)


# --- invoices ------------------------------------------------------------------------------------


@require_GET
def invoice_list_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = InvoiceFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    qs = invoice_list(user, status=data.get("status") or "", invoice_type=data.get("invoice_type") or "")
    page = paginate(qs, page_number(request), PAGE_SIZE)
    _money(user, page.object_list)
    context = {"page": page, "invoices": page.object_list, "filter_form": form, "section": "invoices"}
    return render_list(
        request, page="billing/invoice_list.html", fragment="billing/partials/invoice_rows.html", context=context
    )


def _payment_choices(user: User, account_id: int | None = None) -> list[tuple[str, str]]:
    qs = payments_visible_to(user, write=True).filter(status=PaymentStatus.RECORDED)
    if account_id:
        qs = qs.filter(account_id=account_id)
    return [(str(p.pk), f"{p.number} · {p.received_on}") for p in qs.order_by("-received_on", "-id")[:100]]


@require_http_methods(["GET", "POST"])
def invoice_new_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if sees_no_money(user):
        raise PermissionDenied(_("You may not create invoices."))
    form = InvoiceNewForm(
        request.POST or None, documents=_doc_choices(user), payments=_payment_choices(user), initial={"tax_rate": "13"}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        kind, doc_pk = _parse_doc(data["document"])
        try:
            invoice = invoice_create(
                actor=user,
                kind=kind,
                document_id=doc_pk,
                amount=data["amount"],
                tax_rate=data["tax_rate"],
                invoice_type=data["invoice_type"],
                title=data["title"],
                buyer_tax_id=data["buyer_tax_id"],
                note=data["note"],
                payment_ids=[int(p) for p in data["payments"]],
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The draft invoice was created."))
            return redirect("billing:invoice_detail", pk=invoice.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "billing/invoice_form.html", {"form": form, "section": "invoices"}, status=status)


@require_http_methods(["GET", "POST"])
def invoice_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """An invoice; a draft can be edited, issued or voided; an issued one voided or reversed.
    Issued invoices are immutable: an edit answers 409."""
    user = _user(request)
    invoice = get_invoice_for_user(user, pk)
    show = may_see_money(user, invoice)
    status = 200
    form = None
    if invoice.status == InvoiceStatus.DRAFT and show:
        form = InvoiceForm(
            request.POST or None,
            payments=_payment_choices(user, invoice.account_id),
            initial={
                "invoice_type": invoice.invoice_type,
                "amount": invoice.total,
                "tax_rate": invoice.tax_rate,
                "title": invoice.title,
                "buyer_tax_id": invoice.buyer_tax_id,
                "note": invoice.note,
                "payments": [str(p.pk) for p in invoice.payments.all()],
            },
        )
    if request.method == "POST":
        if form is None:
            return render(request, "billing/invoice_detail.html", _invoice_context(user, invoice, None), status=409)
        if form.is_valid():
            data = form.cleaned_data
            try:
                invoice_update(
                    actor=user,
                    invoice=invoice,
                    invoice_type=data["invoice_type"],
                    amount=data["amount"],
                    tax_rate=data["tax_rate"],
                    title=data["title"] or invoice.title,
                    buyer_tax_id=data["buyer_tax_id"],
                    note=data["note"],
                    payment_ids=[int(p) for p in data["payments"]],
                )
            except ServiceError as exc:
                apply_service_error(form, exc)
                status = exc.status_code
            else:
                messages.success(request, _("The invoice was saved."))
                return redirect("billing:invoice_detail", pk=invoice.pk)
        else:
            status = 400
    return render(request, "billing/invoice_detail.html", _invoice_context(user, invoice, form), status=status)


def _invoice_context(user: User, invoice: Invoice, form: InvoiceForm | None) -> dict[str, Any]:
    writable = not sees_no_money(user)
    if writable:
        try:
            get_invoice_for_user(user, invoice.pk, write=True)
        except PermissionDenied:
            writable = False
    return {
        "invoice": invoice,
        "show_money": may_see_money(user, invoice),
        "form": form,
        "reason_form": ReasonForm(),
        "writable": writable,
        "linked_payments": list(invoice.payments.all()),
        "section": "invoices",
    }


@require_POST
def invoice_action_view(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    user = _user(request)
    invoice = get_invoice_for_user(user, pk)
    target = invoice
    try:
        if action == "issue":
            invoice_issue(actor=user, invoice=invoice)
            messages.success(request, _("The invoice was issued."))
        elif action in ("void", "red-reverse"):
            form = ReasonForm(request.POST)
            if not form.is_valid():
                raise ServiceError(_("Give a reason."))
            if action == "void":
                invoice_void(actor=user, invoice=invoice, reason=form.cleaned_data["reason"])
                messages.success(request, _("The invoice was voided."))
            else:
                target = invoice_red_reverse(actor=user, invoice=invoice, reason=form.cleaned_data["reason"])
                messages.success(request, _("The invoice was reversed by a red invoice."))
        else:
            raise Http404("unknown action")
    except ServiceError as exc:
        messages.error(request, _error_text(exc))
    return redirect("billing:invoice_detail", pk=target.pk)


# --- receivables ageing --------------------------------------------------------------------------


def _ageing_form(request: HttpRequest, user: User) -> tuple[AgeingForm, str, AgeingFilters, dt.date]:
    teams = Team.objects.filter(pk__in=managed_team_ids(user)).order_by("name").values_list("pk", "name")[:500]
    owners = [(u.pk, str(u)) for u in assignable_users_for(user)[:500]]
    form = AgeingForm(request.GET or None, teams=list(teams), owners=owners)
    data = form.cleaned_data if form.is_valid() else {}
    group = data.get("group") or AgeingGroup.CUSTOMER
    filters = AgeingFilters(
        team_id=data.get("team"),
        owner_id=data.get("owner"),
        currency=(data.get("currency") or "").upper(),
    )
    return form, group, filters, data.get("as_of") or _today()


def _require_money(user: User) -> None:
    if sees_no_money(user):
        raise PermissionDenied(_("You may not see amounts."))


@require_GET
def ageing_view(request: HttpRequest) -> HttpResponse:
    """The receivables ageing report (应收账款账龄) by customer, rep or team in the company
    currency; each cell links to its instalments."""
    user = _user(request)
    _require_money(user)
    form, group, filters, today = _ageing_form(request, user)
    report = ageing_report(user, group=group, today=today, filters=filters)
    for row in report.rows:
        row.cells = [(b, row.buckets[b]) for b in BUCKETS]  # type: ignore[attr-defined]
    context = {
        "form": form,
        "report": report,
        "group_label": AgeingGroup(report.group).label,
        "total_cells": [(b, report.totals[b]) for b in BUCKETS],
        "buckets": [(b, AgeingBucket(b).label) for b in BUCKETS],
        "query": request.GET.urlencode(),
        "section": "ageing",
    }
    return render(request, "billing/ageing.html", context)


@require_GET
def ageing_instalments_view(request: HttpRequest) -> HttpResponse:
    """The drill-down: the open instalments behind a cell (bucket × row) of the report."""
    user = _user(request)
    _require_money(user)
    _form, group, filters, today = _ageing_form(request, user)
    key_text = request.GET.get("key", "")
    key = int(key_text) if key_text.isdigit() and int(key_text) < 2**63 else None
    bucket = request.GET.get("bucket", "")
    qs = ageing_instalments(user, today=today, filters=filters, bucket=bucket, group=group, key=key)
    page = paginate(qs, page_number(request), 50)
    _statuses(page.object_list, today)
    context = {
        "page": page,
        "instalments": page.object_list,
        "bucket_label": AgeingBucket(bucket).label if bucket in BUCKETS else _("All buckets"),
        "today": today,
        "section": "ageing",
    }
    return render(request, "billing/ageing_instalments.html", context)


@require_GET
def ageing_export_view(request: HttpRequest) -> HttpResponse:
    """The report as CSV (UTF-8 with a BOM; text neutralised against formulas)."""
    user = _user(request)
    _require_money(user)
    _form, group, filters, today = _ageing_form(request, user)
    report = ageing_report(user, group=group, today=today, filters=filters)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="ageing-{today.isoformat()}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(
        [str(AgeingGroup(group).label), *(str(AgeingBucket(b).label) for b in BUCKETS), _("Total"), _("Currency")]
    )
    for row in report.rows:
        writer.writerow(
            [neutralise(row.label), *(f"{row.buckets[b]:f}" for b in BUCKETS), f"{row.total:f}", report.currency]
        )
    writer.writerow([_("Total"), *(f"{report.totals[b]:f}" for b in BUCKETS), f"{report.total:f}", report.currency])
    return response


# --- reminder settings (administrators) ----------------------------------------------------------


@require_http_methods(["GET", "POST"])
def reminder_settings_view(request: HttpRequest) -> HttpResponse:
    """``/billing/settings/reminders/``: the payment reminder days before and after a due
    date and the contract renewal reminder days (administrators; the service checks again).
    Bad days re-render the page with the field's error (400), nothing saved."""
    user = _user(request)
    if not user.is_admin:
        raise PermissionDenied(_("Only administrators change the reminder settings."))
    current = reminder_settings()
    initial = {
        "payment_days_before": ", ".join(str(d) for d in current.payment_days_before),
        "payment_days_after": ", ".join(str(d) for d in current.payment_days_after),
        "renewal_reminder_days": str(current.renewal_reminder_days),
    }
    form = ReminderSettingsForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                reminder_settings_save(actor=user, **form.cleaned_data)
            except ServiceError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("The reminder settings were saved."))
                return redirect("billing:reminder_settings")
        status = 400
    return render(request, "billing/reminder_settings.html", {"form": form, "section": "settings"}, status=status)
