"""Dicts for the API and the exports, with the money policy applied once per record:
amounts are ``None`` when ``may_see_money`` says no (the keys are always there)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from salesflow.billing.models import Instalment, Invoice, Payment, PaymentPlan
from salesflow.billing.permissions import may_see_money
from salesflow.billing.status import status_of
from salesflow.core.money import format_amount
from salesflow.users.models import User


def money(value: Decimal, currency: str, show: bool) -> str | None:
    return format_amount(value, currency) if show else None


def instalment_out(inst: Instalment, user: User, today: dt.date, show: bool | None = None) -> dict[str, Any]:
    show = may_see_money(user, inst) if show is None else show
    return {
        "id": inst.pk,
        "plan_id": inst.plan_id,
        "position": inst.position,
        "label": inst.label,
        "due_date": inst.due_date,
        "status": status_of(inst, today),
        "currency": inst.currency,
        "amount": money(inst.amount, inst.currency, show),
        "paid": money(inst.paid, inst.currency, show),
        "outstanding": money(inst.outstanding, inst.currency, show),
        "void_reason": inst.void_reason,
    }


def plan_out(plan: PaymentPlan, user: User, today: dt.date) -> dict[str, Any]:
    show = may_see_money(user, plan)
    insts = list(plan.instalments.all())
    planned = sum((i.amount for i in insts if i.voided_at is None), Decimal("0.00"))
    return {
        "id": plan.pk,
        "kind": plan.kind,
        "document_id": plan.document.pk,
        "document_number": plan.document.number,
        "account_id": plan.account_id,
        "owner_id": plan.owner_id,
        "currency": plan.currency,
        "terms": plan.terms,
        "document_total": money(plan.document.total, plan.currency, show),
        "planned": money(planned, plan.currency, show),
        "instalments": [instalment_out(i, user, today, show) for i in insts],
    }


def payment_out(payment: Payment, user: User, allocations: list[Any] | None = None) -> dict[str, Any]:
    show = may_see_money(user, payment)
    rows = allocations if allocations is not None else list(payment.allocations.all())
    return {
        "id": payment.pk,
        "number": payment.number,
        "account_id": payment.account_id,
        "owner_id": payment.owner_id,
        "contract_id": payment.contract_id,
        "order_id": payment.order_id,
        "currency": payment.currency,
        "amount": money(payment.amount, payment.currency, show),
        "allocated": money(payment.allocated, payment.currency, show),
        "unallocated": money(payment.unallocated, payment.currency, show),
        "overpaid": payment.unallocated > 0 if show else None,
        "received_on": payment.received_on,
        "method": payment.method,
        "reference": payment.reference,
        "payer": payment.payer,
        "note": payment.note,
        "status": payment.status,
        "allocations": [
            {"instalment_id": a.instalment_id, "amount": money(a.amount, payment.currency, show)} for a in rows
        ],
        "created_at": payment.created_at,
    }


def invoice_out(invoice: Invoice, user: User) -> dict[str, Any]:
    show = may_see_money(user, invoice)
    return {
        "id": invoice.pk,
        "number": invoice.number,
        "invoice_type": invoice.invoice_type,
        "status": invoice.status,
        "account_id": invoice.account_id,
        "owner_id": invoice.owner_id,
        "contract_id": invoice.contract_id,
        "order_id": invoice.order_id,
        "currency": invoice.currency,
        "title": invoice.title,
        "buyer_tax_id": invoice.buyer_tax_id,
        "tax_rate": f"{invoice.tax_rate:f}" if show else None,
        "net": money(invoice.net, invoice.currency, show),
        "tax": money(invoice.tax, invoice.currency, show),
        "total": money(invoice.total, invoice.currency, show),
        "issued_on": invoice.issued_on,
        "reverses_id": invoice.reverses_id,
        "payment_ids": sorted(p.pk for p in invoice.payments.all()),
        "note": invoice.note,
        "void_reason": invoice.void_reason,
    }
