"""Writes of payment collection (回款) and invoices (发票). Every function takes ``actor``,
checks it may do the action (404 for records it cannot see, 403 for read-only ones),
validates everything before writing, owns its transaction and audits one event.

Guarantees (each under row locks, so concurrent requests cannot break them):

- **A plan never exceeds its document's total**: every change of a plan's instalments
  (:func:`plan_create`, :func:`instalment_add`, :func:`instalment_update`) locks the plan
  row (and reads the document's total under the document's row lock) before summing the
  live instalments; more than the total is a 400 on ``amount``.
- **Allocations** never exceed the payment (Σ allocations ≤ amount) nor over-fill an
  instalment (``paid ≤ amount``): the payment row is locked first, then the instalments in
  id order. ``Payment.allocated`` and ``Instalment.paid`` / ``is_open`` are updated in the
  same transaction. What a payment does not cover stays unallocated (an overpayment).
- **Issued invoices are immutable**: :func:`invoice_update` answers 409; only
  :func:`invoice_void` and :func:`invoice_red_reverse` change their status.
- :func:`reminders_run` is idempotent: one ``InstalmentReminder`` row per instalment, rule
  day and due date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypedDict, Unpack

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from salesflow.billing.choices import InvoiceStatus, InvoiceType, PaymentMethod, PaymentStatus
from salesflow.billing.models import (
    LABEL_LENGTH,
    MAX_INSTALMENTS,
    MAX_REMINDER_DAYS,
    NOTE_LENGTH,
    TERMS_LENGTH,
    TEXT_LENGTH,
    ZERO,
    Allocation,
    Instalment,
    InstalmentReminder,
    Invoice,
    Payment,
    PaymentPlan,
    ReminderRule,
)
from salesflow.billing.permissions import (
    get_document_for_user,
    get_instalment_for_user,
    get_payment_for_user,
    instalments_visible_to,
    payments_visible_to,
)
from salesflow.billing.terms import TermsError, derive_instalments
from salesflow.contracts.models import Contract, ContractStatus
from salesflow.contracts.services import (
    RENEWAL_DAYS_MAX,
    contract_settings_save,
    parse_days,
    renewal_reminder_days,
)
from salesflow.core.audit import in_every_language, record_event
from salesflow.core.doctotals import LineInput, TotalTooLarge, line_totals
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.money import AmountError, company_currency, minor_units, parse_amount
from salesflow.core.numbering import format_document_number, next_document_number
from salesflow.core.quantities import parse_percent
from salesflow.orders.models import Order, OrderStatus
from salesflow.parties.models import Account
from salesflow.parties.permissions import get_account_for_user
from salesflow.sales.models import Opportunity
from salesflow.users.models import User
from salesflow.users.permissions import writable_owner_ids

Document = Contract | Order

#: Dates accepted anywhere (due dates, received and issued dates).
MIN_DATE = dt.date(2000, 1, 1)
MAX_DATE = dt.date(2099, 12, 31)


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(_("The input is not valid."), field_errors={field: [message]})


def _text(value: object, field: str, *, max_length: int, required: bool = False, multiline: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _invalid(field, _("Enter text."))
    text = value.strip()
    bad = [c for c in text if (ord(c) < 32 and not (multiline and c in "\n\r\t")) or 0x7F <= ord(c) <= 0x9F]
    if bad or any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        raise _invalid(field, _("Control characters are not allowed."))
    if len(text) > max_length:
        raise _invalid(field, _("At most %(n)s characters.") % {"n": max_length})
    if required and not text:
        raise _invalid(field, _("This field is required."))
    return text


def _amount(value: object, currency: str, field: str = "amount", *, positive: bool = True) -> Decimal:
    try:
        amount = parse_amount(value, currency)
    except AmountError as exc:
        raise _invalid(field, str(exc.message)) from exc
    if positive and amount <= 0:
        raise _invalid(field, _("Enter an amount greater than zero."))
    return amount


def _date(value: object, field: str) -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip()[:10]) if len(value.strip()) == 10 else None
        except ValueError:
            value = None
    if not isinstance(value, dt.date) or not MIN_DATE <= value <= MAX_DATE:
        raise _invalid(field, _("Enter a date between 2000-01-01 and 2099-12-31."))
    return value


def _id(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise _invalid(field, _("Unknown record."))
    return value


def _may_write_owner(actor: User, owner_id: int) -> bool:
    ids = writable_owner_ids(actor)
    return ids is None or owner_id in ids


def _lock_document(doc: Document) -> Document:
    model: type[Contract] | type[Order] = type(doc)
    locked: Document = model.objects.select_for_update().get(pk=doc.pk)
    return locked


def _document_start(doc: Document) -> dt.date:
    if isinstance(doc, Contract):
        return doc.signed_on or doc.start_date or timezone.localdate()
    return timezone.localdate(doc.confirmed_at) if doc.confirmed_at else timezone.localdate()


def _check_document_open(doc: Document) -> None:
    if isinstance(doc, Contract) and doc.status in (
        ContractStatus.DRAFT,
        ContractStatus.PENDING_APPROVAL,
        ContractStatus.TERMINATED,
    ):
        raise Conflict(_("Only approved or signed contracts get a payment plan."), code="document_not_open")
    if isinstance(doc, Order) and doc.status == OrderStatus.CANCELLED:
        raise Conflict(_("A cancelled order gets no payment plan."), code="document_not_open")


def _live_sum(plan: PaymentPlan, *, exclude: int | None = None) -> Decimal:
    qs = Instalment.objects.filter(plan=plan, voided_at__isnull=True)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return qs.aggregate(s=Sum("amount"))["s"] or ZERO


def _over_total(total: Decimal, currency: str) -> ValidationFailed:
    return _invalid(
        "amount",
        _("The plan would exceed the document total of %(total)s %(currency)s.")
        % {"total": f"{total:,.{minor_units(currency)}f}", "currency": currency},
    )


# --- plans -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstalmentInput:
    amount: object
    due_date: object
    label: object = ""


def _clean_instalments(rows: Sequence[InstalmentInput], currency: str) -> list[tuple[str, Decimal, dt.date]]:
    if len(rows) > MAX_INSTALMENTS:
        raise _invalid("instalments", _("At most %(n)s instalments.") % {"n": MAX_INSTALMENTS})
    errors: dict[str, list[str]] = {}
    cleaned: list[tuple[str, Decimal, dt.date]] = []
    for i, row in enumerate(rows):
        try:
            amount = _amount(row.amount, currency, positive=False)
            due = _date(row.due_date, "due_date")
            label = _text(row.label, "label", max_length=LABEL_LENGTH)
        except ValidationFailed as exc:
            for key, msgs in exc.field_errors.items():
                errors[f"instalments.{i}.{key}"] = msgs
            continue
        cleaned.append((label, amount, due))
    if errors:
        raise ValidationFailed(_("The input is not valid."), field_errors=errors)
    return cleaned


def plan_create(
    *,
    actor: User,
    kind: str,
    document_id: int,
    terms: str | None = None,
    start: dt.date | str | None = None,
    instalments: Sequence[InstalmentInput] | None = None,
) -> PaymentPlan:
    """Make the payment plan of a contract or order: from ``instalments`` when given, else
    derived from ``terms`` (default: the contract's payment terms) from ``start`` (default:
    signing date, start date or confirmation date, else today; see ``billing.terms``).

    Raises 404/403 for a document the actor cannot see/change, 409 ``document_not_open``
    (draft or terminated contract, cancelled order) or ``plan_exists``, 400 on ``terms``
    (unreadable), ``instalments.N.*`` and ``amount`` (over the total).
    """
    kind = str(kind)
    doc = get_document_for_user(actor, kind, _id(document_id, "document_id"), write=True)
    terms_text = _text(
        terms if terms is not None else getattr(doc, "payment_terms", "")[:TERMS_LENGTH],
        "terms",
        max_length=TERMS_LENGTH,
    )
    with transaction.atomic():
        doc = _lock_document(doc)
        _check_document_open(doc)
        if PaymentPlan.objects.filter(**{kind: doc}).exists():
            raise Conflict(_("This document already has a payment plan."), code="plan_exists")
        currency = doc.currency
        start_day = _date(start, "start") if start not in (None, "") else _document_start(doc)
        if instalments is not None:
            rows = _clean_instalments(instalments, currency)
        else:
            try:
                planned = derive_instalments(terms_text, doc.total, currency, start_day)
            except TermsError as exc:
                raise _invalid("terms", str(exc.message)) from exc
            rows = [(p.label, p.amount, p.due_date) for p in planned]
        if sum((r[1] for r in rows), ZERO) > doc.total:
            raise _over_total(doc.total, currency)
        try:
            with transaction.atomic():
                plan = PaymentPlan.objects.create(
                    **{kind: doc},
                    account_id=doc.account_id,
                    owner_id=doc.owner_id,
                    opportunity_id=doc.opportunity_id,
                    currency=currency,
                    terms=terms_text,
                    created_by=actor if actor.pk else None,
                )
        except IntegrityError:
            raise Conflict(_("This document already has a payment plan."), code="plan_exists") from None
        Instalment.objects.bulk_create(
            [
                Instalment(
                    plan=plan,
                    account_id=doc.account_id,
                    owner_id=doc.owner_id,
                    currency=currency,
                    position=i + 1,
                    label=label,
                    amount=amount,
                    due_date=due,
                    is_open=amount > 0,
                )
                for i, (label, amount, due) in enumerate(rows)
            ]
        )
        record_event(
            actor=actor,
            verb="billing.plan.created",
            target=plan,
            data={
                "kind": kind,
                "document_id": doc.pk,
                "terms": terms_text,
                "instalments": len(rows),
                "total": sum((r[1] for r in rows), ZERO),
                "summary": in_every_language(
                    lambda: (
                        _("Payment plan of %(number)s with %(n)s instalments") % {"number": doc.number, "n": len(rows)}
                    )
                ),
            },
            related=[doc, doc.account],
        )
    return plan


def _lock_plan(plan_id: int) -> tuple[PaymentPlan, Document]:
    plan = PaymentPlan.objects.select_for_update().get(pk=plan_id)
    doc_model: type[Contract] | type[Order] = Contract if plan.contract_id else Order
    doc_pk = plan.contract_id if plan.contract_id is not None else plan.order_id
    assert doc_pk is not None
    doc = doc_model.objects.select_for_update().get(pk=doc_pk)
    return plan, doc


def _check_plan_writable(actor: User, plan: PaymentPlan) -> None:
    from salesflow.billing.permissions import get_plan_for_user

    get_plan_for_user(actor, plan.pk, write=True)


def instalment_add(
    *, actor: User, plan: PaymentPlan, amount: object, due_date: object, label: object = ""
) -> Instalment:
    """Add an instalment; 400 on ``amount`` when the plan would exceed the document total
    (checked under the plan's row lock), on ``due_date`` and ``label`` for bad input."""
    _check_plan_writable(actor, plan)
    with transaction.atomic():
        plan, doc = _lock_plan(plan.pk)
        _refuse_terminated(doc)
        value = _amount(amount, plan.currency)
        due = _date(due_date, "due_date")
        text = _text(label, "label", max_length=LABEL_LENGTH)
        if _live_sum(plan) + value > doc.total:
            raise _over_total(doc.total, plan.currency)
        count = Instalment.objects.filter(plan=plan).count()
        if count >= MAX_INSTALMENTS:
            raise _invalid("amount", _("At most %(n)s instalments.") % {"n": MAX_INSTALMENTS})
        inst = Instalment.objects.create(
            plan=plan,
            account_id=plan.account_id,
            owner_id=plan.owner_id,
            currency=plan.currency,
            position=count + 1,
            label=text,
            amount=value,
            due_date=due,
            is_open=True,
        )
        record_event(
            actor=actor,
            verb="billing.instalment.added",
            target=inst,
            data={"plan_id": plan.pk, "amount": value, "due_date": due, "label": text},
            related=[plan, doc],
        )
    return inst


class InstalmentChanges(TypedDict, total=False):
    amount: object
    due_date: object
    label: object


INSTALMENT_FIELDS = frozenset(InstalmentChanges.__annotations__)


def instalment_update(*, actor: User, instalment: Instalment, **changes: Unpack[InstalmentChanges]) -> Instalment:
    """Change an instalment's amount, due date or label (a key left out keeps its value).
    409 for a void instalment; 400 on ``amount`` below what is already paid or over the
    document total (under the plan's row lock)."""
    from salesflow.core.changes import refuse_unknown_fields

    refuse_unknown_fields(changes, INSTALMENT_FIELDS, _("The instalment could not be saved."))  # type: ignore[arg-type]
    get_instalment_for_user(actor, instalment.pk, write=True)
    with transaction.atomic():
        plan, doc = _lock_plan(instalment.plan_id)
        _refuse_terminated(doc)
        inst = Instalment.objects.select_for_update().get(pk=instalment.pk)
        if inst.voided_at is not None:
            raise Conflict(_("A void instalment cannot be changed."), code="instalment_void")
        new: dict[str, Any] = {}
        if "amount" in changes:
            new["amount"] = _amount(changes["amount"], plan.currency, positive=False)
            if new["amount"] < inst.paid:
                raise _invalid("amount", _("The amount cannot be less than what is already paid."))
            if _live_sum(plan, exclude=inst.pk) + new["amount"] > doc.total:
                raise _over_total(doc.total, plan.currency)
        if "due_date" in changes:
            new["due_date"] = _date(changes["due_date"], "due_date")
        if "label" in changes:
            new["label"] = _text(changes["label"], "label", max_length=LABEL_LENGTH)
        diff = {k: [getattr(inst, k), v] for k, v in new.items() if getattr(inst, k) != v}
        if not diff:
            return inst
        for key, value in new.items():
            setattr(inst, key, value)
        inst.is_open = inst.paid < inst.amount
        inst.save(update_fields=[*new, "is_open", "updated_at"])
        record_event(
            actor=actor,
            verb="billing.instalment.updated",
            target=inst,
            data={"plan_id": plan.pk, "changes": diff},
            related=[plan, doc],
        )
    return inst


def instalment_void(*, actor: User, instalment: Instalment, reason: object) -> Instalment:
    """Void an instalment with a required ``reason``: it leaves the plan's sum, reminders and
    the ageing report. 409 when something is allocated to it (remove the allocations first)
    or it is void already."""
    get_instalment_for_user(actor, instalment.pk, write=True)
    text = _text(reason, "reason", max_length=TEXT_LENGTH, required=True)
    with transaction.atomic():
        plan, doc = _lock_plan(instalment.plan_id)
        inst = Instalment.objects.select_for_update().get(pk=instalment.pk)
        if inst.voided_at is not None:
            raise Conflict(_("This instalment is void already."), code="instalment_void")
        if inst.paid > 0:
            raise Conflict(_("Payments are allocated to this instalment: remove them first."), code="instalment_paid")
        inst.voided_at = timezone.now()
        inst.void_reason = text
        inst.voided_by = actor if actor.pk else None
        inst.is_open = False
        inst.save(update_fields=["voided_at", "void_reason", "voided_by", "is_open", "updated_at"])
        record_event(
            actor=actor,
            verb="billing.instalment.voided",
            target=inst,
            data={"plan_id": plan.pk, "reason": text},
            related=[plan, doc],
        )
    return inst


# --- payments and allocations ----------------------------------------------------------------------


@dataclass(frozen=True)
class AllocationInput:
    instalment_id: object
    amount: object


def _next_number(prefix: str, kind: str) -> str:
    year = timezone.localdate().year
    return format_document_number(prefix, year, next_document_number(kind, year))


def _apply(actor: User, payment: Payment, inst: Instalment, amount: Decimal) -> None:
    row = Allocation.objects.filter(payment=payment, instalment=inst).first()
    if row is None:
        Allocation.objects.create(
            payment=payment, instalment=inst, amount=amount, created_by=actor if actor.pk else None
        )
    else:
        row.amount += amount
        row.save(update_fields=["amount", "updated_at"])
    inst.paid += amount
    inst.is_open = inst.voided_at is None and inst.paid < inst.amount
    inst.save(update_fields=["paid", "is_open", "updated_at"])
    payment.allocated += amount


def _allocate_manual(actor: User, payment: Payment, rows: Sequence[AllocationInput]) -> list[dict[str, Any]]:
    """Inside the caller's transaction with ``payment`` locked."""
    if not rows:
        raise _invalid("allocations", _("Choose at least one instalment."))
    if len(rows) > MAX_INSTALMENTS:
        raise _invalid("allocations", _("At most %(n)s instalments.") % {"n": MAX_INSTALMENTS})
    wanted: dict[int, Decimal] = {}
    for i, row in enumerate(rows):
        try:
            inst_id = _id(row.instalment_id, "instalment_id")
            value = _amount(row.amount, payment.currency)
        except ValidationFailed as exc:
            raise ValidationFailed(
                exc.message, field_errors={f"allocations.{i}.{k}": v for k, v in exc.field_errors.items()}
            ) from None
        wanted[inst_id] = wanted.get(inst_id, ZERO) + value
    for inst_id in wanted:
        get_instalment_for_user(actor, inst_id, write=True)  # 404 unseen, 403 read-only
    locked = {i.pk: i for i in Instalment.objects.select_for_update().filter(pk__in=sorted(wanted)).order_by("pk")}
    if sum(wanted.values(), ZERO) > payment.amount - payment.allocated:
        raise _invalid("allocations", _("The allocations exceed what is left of the payment."))
    done: list[dict[str, Any]] = []
    for inst_id, value in wanted.items():
        inst = locked[inst_id]
        field = f"allocations.{list(wanted).index(inst_id)}.instalment_id"
        if inst.account_id != payment.account_id:
            raise _invalid(field, _("The instalment belongs to another customer."))
        if inst.currency != payment.currency:
            raise _invalid(field, _("The instalment is in another currency."))
        if inst.voided_at is not None:
            raise _invalid(field, _("The instalment is void."))
        if inst.paid + value > inst.amount:
            raise _invalid(
                field.replace("instalment_id", "amount"), _("This would pay more than the instalment's amount.")
            )
        _apply(actor, payment, inst, value)
        done.append({"instalment_id": inst.pk, "amount": str(value)})
    return done


def _allocate_auto(actor: User, payment: Payment) -> list[dict[str, Any]]:
    """Oldest due date first over the customer's open instalments the actor may write, in the
    payment's currency (only its document's plan when the payment names one). Inside the
    caller's transaction with ``payment`` locked."""
    left = payment.amount - payment.allocated
    if left <= 0:
        return []
    qs = instalments_visible_to(actor, write=True).filter(
        account_id=payment.account_id, currency=payment.currency, is_open=True, voided_at__isnull=True
    )
    if payment.contract_id:
        qs = qs.filter(plan__contract_id=payment.contract_id)
    elif payment.order_id:
        qs = qs.filter(plan__order_id=payment.order_id)
    ids = list(qs.order_by("due_date", "position", "pk").values_list("pk", flat=True)[:1000])
    locked = {i.pk: i for i in Instalment.objects.select_for_update().filter(pk__in=sorted(ids)).order_by("pk")}
    done: list[dict[str, Any]] = []
    for inst_id in ids:
        inst = locked.get(inst_id)
        if left <= 0:
            break
        if inst is None or not inst.is_open or inst.voided_at is not None:
            continue
        value = min(left, inst.amount - inst.paid)
        if value <= 0:
            continue
        _apply(actor, payment, inst, value)
        left -= value
        done.append({"instalment_id": inst.pk, "amount": str(value)})
    return done


def _audit_allocation(actor: User, payment: Payment, done: list[dict[str, Any]], *, auto: bool) -> None:
    if not done:
        return
    payment.save(update_fields=["allocated", "updated_at"])
    record_event(
        actor=actor,
        verb="billing.payment.allocated",
        target=payment,
        data={"allocations": done, "unallocated": payment.amount - payment.allocated, "auto": auto},
        related=[payment.account],
    )


def payment_record(
    *,
    actor: User,
    amount: object,
    received_on: object,
    account_id: int | None = None,
    kind: str | None = None,
    document_id: int | None = None,
    currency: str | None = None,
    method: str = PaymentMethod.BANK_TRANSFER,
    reference: object = "",
    payer: object = "",
    note: object = "",
    owner_id: int | None = None,
    allocate: str = "auto",
    allocations: Sequence[AllocationInput] = (),
) -> Payment:
    """Record a payment received (``HK-YYYY-NNNNN``) and allocate it.

    For a document (``kind`` + ``document_id``): its customer, owner and currency. Otherwise
    for ``account_id`` with ``owner_id`` (default: the account's owner) whose records the
    actor may write, in ``currency`` (default: the company currency). ``allocate``: ``auto``
    (oldest due first), ``manual`` (``allocations``) or ``none``. What is not allocated stays
    on the payment as its unallocated remainder (an overpayment, flagged in lists).

    Raises 404/403 for unseen/read-only documents, accounts, owners and instalments; 400
    naming the field for bad input; nothing is written on any error.
    """
    if allocate not in ("auto", "manual", "none"):
        raise _invalid("allocate", _("Choose auto, manual or none."))
    doc: Document | None = None
    if kind is not None or document_id is not None:
        doc = get_document_for_user(actor, str(kind), _id(document_id, "document_id"), write=True)
        account: Account = doc.account
        owner_pk = doc.owner_id
        if currency not in (None, "", doc.currency):
            raise _invalid("currency", _("A payment for a document is in the document's currency."))
        code = doc.currency
    else:
        if account_id is None:
            raise _invalid("account_id", _("Choose a customer or a document."))
        account = get_account_for_user(actor, _id(account_id, "account_id"))
        owner_pk = _id(owner_id, "owner_id") if owner_id is not None else account.owner_id  # type: ignore[assignment]
        if owner_pk is None:
            raise _invalid("owner_id", _("Choose the rep this payment belongs to."))
        if not _may_write_owner(actor, owner_pk) or not User.objects.filter(pk=owner_pk, is_active=True).exists():
            raise Forbidden(_("You may not record payments for this rep."))
        code = (currency or company_currency()).upper()
        if not code.isalpha() or len(code) != 3:
            raise _invalid("currency", _("Enter a three-letter currency code."))
    if doc is None and writable_owner_ids(actor) == set():
        raise Forbidden(_("You may not record payments."))
    value = _amount(amount, code)
    received = _date(received_on, "received_on")
    if received > timezone.localdate() + dt.timedelta(days=1):
        raise _invalid("received_on", _("A payment cannot be received in the future."))
    if method not in PaymentMethod.values:
        raise _invalid("method", _("Choose a payment method."))
    ref = _text(reference, "reference", max_length=TEXT_LENGTH)
    who = _text(payer, "payer", max_length=TEXT_LENGTH)
    memo = _text(note, "note", max_length=NOTE_LENGTH, multiline=True)
    with transaction.atomic():
        payment = Payment.objects.create(
            number=_next_number("HK", "payment"),
            account=account,
            owner_id=owner_pk,
            opportunity_id=doc.opportunity_id if doc is not None else None,
            contract=doc if isinstance(doc, Contract) else None,
            order=doc if isinstance(doc, Order) else None,
            currency=code,
            amount=value,
            received_on=received,
            method=method,
            reference=ref,
            payer=who,
            note=memo,
            recorded_by=actor if actor.pk else None,
        )
        record_event(
            actor=actor,
            verb="billing.payment.recorded",
            target=payment,
            data={
                "number": payment.number,
                "amount": value,
                "currency": code,
                "received_on": received,
                "method": method,
                "summary": in_every_language(lambda: _("Payment %(number)s received") % {"number": payment.number}),
            },
            related=[account, doc],
        )
        if allocate == "auto":
            _audit_allocation(actor, payment, _allocate_auto(actor, payment), auto=True)
        elif allocate == "manual":
            _audit_allocation(actor, payment, _allocate_manual(actor, payment, allocations), auto=False)
    return payment


def _lock_payment(actor: User, payment: Payment) -> Payment:
    get_payment_for_user(actor, payment.pk, write=True)
    locked = Payment.objects.select_for_update().select_related("account").get(pk=payment.pk)
    if locked.status == PaymentStatus.VOID:
        raise Conflict(_("This payment is void."), code="payment_void")
    return locked


def payment_allocate(*, actor: User, payment: Payment, allocations: Sequence[AllocationInput]) -> Payment:
    """Allocate part of ``payment`` to the given instalments (manual allocation). 400 on
    ``allocations.N.*`` for an instalment of another customer or currency, a void one, or an
    amount that over-fills it; on ``allocations`` when the total exceeds what is left."""
    with transaction.atomic():
        locked = _lock_payment(actor, payment)
        _audit_allocation(actor, locked, _allocate_manual(actor, locked, allocations), auto=False)
    return locked


def payment_auto_allocate(*, actor: User, payment: Payment) -> Payment:
    """Allocate what is left of ``payment`` oldest due date first (see ``payment_record``)."""
    with transaction.atomic():
        locked = _lock_payment(actor, payment)
        _audit_allocation(actor, locked, _allocate_auto(actor, locked), auto=True)
    return locked


def allocation_remove(*, actor: User, payment: Payment, instalment_id: int) -> Payment:
    """Take the allocation of ``payment`` to an instalment back (404 when there is none)."""
    inst_id = _id(instalment_id, "instalment_id")
    with transaction.atomic():
        locked = _lock_payment(actor, payment)
        row = Allocation.objects.select_for_update().filter(payment=locked, instalment_id=inst_id).first()
        if row is None:
            from django.http import Http404

            raise Http404("no such allocation")
        get_instalment_for_user(actor, inst_id, write=True)
        inst = Instalment.objects.select_for_update().get(pk=inst_id)
        inst.paid -= row.amount
        inst.is_open = inst.voided_at is None and inst.paid < inst.amount
        inst.save(update_fields=["paid", "is_open", "updated_at"])
        locked.allocated -= row.amount
        locked.save(update_fields=["allocated", "updated_at"])
        row.delete()
        record_event(
            actor=actor,
            verb="billing.payment.unallocated",
            target=locked,
            data={"instalment_id": inst_id, "amount": row.amount},
            related=[locked.account],
        )
    return locked


def payment_void(*, actor: User, payment: Payment, reason: object) -> Payment:
    """Void a payment (recorded in error) with a ``reason``: its allocations are released
    (the instalments owe them again). 409 when it is void already."""
    text = _text(reason, "reason", max_length=TEXT_LENGTH, required=True)
    with transaction.atomic():
        locked = _lock_payment(actor, payment)
        rows = list(Allocation.objects.select_for_update().filter(payment=locked).order_by("instalment_id"))
        insts = {
            i.pk: i
            for i in Instalment.objects.select_for_update()
            .filter(pk__in=[r.instalment_id for r in rows])
            .order_by("pk")
        }
        released = ZERO
        for row in rows:
            inst = insts[row.instalment_id]
            inst.paid -= row.amount
            inst.is_open = inst.voided_at is None and inst.paid < inst.amount
            inst.save(update_fields=["paid", "is_open", "updated_at"])
            released += row.amount
        Allocation.objects.filter(payment=locked).delete()
        locked.allocated = ZERO
        locked.status = PaymentStatus.VOID
        locked.void_reason = text
        locked.save(update_fields=["allocated", "status", "void_reason", "updated_at"])
        record_event(
            actor=actor,
            verb="billing.payment.voided",
            target=locked,
            data={"reason": text, "released": released},
            related=[locked.account],
        )
    return locked


# --- invoices ------------------------------------------------------------------------------------


def _invoice_figures(total: Decimal, rate: Decimal, currency: str) -> tuple[Decimal, Decimal, Decimal]:
    """Net, tax and total of a tax-inclusive amount (价税合计) through ``core.doctotals``."""
    try:
        line = line_totals(
            LineInput(quantity=Decimal(1), unit_price=abs(total), tax_rate=rate), currency, prices_include_tax=True
        )
    except TotalTooLarge as exc:
        raise _invalid("amount", _("The amount is too large.")) from exc
    sign = -1 if total < 0 else 1
    return sign * (line.total - line.tax), sign * line.tax, sign * line.total


def _invoice_payments(actor: User, payment_ids: Iterable[object], account_id: int, currency: str) -> list[Payment]:
    ids = [_id(p, "payment_ids") for p in payment_ids]
    if len(ids) > 200:
        raise _invalid("payment_ids", _("At most %(n)s payments.") % {"n": 200})
    found = list(payments_visible_to(actor).filter(pk__in=ids))
    if len(found) != len(set(ids)):
        raise _invalid("payment_ids", _("Unknown payment."))
    for payment in found:
        if payment.account_id != account_id or payment.currency != currency:
            raise _invalid("payment_ids", _("Link payments of the same customer and currency."))
    return found


def invoice_create(
    *,
    actor: User,
    amount: object,
    tax_rate: object = "13",
    invoice_type: str = InvoiceType.VAT_NORMAL,
    kind: str | None = None,
    document_id: int | None = None,
    account_id: int | None = None,
    currency: str | None = None,
    title: object = "",
    buyer_tax_id: object = "",
    note: object = "",
    payment_ids: Sequence[object] = (),
) -> Invoice:
    """A draft invoice for a contract or order (its customer, owner and currency) or for a
    customer the actor may write (its owner, ``currency``). ``amount`` is the total including
    tax (价税合计); net and tax come from ``core.doctotals`` (tax-inclusive rule)."""
    doc: Document | None = None
    if kind is not None or document_id is not None:
        doc = get_document_for_user(actor, str(kind), _id(document_id, "document_id"), write=True)
        account: Account = doc.account
        owner_pk = doc.owner_id
        code = doc.currency
    else:
        if account_id is None:
            raise _invalid("account_id", _("Choose a customer or a document."))
        account = get_account_for_user(actor, _id(account_id, "account_id"))
        if account.owner_id is None or not _may_write_owner(actor, account.owner_id):
            raise Forbidden(_("You may not invoice this customer."))
        owner_pk = account.owner_id
        code = (currency or company_currency()).upper()
        if not code.isalpha() or len(code) != 3:
            raise _invalid("currency", _("Enter a three-letter currency code."))
    if invoice_type not in InvoiceType.values:
        raise _invalid("invoice_type", _("Choose an invoice type."))
    total = _amount(amount, code)
    try:
        rate = parse_percent(tax_rate)
    except AmountError as exc:
        raise _invalid("tax_rate", str(exc.message)) from exc
    net, tax, total = _invoice_figures(total, rate, code)
    buyer = _text(title, "title", max_length=TEXT_LENGTH) or account.name[:TEXT_LENGTH]
    tax_id = _text(buyer_tax_id, "buyer_tax_id", max_length=30)
    memo = _text(note, "note", max_length=NOTE_LENGTH, multiline=True)
    with transaction.atomic():
        payments = _invoice_payments(actor, payment_ids, account.pk, code)
        invoice = Invoice.objects.create(
            invoice_type=invoice_type,
            account=account,
            owner_id=owner_pk,
            opportunity_id=doc.opportunity_id if doc is not None else None,
            contract=doc if isinstance(doc, Contract) else None,
            order=doc if isinstance(doc, Order) else None,
            currency=code,
            title=buyer,
            buyer_tax_id=tax_id,
            tax_rate=rate,
            net=net,
            tax=tax,
            total=total,
            note=memo,
            created_by=actor if actor.pk else None,
        )
        invoice.payments.set(payments)
        record_event(
            actor=actor,
            verb="billing.invoice.created",
            target=invoice,
            data={"invoice_type": invoice_type, "total": total, "currency": code},
            related=[account, doc],
        )
    return invoice


class InvoiceChanges(TypedDict, total=False):
    amount: object
    tax_rate: object
    invoice_type: str
    title: object
    buyer_tax_id: object
    note: object
    payment_ids: Sequence[object]


INVOICE_FIELDS = frozenset(InvoiceChanges.__annotations__)


def _lock_invoice(actor: User, invoice: Invoice) -> Invoice:
    from salesflow.billing.permissions import get_invoice_for_user

    get_invoice_for_user(actor, invoice.pk, write=True)
    return Invoice.objects.select_for_update().select_related("account").get(pk=invoice.pk)


def invoice_update(*, actor: User, invoice: Invoice, **changes: Unpack[InvoiceChanges]) -> Invoice:
    """Change a DRAFT invoice. An issued, void or red-reversed invoice is immutable: 409
    ``invoice_immutable``."""
    from salesflow.core.changes import refuse_unknown_fields

    refuse_unknown_fields(changes, INVOICE_FIELDS, _("The invoice could not be saved."))  # type: ignore[arg-type]
    with transaction.atomic():
        inv = _lock_invoice(actor, invoice)
        if inv.status != InvoiceStatus.DRAFT:
            raise Conflict(_("An issued invoice cannot be changed: void it or reverse it."), code="invoice_immutable")
        new: dict[str, Any] = {}
        if "invoice_type" in changes:
            if changes["invoice_type"] not in InvoiceType.values:
                raise _invalid("invoice_type", _("Choose an invoice type."))
            new["invoice_type"] = changes["invoice_type"]
        if "title" in changes:
            new["title"] = _text(changes["title"], "title", max_length=TEXT_LENGTH, required=True)
        if "buyer_tax_id" in changes:
            new["buyer_tax_id"] = _text(changes["buyer_tax_id"], "buyer_tax_id", max_length=30)
        if "note" in changes:
            new["note"] = _text(changes["note"], "note", max_length=NOTE_LENGTH, multiline=True)
        if "amount" in changes or "tax_rate" in changes:
            total = _amount(changes["amount"], inv.currency) if "amount" in changes else inv.total
            try:
                rate = parse_percent(changes["tax_rate"]) if "tax_rate" in changes else inv.tax_rate
            except AmountError as exc:
                raise _invalid("tax_rate", str(exc.message)) from exc
            new["net"], new["tax"], new["total"] = _invoice_figures(total, rate, inv.currency)
            new["tax_rate"] = rate
        diff = {k: [getattr(inv, k), v] for k, v in new.items() if getattr(inv, k) != v}
        if "payment_ids" in changes:
            payments = _invoice_payments(actor, changes["payment_ids"], inv.account_id, inv.currency)
            before = sorted(inv.payments.values_list("pk", flat=True))
            after = sorted(p.pk for p in payments)
            if before != after:
                inv.payments.set(payments)
                diff["payment_ids"] = [before, after]
        if not diff:
            return inv
        for key, value in new.items():
            setattr(inv, key, value)
        inv.save(update_fields=[*new, "updated_at"])
        record_event(
            actor=actor, verb="billing.invoice.updated", target=inv, data={"changes": diff}, related=[inv.account]
        )
    return inv


def invoice_issue(*, actor: User, invoice: Invoice, issued_on: object = None) -> Invoice:
    """Issue a draft: number ``FP-YYYY-NNNNN`` (gapless), issue date (default today). From
    now on the invoice is immutable. 409 unless it is a draft."""
    with transaction.atomic():
        inv = _lock_invoice(actor, invoice)
        if inv.status != InvoiceStatus.DRAFT:
            raise Conflict(_("Only a draft invoice can be issued."), code="invoice_immutable")
        day = _date(issued_on, "issued_on") if issued_on not in (None, "") else timezone.localdate()
        inv.number = _next_number("FP", "invoice")
        inv.status = InvoiceStatus.ISSUED
        inv.issued_on = day
        inv.save(update_fields=["number", "status", "issued_on", "updated_at"])
        record_event(
            actor=actor,
            verb="billing.invoice.issued",
            target=inv,
            data={
                "number": inv.number,
                "issued_on": day,
                "total": inv.total,
                "summary": in_every_language(lambda: _("Invoice %(number)s issued") % {"number": inv.number}),
            },
            related=[inv.account],
        )
    return inv


def invoice_void(*, actor: User, invoice: Invoice, reason: object) -> Invoice:
    """Void a draft or issued invoice with a ``reason`` (作废). 409 otherwise."""
    text = _text(reason, "reason", max_length=TEXT_LENGTH, required=True)
    with transaction.atomic():
        inv = _lock_invoice(actor, invoice)
        if inv.status not in (InvoiceStatus.DRAFT, InvoiceStatus.ISSUED) or inv.reverses_id:
            raise Conflict(_("This invoice cannot be voided."), code="invoice_immutable")
        inv.status = InvoiceStatus.VOID
        inv.void_reason = text
        inv.save(update_fields=["status", "void_reason", "updated_at"])
        record_event(
            actor=actor, verb="billing.invoice.voided", target=inv, data={"reason": text}, related=[inv.account]
        )
    return inv


def invoice_red_reverse(*, actor: User, invoice: Invoice, reason: object) -> Invoice:
    """Reverse an issued invoice (红冲): a new issued invoice with the negative amounts that
    ``reverses`` it, and the original becomes ``red_reversed``. Returns the red invoice.
    409 unless the original is issued (and not itself a red invoice)."""
    text = _text(reason, "reason", max_length=TEXT_LENGTH, required=True)
    with transaction.atomic():
        inv = _lock_invoice(actor, invoice)
        if inv.status != InvoiceStatus.ISSUED or inv.reverses_id:
            raise Conflict(_("Only an issued invoice can be reversed."), code="invoice_immutable")
        red = Invoice.objects.create(
            number=_next_number("FP", "invoice"),
            invoice_type=inv.invoice_type,
            account_id=inv.account_id,
            owner_id=inv.owner_id,
            opportunity_id=inv.opportunity_id,
            contract_id=inv.contract_id,
            order_id=inv.order_id,
            currency=inv.currency,
            title=inv.title,
            buyer_tax_id=inv.buyer_tax_id,
            tax_rate=inv.tax_rate,
            net=-inv.net,
            tax=-inv.tax,
            total=-inv.total,
            status=InvoiceStatus.ISSUED,
            issued_on=timezone.localdate(),
            note=text,
            reverses=inv,
            created_by=actor if actor.pk else None,
        )
        inv.status = InvoiceStatus.RED_REVERSED
        inv.void_reason = text
        inv.save(update_fields=["status", "void_reason", "updated_at"])
        record_event(
            actor=actor,
            verb="billing.invoice.red_reversed",
            target=inv,
            data={"reason": text, "red_invoice_id": red.pk, "red_number": red.number},
            related=[inv.account, red],
        )
    return red


# --- reminders ------------------------------------------------------------------------------------


def reminder_rule_save(*, actor: User, days: object, active: bool = True) -> ReminderRule:
    """Administrators: add or change the reminder of ``days`` relative to the due date
    (audited ``billing.reminder_rule.changed`` when it changes)."""
    if not actor.is_admin:
        raise Forbidden(_("Only administrators change the payment reminders."))
    if isinstance(days, bool) or not isinstance(days, int) or not -365 <= days <= 365:
        raise _invalid("days", _("Enter a number of days between -365 and 365."))
    with transaction.atomic():
        return _rule_set(actor, days, bool(active))


def _rule_set(actor: User, days: int, active: bool) -> ReminderRule:
    rule = ReminderRule.objects.select_for_update().filter(days=days).first()
    before = None if rule is None else rule.active
    if rule is None:
        rule = ReminderRule.objects.create(days=days, active=active)
    elif rule.active != active:
        rule.active = active
        rule.save(update_fields=["active"])
    if before != active:
        record_event(
            actor=actor,
            verb="billing.reminder_rule.changed",
            target=rule,
            data={"days": days, "changes": {"active": [before, active]}},
        )
    return rule


#: At most this many reminder days on each side of the due date.
MAX_REMINDER_DAYS_PER_SIDE = 10


def _parse_day_list(value: object, field: str, errors: dict[str, list[str]]) -> list[int]:
    """Days as a list (or text "7, 1" separated by commas or spaces) of whole numbers 1–365."""
    if isinstance(value, str):
        items: list[object] = [part for part in value.replace("，", ",").replace(",", " ").split() if part]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        errors[field] = [_("Give the days as a list of whole numbers.")]
        return []
    if len(items) > MAX_REMINDER_DAYS_PER_SIDE:
        errors[field] = [_("At most %(n)s reminder days.") % {"n": MAX_REMINDER_DAYS_PER_SIDE}]
        return []
    days: set[int] = set()
    for item in items:
        try:
            days.add(parse_days(item, field, low=1, high=MAX_REMINDER_DAYS))
        except ValidationFailed as exc:
            errors[field] = exc.field_errors[field]
            return []
    return sorted(days, reverse=True) if field.endswith("before") else sorted(days)


@dataclass(frozen=True)
class ReminderSettings:
    """What the reminder settings page and the API show and save."""

    payment_days_before: list[int]
    payment_days_after: list[int]
    renewal_reminder_days: int


def reminder_settings() -> ReminderSettings:
    """The active payment reminder days (before and after the due date, as positive numbers)
    and the contracts' renewal reminder days (two queries)."""
    active = list(ReminderRule.objects.filter(active=True).order_by("days").values_list("days", flat=True))
    return ReminderSettings(
        payment_days_before=sorted((-d for d in active if d <= 0), reverse=True),
        payment_days_after=[d for d in active if d > 0],
        renewal_reminder_days=renewal_reminder_days(),
    )


def reminder_settings_save(
    *,
    actor: User,
    payment_days_before: object = None,
    payment_days_after: object = None,
    renewal_reminder_days: object = None,
) -> ReminderSettings:
    """Administrators (``Forbidden`` otherwise): the payment reminder days before and after a
    due date (each a list of 1–365, at most 10; ``ReminderRule`` rows are activated, created
    or deactivated to match — deactivated, not deleted, so sent reminders keep their rule)
    and the contract renewal reminder days (1–3650, ``contracts.services.contract_settings_save``).
    A field left ``None`` keeps its value. Everything is validated first — a
    ``ValidationFailed`` names each bad field (negative, huge, fractional, NaN, text) and
    writes nothing — then saved in one transaction, one audit event per change. The
    reminder jobs read the new values on their next run."""
    if not actor.is_admin:
        raise Forbidden(_("Only administrators change the reminder settings."))
    errors: dict[str, list[str]] = {}
    before = after = None
    if payment_days_before is not None:
        before = _parse_day_list(payment_days_before, "payment_days_before", errors)
    if payment_days_after is not None:
        after = _parse_day_list(payment_days_after, "payment_days_after", errors)
    if renewal_reminder_days is not None:
        try:
            parse_days(renewal_reminder_days, "renewal_reminder_days", low=1, high=RENEWAL_DAYS_MAX)
        except ValidationFailed as exc:
            errors.update(exc.field_errors)
    if errors:
        raise ValidationFailed(_("The input is not valid."), field_errors=errors)
    with transaction.atomic():
        wanted_sides = []
        if before is not None:
            wanted_sides.append(({-d for d in before}, Q(days__lte=0)))
        if after is not None:
            wanted_sides.append((set(after), Q(days__gt=0)))
        for wanted, side in wanted_sides:
            existing = set(ReminderRule.objects.filter(side).values_list("days", flat=True))
            for days in sorted(existing | wanted):
                _rule_set(actor, days, days in wanted)
        if renewal_reminder_days is not None:
            contract_settings_save(actor=actor, renewal_reminder_days=renewal_reminder_days)
    return reminder_settings()


#: A missed run catches up this many days (the unique reminder row keeps it to once).
CATCH_UP_DAYS = 2


def reminders_run(*, today: dt.date | None = None, actor: User | None = None) -> int:
    """Remind owners (and their assistants, through the notification rule) of instalments
    due in N days or overdue by N days, for each active ``ReminderRule``; returns how many
    reminders were made. Idempotent: one ``InstalmentReminder`` per (instalment, days, due
    date); rerunning on the same day makes none."""
    from salesflow.users.services import system_actor

    day = today or timezone.localdate()
    who = actor or system_actor()
    made = 0
    for rule in ReminderRule.objects.filter(active=True).order_by("days"):
        latest = day - dt.timedelta(days=rule.days)
        earliest = latest - dt.timedelta(days=CATCH_UP_DAYS)
        if rule.days <= 0:
            earliest = max(earliest, day)  # a "before the due date" reminder never after it
        last_pk = 0
        while True:
            batch = list(
                Instalment.objects.filter(is_open=True, voided_at__isnull=True, due_date__range=(earliest, latest))
                .filter(pk__gt=last_pk)
                .select_related("plan__contract", "plan__order")
                .order_by("pk")[:500]
            )
            if not batch:
                break
            last_pk = batch[-1].pk
            for inst in batch:
                with transaction.atomic():
                    try:
                        with transaction.atomic():
                            InstalmentReminder.objects.create(
                                instalment=inst, days=rule.days, due_date=inst.due_date, sent_on=day
                            )
                    except IntegrityError:
                        continue
                    record_event(
                        actor=who,
                        verb="billing.instalment.reminder",
                        target=inst,
                        data={
                            "days": rule.days,
                            "due_date": inst.due_date,
                            "owner": inst.owner_id,
                            "document": inst.plan.document.number,
                        },
                        related=[inst.plan],
                    )
                    made += 1
    return made


# --- reassignment: open receivables follow the account's or the deal's new owner -----------------


def _open_plans_follow(actor: User, owner: User, plans_of: Q, *, refusal: str) -> int:
    """Give every payment plan matching ``plans_of`` that still has an open instalment (and
    is not ``owner``'s yet) to ``owner``, with all its instalments and the payments recorded
    on the same contract or order (of the plan's customer). Paid-up plans, invoices and the
    documents keep their owner (history). ``Forbidden`` with ``refusal`` when ``actor`` may
    not change one of the plans (inside the caller's transaction: all or nothing). One
    ``billing.plan.reassigned`` event per plan; returns how many plans moved."""
    open_plan_ids = set(
        Instalment.objects.filter(is_open=True, plan__in=PaymentPlan.objects.filter(plans_of))
        .exclude(owner=owner)
        .values_list("plan_id", flat=True)
    )
    plans = list(
        PaymentPlan.objects.select_for_update()
        .filter(pk__in=open_plan_ids)
        .exclude(owner=owner)
        .select_related("account")
        .order_by("pk")
    )
    writable = writable_owner_ids(actor)
    if writable is not None and any(plan.owner_id not in writable for plan in plans):
        raise Forbidden(refusal)
    for plan in plans:
        previous = plan.owner_id
        plan.owner = owner
        plan.save(update_fields=["owner", "updated_at"])
        instalments = Instalment.objects.filter(plan=plan).update(owner=owner)
        same_document = Q(contract_id=plan.contract_id) if plan.contract_id else Q(order_id=plan.order_id)
        payments = (
            Payment.objects.filter(same_document, account_id=plan.account_id).exclude(owner=owner).update(owner=owner)
        )
        record_event(
            actor=actor,
            verb="billing.plan.reassigned",
            target=plan,
            data={"previous_owner": previous, "owner": owner.pk, "instalments": instalments, "payments": payments},
            related=[plan.account],
        )
    return len(plans)


@transaction.atomic
def billing_follow_account(actor: User, account: Account, owner: User) -> None:
    """Registered with ``parties.services.account_reassign(follow=True)`` (like the open deals
    of ``sales.open_deals_follow_account``): every payment plan of ``account`` that still has
    an open instalment goes to ``owner`` with all its instalments and the payments recorded on
    the same contract or order, so reminders, the ageing report (by rep and team) and the
    money scope follow the new owner (:func:`_open_plans_follow`). ``Forbidden`` (and the
    whole reassignment rolls back) when ``actor`` may not change such a plan."""
    _open_plans_follow(
        actor, owner, Q(account=account), refusal=_("You may not change the payment plans of this account.")
    )


@transaction.atomic
def billing_follow_opportunity(actor: User, opportunity: Opportunity, owner: User) -> None:
    """Registered with ``sales.services.register_opportunity_owner_follower``: when one deal
    is reassigned (``opportunity_update(owner=…)``, the deal page, the API, the bulk bar),
    the payment plans of its contracts and orders (``PaymentPlan.opportunity``) that still
    have an open instalment follow the new owner exactly as for an account reassignment
    (:func:`_open_plans_follow`). ``Forbidden`` (the deal's reassignment rolls back too)
    when ``actor`` may not change such a plan."""
    _open_plans_follow(
        actor, owner, Q(opportunity=opportunity), refusal=_("You may not change the payment plans of this deal.")
    )


# --- termination: what a terminated contract no longer owes ---------------------------------------


@transaction.atomic
def billing_follow_termination(actor: User, contract: Contract) -> None:
    """Registered with ``contracts.services.register_termination_follower``: when a signed
    contract is terminated on ``terminated_on``, its plan's instalments due **after** that
    date are no longer owed — unpaid ones are voided (reason: the termination), partly paid
    ones are cut to what was paid (closed). Instalments due on or before the date stay
    open: they are the **remaining receivable**, still collected, reminded and aged. One
    ``billing.plan.terminated`` event with the counts, the cancelled amount and the
    remaining receivable. Orders made from the contract keep their own plans (what was
    delivered is owed). A contract without a plan: nothing."""
    plan = PaymentPlan.objects.select_for_update().filter(contract_id=contract.pk).first()
    if plan is None or contract.terminated_on is None:
        return
    day = contract.terminated_on
    note = (_("Contract terminated on %(day)s") % {"day": day.isoformat()})[:TEXT_LENGTH]
    now = timezone.now()
    voided = reduced = 0
    cancelled = ZERO
    for inst in Instalment.objects.select_for_update().filter(plan=plan, voided_at__isnull=True).order_by("pk"):
        if inst.due_date <= day or inst.paid >= inst.amount:
            continue
        cancelled += inst.amount - inst.paid
        if inst.paid == 0:
            inst.voided_at, inst.void_reason, inst.voided_by = now, note, actor if actor.pk else None
            inst.is_open = False
            inst.save(update_fields=["voided_at", "void_reason", "voided_by", "is_open", "updated_at"])
            voided += 1
        else:
            inst.amount, inst.is_open = inst.paid, False
            inst.label = (f"{inst.label} · {note}" if inst.label else note)[:LABEL_LENGTH]
            inst.save(update_fields=["amount", "is_open", "label", "updated_at"])
            reduced += 1
    remaining = ZERO
    for amount, paid in Instalment.objects.filter(plan=plan, voided_at__isnull=True).values_list("amount", "paid"):
        remaining += amount - paid
    record_event(
        actor=actor,
        verb="billing.plan.terminated",
        target=plan,
        data={
            "contract_id": contract.pk,
            "terminated_on": day,
            "voided": voided,
            "reduced": reduced,
            "cancelled": cancelled,
            "remaining": remaining,
        },
        related=[contract, contract.account],
    )


def _refuse_terminated(doc: Document) -> None:
    if isinstance(doc, Contract) and doc.status == ContractStatus.TERMINATED:
        raise Conflict(
            _("The contract is terminated: its plan takes no new or changed instalments."), code="document_terminated"
        )
