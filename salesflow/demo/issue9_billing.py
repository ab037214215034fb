"""Demo payment collection (回款, issue 9): a year of payment plans, payments and invoices for
the signed demo contracts and the orders, through the billing services — some paid, some
partly paid, overdue amounts in every ageing bucket, a couple of overpayments, issued,
draft and red-reversed invoices.

Without signed contracts or orders (the contracts and orders demos come from other
modules), a few signed contracts are written for won demo deals first, so the ageing
report and the account page always have data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from salesflow.billing.models import Instalment, PaymentPlan
from salesflow.billing.services import (
    invoice_create,
    invoice_issue,
    invoice_red_reverse,
    payment_record,
    plan_create,
)
from salesflow.contracts.models import Contract, ContractStatus
from salesflow.core.errors import ServiceError
from salesflow.core.numbering import format_document_number, next_document_number
from salesflow.orders.models import Order, OrderStatus
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Opportunity
from salesflow.users.choices import Role
from salesflow.users.models import User

TERMS = ("30/60/10", "net 30", "6 monthly", "50/50 @ 0/90", "30/60/10 @ 0/60/365", "40/40/20 @ 0/45/120")
#: Days before today each plan starts: spread over the year so every ageing bucket fills.
START_DAYS = (400, 330, 260, 200, 160, 130, 110, 95, 75, 60, 45, 30, 20, 10, 3)
#: How each plan is paid (cycled): all that is due, nothing, first + half the next, all due
#: plus an overpayment, all but the last due, the first only.
MODES = ("all_due", "none", "partial", "overpay", "all_but_last", "first")
MAX_DOCUMENTS = 60


def _fallback_contracts(users: dict[str, User], today: dt.date) -> None:
    """Signed contracts for up to 30 won deals when the database has none (see the module)."""
    deals = Opportunity.objects.filter(outcome=Outcome.WON).select_related("account").order_by("-amount", "pk")[:30]
    for deal in deals:
        if deal.amount is None or deal.amount <= 0:
            continue
        year = today.year
        from django.db import transaction

        with transaction.atomic():
            Contract.objects.create(
                number=format_document_number("HT", year, next_document_number("contract", year)),
                title=f"{deal.name} 合同"[:200],
                account=deal.account,
                owner=deal.owner,
                opportunity=deal,
                currency=deal.currency,
                status=ContractStatus.SIGNED,
                total=deal.amount,
                payment_terms="",
                signed_on=today - dt.timedelta(days=30),
            )


def _pay(actor: User, plan: PaymentPlan, mode: str, today: dt.date, index: int) -> int:
    insts = list(Instalment.objects.filter(plan=plan).order_by("due_date", "position"))
    due = [i for i in insts if i.due_date <= today]
    if not due or mode == "none":
        return 0
    if mode == "first":
        targets = [(due[0], due[0].amount)]
    elif mode == "partial":
        targets = [(due[0], due[0].amount)] + (
            [(due[1], (due[1].amount / 2).quantize(Decimal("0.01")))] if len(due) > 1 else []
        )
    elif mode == "all_but_last":
        targets = [(i, i.amount) for i in due[:-1]] or [(due[0], (due[0].amount / 3).quantize(Decimal("0.01")))]
    elif mode == "overpay":  # the whole plan at once and more: the rest stays unallocated
        targets = [(i, i.amount) for i in insts]
    else:
        targets = [(i, i.amount) for i in due]
    made = 0
    for n, (inst, amount) in enumerate(targets):
        if amount <= 0:
            continue
        extra = Decimal("5000.00") if mode == "overpay" and n == len(targets) - 1 else Decimal("0")
        received = min(inst.due_date + dt.timedelta(days=(index + n) % 12), today)
        payment_record(
            actor=actor,
            kind=plan.kind,
            document_id=plan.document.pk,
            amount=amount + extra,
            received_on=received,
            method=("bank_transfer", "acceptance_bill", "online")[(index + n) % 3],
            reference=f"BANK-{today.year}-{index:03d}{n}",
            payer=plan.account.name[:200],
        )
        made += 1
    return made


def write_billing(users: dict[str, User], today: dt.date) -> dict[str, int]:
    """Plans, payments and invoices for the signed contracts and the orders (through the
    services, as the demo administrator); returns the counts. Documents with a plan
    already are skipped, so a second run adds nothing."""
    actor = next((u for u in users.values() if u.is_active and u.role == Role.ADMIN), None)
    if actor is None:
        return {}
    if not Contract.objects.filter(status=ContractStatus.SIGNED).exists() and not Order.objects.exists():
        _fallback_contracts(users, today)
    documents: list[tuple[str, Contract | Order]] = [
        ("contract", c)
        for c in Contract.objects.filter(status=ContractStatus.SIGNED, payment_plan__isnull=True, total__gt=0)
        .select_related("account")
        .order_by("pk")[:MAX_DOCUMENTS]
    ]
    documents += [
        ("order", o)
        for o in Order.objects.exclude(status__in=[OrderStatus.CANCELLED, OrderStatus.DRAFT])
        .filter(payment_plan__isnull=True, total__gt=0)
        .select_related("account")
        .order_by("pk")[: max(0, MAX_DOCUMENTS - len(documents))]
    ]
    counts = {"plans": 0, "payments": 0, "invoices": 0}
    for index, (kind, doc) in enumerate(documents):
        start = today - dt.timedelta(days=START_DAYS[index % len(START_DAYS)])
        try:
            plan = plan_create(actor=actor, kind=kind, document_id=doc.pk, terms=TERMS[index % len(TERMS)], start=start)
        except ServiceError:
            continue
        counts["plans"] += 1
        counts["payments"] += _pay(actor, plan, MODES[index % len(MODES)], today, index)
        if index % 3 == 0:
            first = Instalment.objects.filter(plan=plan).order_by("due_date").first()
            if first is None or first.amount <= 0:
                continue
            invoice = invoice_create(
                actor=actor,
                kind=kind,
                document_id=doc.pk,
                amount=first.amount,
                tax_rate="13" if index % 2 == 0 else "6",
                invoice_type="vat_special" if index % 2 == 0 else "vat_normal",
            )
            counts["invoices"] += 1
            if index % 9 != 6:  # one in three stays a draft
                invoice_issue(actor=actor, invoice=invoice, issued_on=min(first.due_date, today))
            if index % 18 == 9:
                invoice_red_reverse(actor=actor, invoice=invoice, reason="发票抬头有误，红冲后重开")
                counts["invoices"] += 1
    return counts


def delete_billing(account_ids: list[int]) -> int:
    """Remove the billing rows of the demo accounts (they PROTECT the accounts) and the
    fallback contracts written here (no version; the contracts demo's have one). Returns
    how many rows went."""
    from salesflow.billing.models import Allocation, Invoice, Payment

    n = 0
    for batch in (account_ids[i : i + 500] for i in range(0, len(account_ids), 500)):
        n += Allocation.objects.filter(payment__account_id__in=batch).delete()[0]
        n += Invoice.objects.filter(account_id__in=batch, reverses__isnull=False).delete()[0]  # red ones first
        n += Invoice.objects.filter(account_id__in=batch).delete()[0]
        n += Payment.objects.filter(account_id__in=batch).delete()[0]
        n += PaymentPlan.objects.filter(account_id__in=batch).delete()[0]  # instalments cascade
        n += Contract.objects.filter(
            account_id__in=batch, current_version__isnull=True, orders__isnull=True, payment_plan__isnull=True
        ).delete()[0]
    return n
