"""JSON API of payment collection and invoices (``/api/v1/billing``): plans and instalments,
payments and allocations, invoices, and the receivables ageing report — the same services
and selectors as the pages. Money is ``null`` where ``may_see_money`` says no."""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router

from salesflow.billing.models import Payment
from salesflow.billing.permissions import (
    get_instalment_for_user,
    get_invoice_for_user,
    get_payment_for_user,
    get_plan_for_user,
    plans_visible_to,
    sees_no_money,
)
from salesflow.billing.presenters import instalment_out, invoice_out, payment_out, plan_out
from salesflow.billing.schemas import (
    AgeingOut,
    AgeingQuery,
    AllocationsIn,
    BillingPlanIn,
    BillingPlanOut,
    BillingReasonIn,
    InstalmentIn,
    InstalmentOut,
    InstalmentPatch,
    InvoiceIn,
    InvoiceOut,
    InvoicePage,
    InvoicePatch,
    InvoiceQuery,
    IssueIn,
    PaymentIn,
    PaymentOut,
    PaymentPage,
    PaymentQuery,
    ReminderSettingsIn,
    ReminderSettingsOut,
)
from salesflow.billing.selectors import AgeingFilters, ageing_report, invoice_list, payment_list
from salesflow.billing.services import (
    AllocationInput,
    InstalmentInput,
    allocation_remove,
    instalment_add,
    instalment_update,
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
from salesflow.core.errors import Forbidden
from salesflow.core.keyset import api_page
from salesflow.core.money import format_amount
from salesflow.users.models import User

router = Router(tags=["billing"])


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _today() -> Any:
    return timezone.localdate()


def _plan(request: HttpRequest, plan_id: int) -> dict[str, Any]:
    user = _user(request)
    plan = (
        plans_visible_to(user)
        .select_related("contract", "order")
        .prefetch_related("instalments")
        .get(pk=get_plan_for_user(user, plan_id).pk)
    )
    return plan_out(plan, user, _today())


# --- plans -------------------------------------------------------------------------------------


@router.get("/plans", response=list[BillingPlanOut], summary="Payment plans (by document or customer)")
def list_plans(
    request: HttpRequest, kind: str = "", document_id: int = 0, account_id: int = 0, limit: int = 25
) -> list[dict[str, Any]]:
    user = _user(request)
    qs = plans_visible_to(user).select_related("contract", "order").prefetch_related("instalments")
    if kind in ("contract", "order") and 0 < document_id < 2**63:
        qs = qs.filter(**{f"{kind}_id": document_id})
    if 0 < account_id < 2**63:
        qs = qs.filter(account_id=account_id)
    return [plan_out(p, user, _today()) for p in qs.order_by("-created_at", "-id")[: max(1, min(limit, 100))]]


@router.post("/plans", response={201: BillingPlanOut}, summary="Make a payment plan from terms or instalments")
def create_plan(request: HttpRequest, payload: BillingPlanIn) -> tuple[int, dict[str, Any]]:
    rows = (
        [InstalmentInput(amount=r.amount, due_date=r.due_date, label=r.label) for r in payload.instalments]
        if payload.instalments is not None
        else None
    )
    plan = plan_create(
        actor=_user(request),
        kind=payload.kind,
        document_id=payload.document_id,
        terms=payload.terms,
        start=payload.start,
        instalments=rows,
    )
    return 201, _plan(request, plan.pk)


@router.get("/plans/{int:plan_id}", response=BillingPlanOut, summary="A payment plan with its instalments")
def get_plan(request: HttpRequest, plan_id: int) -> dict[str, Any]:
    return _plan(request, plan_id)


@router.post("/plans/{int:plan_id}/instalments", response={201: InstalmentOut}, summary="Add an instalment")
def add_instalment(request: HttpRequest, plan_id: int, payload: InstalmentIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    plan = get_plan_for_user(user, plan_id)
    inst = instalment_add(actor=user, plan=plan, amount=payload.amount, due_date=payload.due_date, label=payload.label)
    return 201, instalment_out(inst, user, _today())


@router.patch("/instalments/{int:instalment_id}", response=InstalmentOut, summary="Change an instalment")
def patch_instalment(request: HttpRequest, instalment_id: int, payload: InstalmentPatch) -> dict[str, Any]:
    user = _user(request)
    inst = get_instalment_for_user(user, instalment_id)
    changes = {k: v for k, v in payload.model_dump(exclude_unset=True).items()}
    for key in [k for k, v in changes.items() if v is None]:
        changes.pop(key)  # nothing here is nullable: null means "keep"
    inst = instalment_update(actor=user, instalment=inst, **changes)
    return instalment_out(inst, user, _today())


@router.post("/instalments/{int:instalment_id}/void", response=InstalmentOut, summary="Void an instalment")
def void_instalment(request: HttpRequest, instalment_id: int, payload: BillingReasonIn) -> dict[str, Any]:
    user = _user(request)
    inst = instalment_void(actor=user, instalment=get_instalment_for_user(user, instalment_id), reason=payload.reason)
    return instalment_out(inst, user, _today())


# --- payments ----------------------------------------------------------------------------------


def _payment(request: HttpRequest, payment: Payment) -> dict[str, Any]:
    return payment_out(payment, _user(request))


@router.get("/payments", response=PaymentPage, summary="Payments received (newest first)")
def list_payments(request: HttpRequest, filters: Query[PaymentQuery]) -> dict[str, Any]:
    user = _user(request)
    qs = payment_list(
        user,
        account_id=filters.account_id,
        owner_id=filters.owner_id,
        status=filters.status,
        method=filters.method,
        unallocated=filters.unallocated,
    ).prefetch_related("allocations")
    page = api_page(qs, cursor=filters.cursor, limit=filters.limit, offset=filters.offset)
    page["items"] = [payment_out(p, user) for p in page["items"]]
    return page


@router.post("/payments", response={201: PaymentOut}, summary="Record a payment (and allocate it)")
def create_payment(request: HttpRequest, payload: PaymentIn) -> tuple[int, dict[str, Any]]:
    payment = payment_record(
        actor=_user(request),
        amount=payload.amount,
        received_on=payload.received_on,
        kind=payload.kind,
        document_id=payload.document_id,
        account_id=payload.account_id,
        owner_id=payload.owner_id,
        currency=payload.currency,
        method=payload.method,
        reference=payload.reference,
        payer=payload.payer,
        note=payload.note,
        allocate=payload.allocate,
        allocations=[AllocationInput(a.instalment_id, a.amount) for a in payload.allocations],
    )
    return 201, _payment(request, payment)


@router.get("/payments/{int:payment_id}", response=PaymentOut, summary="A payment with its allocations")
def get_payment(request: HttpRequest, payment_id: int) -> dict[str, Any]:
    return _payment(request, get_payment_for_user(_user(request), payment_id))


@router.post("/payments/{int:payment_id}/allocations", response=PaymentOut, summary="Allocate to instalments")
def allocate(request: HttpRequest, payment_id: int, payload: AllocationsIn) -> dict[str, Any]:
    user = _user(request)
    payment = payment_allocate(
        actor=user,
        payment=get_payment_for_user(user, payment_id),
        allocations=[AllocationInput(a.instalment_id, a.amount) for a in payload.allocations],
    )
    return _payment(request, payment)


@router.post("/payments/{int:payment_id}/auto-allocate", response=PaymentOut, summary="Allocate oldest due first")
def auto_allocate(request: HttpRequest, payment_id: int) -> dict[str, Any]:
    user = _user(request)
    return _payment(request, payment_auto_allocate(actor=user, payment=get_payment_for_user(user, payment_id)))


@router.delete(
    "/payments/{int:payment_id}/allocations/{int:instalment_id}", response=PaymentOut, summary="Remove an allocation"
)
def remove_allocation(request: HttpRequest, payment_id: int, instalment_id: int) -> dict[str, Any]:
    user = _user(request)
    payment = get_payment_for_user(user, payment_id)
    return _payment(request, allocation_remove(actor=user, payment=payment, instalment_id=instalment_id))


@router.post("/payments/{int:payment_id}/void", response=PaymentOut, summary="Void a payment recorded in error")
def void_payment(request: HttpRequest, payment_id: int, payload: BillingReasonIn) -> dict[str, Any]:
    user = _user(request)
    payment = payment_void(actor=user, payment=get_payment_for_user(user, payment_id), reason=payload.reason)
    return _payment(request, payment)


# --- invoices ----------------------------------------------------------------------------------


@router.get("/invoices", response=InvoicePage, summary="Invoices (newest first)")
def list_invoices(request: HttpRequest, filters: Query[InvoiceQuery]) -> dict[str, Any]:
    user = _user(request)
    qs = invoice_list(
        user,
        account_id=filters.account_id,
        status=filters.status,
        invoice_type=filters.invoice_type,
        owner_id=filters.owner_id,
    ).prefetch_related("payments")
    page = api_page(qs, cursor=filters.cursor, limit=filters.limit, offset=filters.offset)
    page["items"] = [invoice_out(i, user) for i in page["items"]]
    return page


@router.post("/invoices", response={201: InvoiceOut}, summary="Create a draft invoice")
def create_invoice(request: HttpRequest, payload: InvoiceIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    invoice = invoice_create(actor=user, **payload.model_dump())
    return 201, invoice_out(invoice, user)


@router.get("/invoices/{int:invoice_id}", response=InvoiceOut, summary="An invoice")
def get_invoice(request: HttpRequest, invoice_id: int) -> dict[str, Any]:
    user = _user(request)
    return invoice_out(get_invoice_for_user(user, invoice_id), user)


@router.patch("/invoices/{int:invoice_id}", response=InvoiceOut, summary="Change a draft invoice (issued: 409)")
def patch_invoice(request: HttpRequest, invoice_id: int, payload: InvoicePatch) -> dict[str, Any]:
    user = _user(request)
    invoice = get_invoice_for_user(user, invoice_id)
    changes = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    return invoice_out(invoice_update(actor=user, invoice=invoice, **changes), user)


@router.post("/invoices/{int:invoice_id}/issue", response=InvoiceOut, summary="Issue (number FP-YYYY-NNNNN)")
def issue_invoice(request: HttpRequest, invoice_id: int, payload: IssueIn) -> dict[str, Any]:
    user = _user(request)
    invoice = invoice_issue(actor=user, invoice=get_invoice_for_user(user, invoice_id), issued_on=payload.issued_on)
    return invoice_out(invoice, user)


@router.post("/invoices/{int:invoice_id}/void", response=InvoiceOut, summary="Void an invoice")
def void_invoice(request: HttpRequest, invoice_id: int, payload: BillingReasonIn) -> dict[str, Any]:
    user = _user(request)
    invoice = invoice_void(actor=user, invoice=get_invoice_for_user(user, invoice_id), reason=payload.reason)
    return invoice_out(invoice, user)


@router.post(
    "/invoices/{int:invoice_id}/red-reverse", response={201: InvoiceOut}, summary="Reverse (红冲): the red invoice"
)
def red_reverse(request: HttpRequest, invoice_id: int, payload: BillingReasonIn) -> tuple[int, dict[str, Any]]:
    user = _user(request)
    red = invoice_red_reverse(actor=user, invoice=get_invoice_for_user(user, invoice_id), reason=payload.reason)
    return 201, invoice_out(red, user)


# --- ageing ------------------------------------------------------------------------------------


def _row_out(row: Any, currency: str) -> dict[str, Any]:
    b = row.buckets if hasattr(row, "buckets") else row
    return {
        "key": getattr(row, "key", None),
        "label": getattr(row, "label", ""),
        "current": format_amount(b["current"], currency),
        "d1_30": format_amount(b["1_30"], currency),
        "d31_60": format_amount(b["31_60"], currency),
        "d61_90": format_amount(b["61_90"], currency),
        "d90_plus": format_amount(b["90_plus"], currency),
        "total": format_amount(sum(b.values()), currency),
        "unconverted": getattr(row, "unconverted", {}),
    }


@router.get("/ageing", response=AgeingOut, summary="Receivables ageing in the company currency")
def ageing(request: HttpRequest, filters: Query[AgeingQuery]) -> dict[str, Any]:
    user = _user(request)
    if sees_no_money(user):
        raise Forbidden(_("You may not see amounts."))
    report = ageing_report(
        user,
        group=filters.group,
        today=filters.as_of or _today(),
        filters=AgeingFilters(
            team_id=filters.team_id,
            owner_id=filters.owner_id,
            account_id=filters.account_id,
            currency=filters.currency.upper(),
        ),
    )
    totals = _row_out(report.totals, report.currency)
    totals["label"] = _("Total")
    return {
        "group": report.group,
        "as_of": report.as_of,
        "currency": report.currency,
        "rows": [_row_out(r, report.currency) for r in report.rows],
        "totals": totals,
        "rates": {code: f"{rate.rate:f}" for code, rate in report.rates.items()},
        "unconverted": report.unconverted,
    }


# --- reminder settings (administrators) ----------------------------------------------------------


def _settings_out(value: Any) -> dict[str, Any]:
    return {
        "payment_days_before": value.payment_days_before,
        "payment_days_after": value.payment_days_after,
        "renewal_reminder_days": value.renewal_reminder_days,
    }


@router.get(
    "/reminder-settings",
    response=ReminderSettingsOut,
    summary="Payment reminder days and contract renewal reminder days (administrators)",
)
def get_reminder_settings(request: HttpRequest) -> dict[str, Any]:
    if not _user(request).is_admin:
        raise Forbidden(_("Only administrators change the reminder settings."))
    return _settings_out(reminder_settings())


@router.put(
    "/reminder-settings",
    response=ReminderSettingsOut,
    summary="Change the reminder days (administrators; fields left out keep their values)",
)
def put_reminder_settings(request: HttpRequest, payload: ReminderSettingsIn) -> dict[str, Any]:
    sent = payload.model_fields_set
    saved = reminder_settings_save(
        actor=_user(request),
        payment_days_before=payload.payment_days_before if "payment_days_before" in sent else None,
        payment_days_after=payload.payment_days_after if "payment_days_after" in sent else None,
        renewal_reminder_days=payload.renewal_reminder_days if "renewal_reminder_days" in sent else None,
    )
    return _settings_out(saved)
