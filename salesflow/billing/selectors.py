"""Reads of payment collection: lists, a document's plan, the account's collections and the
receivables ageing report (应收账款账龄). Each starts from the visibility functions in
``billing.permissions``; money sums read only the rows ``money_scope_q`` allows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, getcontext
from typing import Any

from django.db.models import ExpressionWrapper, F, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from salesflow.billing.choices import AgeingBucket, AgeingGroup, PaymentStatus
from salesflow.billing.models import ZERO, Instalment, Invoice, Payment, PaymentPlan
from salesflow.billing.permissions import (
    instalments_visible_to,
    invoices_visible_to,
    money_scope_q,
    payments_visible_to,
    plans_visible_to,
)
from salesflow.billing.status import bucket_due_range, status_q
from salesflow.core.models import ExchangeRate
from salesflow.core.money import MoneyField, company_currency
from salesflow.core.selectors import EXACT_PRECISION, apply_rate, rates_on
from salesflow.parties.models import Account
from salesflow.users.models import Team, User

BUCKETS: tuple[str, ...] = tuple(AgeingBucket.values)
#: Rows shown per ageing report; the rest are summed into one "others" row, so the totals
#: still add up to the grand total.
AGEING_ROWS = 200


def _open_amount() -> Any:
    return ExpressionWrapper(F("amount") - F("paid"), output_field=MoneyField())


# --- lists ----------------------------------------------------------------------------------------


def payment_list(
    user: User,
    *,
    account_id: int | None = None,
    owner_id: int | None = None,
    status: str = "",
    method: str = "",
    unallocated: bool = False,
    received_from: dt.date | None = None,
    received_to: dt.date | None = None,
) -> QuerySet[Payment]:
    """Visible payments newest first; ``unallocated`` keeps overpayments (a remainder > 0)."""
    qs = payments_visible_to(user)
    if account_id:
        qs = qs.filter(account_id=account_id)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if status:
        qs = qs.filter(status=status)
    if method:
        qs = qs.filter(method=method)
    if unallocated:
        qs = qs.filter(status=PaymentStatus.RECORDED, allocated__lt=F("amount"))
    if received_from:
        qs = qs.filter(received_on__gte=received_from)
    if received_to:
        qs = qs.filter(received_on__lte=received_to)
    return qs.select_related("account", "owner", "contract", "order").order_by("-received_on", "-id")


def invoice_list(
    user: User, *, account_id: int | None = None, status: str = "", invoice_type: str = "", owner_id: int | None = None
) -> QuerySet[Invoice]:
    qs = invoices_visible_to(user)
    if account_id:
        qs = qs.filter(account_id=account_id)
    if status:
        qs = qs.filter(status=status)
    if invoice_type:
        qs = qs.filter(invoice_type=invoice_type)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    return qs.select_related("account", "owner", "contract", "order").order_by("-created_at", "-id")


def instalment_list(
    user: User,
    *,
    today: dt.date,
    status: str = "",
    account_id: int | None = None,
    owner_id: int | None = None,
) -> QuerySet[Instalment]:
    qs = instalments_visible_to(user)
    if status:
        qs = qs.filter(status_q(status, today))
    if account_id:
        qs = qs.filter(account_id=account_id)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    return qs.select_related("plan__contract", "plan__order", "account", "owner").order_by("due_date", "id")


def plan_for_document(user: User, kind: str, document_id: int) -> PaymentPlan | None:
    """The visible plan of a contract or order with its instalments and their allocations
    prefetched (three queries), or ``None``."""
    return (
        plans_visible_to(user)
        .filter(**{f"{kind}_id": document_id})
        .select_related("contract", "order", "account", "owner")
        .prefetch_related("instalments__allocations__payment")
        .first()
    )


def payment_detail(payment: Payment) -> list[Any]:
    """The allocations of a payment with their instalments and plans (one query)."""
    return list(
        payment.allocations.select_related("instalment__plan__contract", "instalment__plan__order").order_by(
            "instalment__due_date", "id"
        )
    )


def open_instalments_for_payment(user: User, payment: Payment, *, limit: int = 50) -> list[Instalment]:
    """Instalments this payment could still pay: the customer's open ones in its currency
    that ``user`` may write, oldest due first."""
    return list(
        instalments_visible_to(user, write=True)
        .filter(account_id=payment.account_id, currency=payment.currency, is_open=True, voided_at__isnull=True)
        .select_related("plan__contract", "plan__order")
        .order_by("due_date", "position", "id")[:limit]
    )


# --- account collections -------------------------------------------------------------------------------


@dataclass
class CurrencyCollections:
    currency: str
    planned: Decimal = ZERO
    received: Decimal = ZERO
    allocated: Decimal = ZERO
    outstanding: Decimal = ZERO
    overdue: Decimal = ZERO

    @property
    def unallocated(self) -> Decimal:
        return self.received - self.allocated


@dataclass
class AccountCollections:
    rows: list[CurrencyCollections]
    instalments: list[Instalment]
    money: bool


def account_collections(user: User, account: Account, *, today: dt.date, limit: int = 10) -> AccountCollections:
    """Plan vs received vs overdue of one customer per currency (only rows whose money the
    user may see; nothing for support) and the next open instalments (statuses for every
    reader). Four queries."""
    scope = money_scope_q(user)
    rows: dict[str, CurrencyCollections] = {}
    insts = instalments_visible_to(user).filter(account_id=account.pk, voided_at__isnull=True)
    pays = payments_visible_to(user).filter(account_id=account.pk, status=PaymentStatus.RECORDED)
    if scope is not None:
        insts_money = insts.filter(scope)
        pays_money = pays.filter(scope)
    else:
        insts_money, pays_money = insts, pays
    for row in (
        insts_money.order_by()
        .values("currency")
        .annotate(
            planned_sum=Sum("amount"),
            open_sum=Sum(_open_amount()),
            overdue_sum=Sum(_open_amount(), filter=Q(due_date__lt=today)),
        )
    ):
        cur = rows.setdefault(row["currency"], CurrencyCollections(row["currency"]))
        cur.planned = row["planned_sum"] or ZERO
        cur.outstanding = row["open_sum"] or ZERO
        cur.overdue = row["overdue_sum"] or ZERO
    for row in (
        pays_money.order_by().values("currency").annotate(received_sum=Sum("amount"), allocated_sum=Sum("allocated"))
    ):
        cur = rows.setdefault(row["currency"], CurrencyCollections(row["currency"]))
        cur.received = row["received_sum"] or ZERO
        cur.allocated = row["allocated_sum"] or ZERO
    upcoming = list(
        insts.filter(is_open=True)
        .select_related("plan__contract", "plan__order")
        .order_by("due_date", "position", "id")[:limit]
    )
    return AccountCollections(
        rows=sorted(rows.values(), key=lambda r: r.currency), instalments=upcoming, money=scope != Q(pk__in=[])
    )


# --- the receivables ageing report ---------------------------------------------------------------------


@dataclass
class AgeingRow:
    key: int | None
    label: str
    buckets: dict[str, Decimal]
    total: Decimal
    unconverted: dict[str, int] = field(default_factory=dict)
    others: bool = False


@dataclass
class AgeingReport:
    group: str
    as_of: dt.date
    currency: str
    rows: list[AgeingRow]
    totals: dict[str, Decimal]
    total: Decimal
    rates: dict[str, ExchangeRate]
    unconverted: dict[str, int]
    row_count: int


@dataclass(frozen=True)
class AgeingFilters:
    team_id: int | None = None
    owner_id: int | None = None
    account_id: int | None = None
    currency: str = ""


def _bucket_filter(bucket: str, today: dt.date) -> Q:
    low, high = bucket_due_range(bucket, today)
    cond = Q()
    if low is not None:
        cond &= Q(due_date__gte=low)
    if high is not None:
        cond &= Q(due_date__lte=high)
    return cond


def ageing_base(user: User, filters: AgeingFilters) -> QuerySet[Instalment]:
    """Open instalments whose money ``user`` may see, filtered: the rows of the ageing report
    and its drill-down (``billing_inst_open_owner_due`` / ``billing_inst_open_due``)."""
    # ``is_open`` is false for void instalments (the services keep it), so no voided_at test:
    # the report's GROUP BY is answered from the covering indexes alone.
    qs = Instalment.objects.filter(is_open=True)
    scope = money_scope_q(user)
    if scope is not None:
        qs = qs.filter(scope)
    if filters.owner_id:
        qs = qs.filter(owner_id=filters.owner_id)
    if filters.team_id:
        qs = qs.filter(owner_id__in=User.objects.filter(team_id=filters.team_id).values("pk"))
    if filters.account_id:
        qs = qs.filter(account_id=filters.account_id)
    if filters.currency:
        qs = qs.filter(currency=filters.currency)
    return qs


_GROUP_FIELD: dict[str, str] = {
    AgeingGroup.CUSTOMER: "account_id",
    AgeingGroup.REP: "owner_id",
    AgeingGroup.TEAM: "owner_id",
}


def _labels(group: str, keys: set[int]) -> dict[int, str]:
    if group == AgeingGroup.CUSTOMER:
        return dict(Account.objects.filter(pk__in=keys).values_list("pk", "name"))
    if group == AgeingGroup.REP:
        return {u.pk: str(u) for u in User.objects.filter(pk__in=keys).only("pk", "display_name", "username")}
    return dict(Team.objects.filter(pk__in=keys).values_list("pk", "name"))


def ageing_report(
    user: User,
    *,
    group: str = AgeingGroup.CUSTOMER,
    today: dt.date,
    filters: AgeingFilters | None = None,
    limit: int = AGEING_ROWS,
) -> AgeingReport:
    """What is open, by days past due (current, 1–30, 31–60, 61–90, 90+), per customer, rep
    or team, in the company currency.

    ONE aggregate query grouped by (group key, currency) with one conditional sum per bucket,
    the rates valid on ``today`` (one query; each currency's rate is the latest on or before
    it), and one query for the row labels: four queries whatever the data. Each cell is
    converted and rounded once (``apply_rate``); row totals, bucket totals and the grand
    total are sums of those rounded cells, so every row and column adds up exactly. A
    currency without a rate is counted in ``unconverted`` and left out, never guessed.
    Rows are sorted by total (largest first); beyond ``limit`` they are summed into one
    "others" row.
    """
    filters = filters or AgeingFilters()
    if group not in _GROUP_FIELD:
        group = AgeingGroup.CUSTOMER
    key_field = _GROUP_FIELD[group]
    sums = {b: Sum(_open_amount(), filter=_bucket_filter(b, today)) for b in BUCKETS}
    base = ageing_base(user, filters).order_by()
    if group == AgeingGroup.CUSTOMER and money_scope_q(user) is not None:
        # a scoped reader (rep, assistant, manager): per owner, then per customer, walks the
        # owner covering index from the reader's owners in GROUP BY order (no scan, no sort)
        raw = [r[1:] for r in base.values_list("owner_id", key_field, "currency").annotate(**sums)]
    else:
        raw = list(base.values_list(key_field, "currency").annotate(**sums))
    if group == AgeingGroup.TEAM:  # rolled up from the reps' rows: one query for their teams
        teams = dict(User.objects.filter(pk__in={r[0] for r in raw}).values_list("pk", "team_id"))
        raw = [(teams.get(r[0]), *r[1:]) for r in raw]
    rates = rates_on({r[1] for r in raw}, today)
    home = company_currency()
    ctx = getcontext().copy()
    ctx.prec = EXACT_PRECISION
    by_key: dict[int | None, AgeingRow] = {}
    unconverted: dict[str, int] = {}
    used: dict[str, ExchangeRate] = {}
    for key, code, *values in raw:
        entry = by_key.get(key)
        if entry is None:
            entry = by_key[key] = AgeingRow(key=key, label="", buckets=dict.fromkeys(BUCKETS, ZERO), total=ZERO)
        rate = rates.get(code)
        if code != home and rate is None:
            unconverted[code] = unconverted.get(code, 0) + 1
            entry.unconverted[code] = entry.unconverted.get(code, 0) + 1
            continue
        if rate is not None:
            used[code] = rate
        cells = entry.buckets
        for bucket, value in zip(BUCKETS, values, strict=True):
            if value:
                # the company currency's amounts are exact already; others convert once per cell
                cells[bucket] += value if rate is None else apply_rate(value, rate)
    rows = [r for r in by_key.values()]
    for r in rows:
        r.total = sum(r.buckets.values(), ZERO)
    rows.sort(key=lambda r: (-r.total, r.key or 0))
    labels = _labels(group, {r.key for r in rows[:limit] if r.key is not None})
    for r in rows[:limit]:
        r.label = labels.get(r.key, "") if r.key is not None else str(_("No team"))
    shown = rows[:limit]
    if len(rows) > limit:
        rest = rows[limit:]
        shown.append(
            AgeingRow(
                key=None,
                label=str(_("%(n)s more") % {"n": len(rest)}),
                buckets={b: sum((r.buckets[b] for r in rest), ZERO) for b in BUCKETS},
                total=sum((r.total for r in rest), ZERO),
                others=True,
            )
        )
    totals = {b: sum((r.buckets[b] for r in shown), ZERO) for b in BUCKETS}
    return AgeingReport(
        group=group,
        as_of=today,
        currency=home,
        rows=shown,
        totals=totals,
        total=sum(totals.values(), ZERO),
        rates=used,
        unconverted=unconverted,
        row_count=len(rows),
    )


def ageing_instalments(
    user: User, *, today: dt.date, filters: AgeingFilters, bucket: str = "", group: str = "", key: int | None = None
) -> QuerySet[Instalment]:
    """The drill-down: the open instalments behind a cell of the report (oldest due first)."""
    qs = ageing_base(user, filters)
    if bucket in BUCKETS:
        qs = qs.filter(_bucket_filter(bucket, today))
    if group == AgeingGroup.TEAM and key is not None:
        qs = qs.filter(owner_id__in=User.objects.filter(team_id=key).values("pk"))
    elif group in _GROUP_FIELD and key is not None:
        qs = qs.filter(**{_GROUP_FIELD[group]: key})
    return qs.select_related("plan__contract", "plan__order", "account", "owner").order_by("due_date", "id")


def exchange_rate_map(currencies: Mapping[str, Any] | set[str], today: dt.date) -> dict[str, ExchangeRate]:
    return rates_on(set(currencies), today)
