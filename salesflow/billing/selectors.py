"""Reads of payment collection: lists, a document's plan, the account's collections and the
receivables ageing report (应收账款账龄). Each starts from the visibility functions in
``billing.permissions``; money sums read only the rows ``money_scope_q`` allows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Case, Count, ExpressionWrapper, F, FloatField, Q, QuerySet, Sum, Value, When, Window
from django.db.models.functions import Coalesce
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
from salesflow.core.models import AuditEvent, ExchangeRate
from salesflow.core.money import MoneyField, company_currency, minor_units
from salesflow.core.selectors import apply_rate, rates_on
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


def termination_cancelled(plan: PaymentPlan) -> Decimal:
    """What terminating the plan's contract took off the plan: the unpaid amounts of the
    instalments due after the termination date (voided, or cut to what was paid), as the
    ``billing.plan.terminated`` event recorded them (``ZERO`` when never terminated). One
    query (``audit_target_idx``)."""
    data = (
        AuditEvent.objects.filter(
            target_type=ContentType.objects.get_for_model(PaymentPlan),
            target_id=plan.pk,
            verb="billing.plan.terminated",
        )
        .order_by("-created_at", "-id")
        .values_list("data", flat=True)
        .first()
    )
    return Decimal(str(data["cancelled"])) if isinstance(data, dict) and data.get("cancelled") else ZERO


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


#: Candidates ranked beyond ``limit`` on the first try (the approximate ranking rarely moves
#: a row by more than a few places); a second try takes eight times as many, a third all.
AGEING_MARGIN = 50
#: Bound of the relative error of the approximate ranking total: a floating-point sum of n
#: non-negative products errs by at most about (n + 2) × 2⁻⁵³ of itself, under 10⁻⁶ for
#: any count of rows a database holds (n < 9·10⁹).
_APPROX_ERROR = Decimal("0.000001")

# one key's raw open sums per currency, in bucket order
_Cells = dict[str, list[Decimal]]


def _key_field(group: str) -> str:
    return "owner__team_id" if group == AgeingGroup.TEAM else _GROUP_FIELD[group]


def _keys_q(key_field: str, keys: set[int | None]) -> Q:
    """The rows whose group key is one of ``keys`` (``None``: instalments of reps without a team)."""
    known = {k for k in keys if k is not None}
    cond = Q(**{f"{key_field}__in": sorted(known)}) if known else Q(pk__in=[])
    if None in keys:
        cond |= Q(**{f"{key_field}__isnull": True})
    return cond


def _approx_total(home: str, rates: Mapping[str, ExchangeRate]) -> Sum:
    """A key's open amount in company-currency hundredths as a floating-point SQL sum: each
    row times its currency's rate (1 for the company currency, 0 without a rate). For
    ranking only; the report's figures are exact."""
    open_hundredths = F("amount") - F("paid")  # the integer column, in hundredths
    whens = [
        When(currency=code, then=ExpressionWrapper(open_hundredths * Value(factor), output_field=FloatField()))
        for code, factor in [(home, 1.0), *((c, float(r.rate)) for c, r in sorted(rates.items()))]
    ]
    return Sum(Case(*whens, default=Value(0.0), output_field=FloatField()), output_field=FloatField())


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

    Rows: each cell (one key, currency and bucket) is summed in SQL and converted and
    rounded once (``apply_rate``, the rate valid on ``today``); a row's total is the sum of
    its cells. Rows are sorted by total (largest first, then by key) and the first
    ``limit`` are shown. A currency without a rate is counted in ``unconverted`` (per
    currency: the keys that have open amounts in it) and left out, never guessed.

    The rest are one "others" row ("N more", ``row_count`` = every key, a count of distinct
    keys in SQL): per currency and bucket, the SQL sum over the keys not shown, converted
    and rounded once — so it may differ by a few minor units from the sum of those rows
    converted one by one. Bucket totals and the grand total are sums of the shown rows
    (others included), so every row and column adds up exactly.

    Without reading one row per key: the keys are ranked in SQL by an approximate total
    (each currency times its rate, in floating point) and the first ``limit +
    AGEING_MARGIN`` come with their exact cell sums. The ranking is proved, not trusted:
    every other key's exact total is at most the last candidate's approximate total plus
    the float error and the rounding of its cells, and the last shown row must beat that
    bound (strictly); otherwise the candidates widen (×8, then all keys). Queries: the
    rates, the ranking (once per try), the currencies without a rate of the shown rows
    (only when some have one), the others row (only when there are more keys than
    ``limit``) and the labels — at most seven, whatever the data.
    """
    filters = filters or AgeingFilters()
    if group not in _GROUP_FIELD:
        group = AgeingGroup.CUSTOMER
    limit = max(limit, 0)
    key_field = _key_field(group)
    sums = {b: Sum(_open_amount(), filter=_bucket_filter(b, today)) for b in BUCKETS}
    base = ageing_base(user, filters).order_by()
    home = company_currency()
    rates = rates_on(None, today)
    places = minor_units(home)
    # the most a key's exact total exceeds its true value: half a minor unit per converted cell
    cell_error = Decimal(5 * len(rates)) * Decimal(1).scaleb(-places) / 2

    # per key: the approximate total to rank on, the exact cell sums of every currency that
    # converts (the company currency and those with a rate) and how many rows do not convert
    codes = [home, *sorted(rates)]
    cell_sums = {
        f"c{i}_{j}": Sum(_open_amount(), filter=Q(currency=code) & _bucket_filter(bucket, today))
        for i, code in enumerate(codes)
        for j, bucket in enumerate(BUCKETS)
    }
    ranked = (
        base.values(key_field)
        .annotate(
            approx=_approx_total(home, rates),
            key_count=Window(Count("*")),
            unrated=Count("pk", filter=~Q(currency__in=codes)),
            **cell_sums,
        )
        .order_by("-approx", key_field)
        .values_list(key_field, "approx", "key_count", "unrated", *cell_sums)
    )
    width = len(BUCKETS)
    for margin in (limit + AGEING_MARGIN, 8 * (limit + AGEING_MARGIN), None):
        picked = list(ranked[:margin] if margin else ranked)
        row_count = picked[0][2] if picked else 0
        rows, cells, unrated_keys = [], {}, set()
        for key, _approx, _n, unrated, *values in picked:
            cells[key] = {
                code: [v or ZERO for v in values[i * width : (i + 1) * width]]
                for i, code in enumerate(codes)
                if any(values[i * width : (i + 1) * width])
            }
            rows.append(_ageing_row(key, cells[key], rates))
            if unrated:
                unrated_keys.add(key)
        rows.sort(key=lambda r: (-r.total, r.key or 0))
        if margin is None or len(picked) < margin or limit == 0:
            break
        bound = Decimal(picked[-1][1]).scaleb(-2) * (1 + _APPROX_ERROR) + cell_error + Decimal(1).scaleb(-places)
        if rows[limit - 1].total > bound:
            break
    shown = rows[:limit]
    seen = {code for r in shown for code in cells[r.key]}
    unconverted: dict[str, int] = {}
    missing = {r.key: r for r in shown if r.key in unrated_keys}
    if missing:  # which currencies the shown rows leave out: one query, only when some do
        without_rate = base.filter(_keys_q(key_field, set(missing))).exclude(currency__in=codes)
        for key, code in without_rate.values_list(key_field, "currency").distinct():
            missing[key].unconverted[code] = 1
            unconverted[code] = unconverted.get(code, 0) + 1
    if row_count > len(shown):
        rest = base if not shown else base.exclude(_keys_q(key_field, {r.key for r in shown}))
        others = AgeingRow(key=None, label="", buckets=dict.fromkeys(BUCKETS, ZERO), total=ZERO, others=True)
        keys = Count(Coalesce(key_field, Value(0)), distinct=True)  # "no team" counts as a key too
        for code, n, *values in rest.values_list("currency").annotate(key_n=keys, **sums):
            rate = rates.get(code)
            if code != home and rate is None:
                unconverted[code] = unconverted.get(code, 0) + n
                continue
            seen.add(code)
            for bucket, value in zip(BUCKETS, values, strict=True):
                if value:
                    others.buckets[bucket] += apply_rate(value, rate)
        others.total = sum(others.buckets.values(), ZERO)
        others.label = str(_("%(n)s more") % {"n": row_count - len(shown)})
    labels = _labels(group, {r.key for r in shown if r.key is not None})
    for r in shown:
        r.label = labels.get(r.key, "") if r.key is not None else str(_("No team"))
    if row_count > len(shown):
        shown.append(others)
    used = {code: rate for code, rate in rates.items() if code in seen}
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
        row_count=row_count,
    )


def _ageing_row(key: int | None, by_code: _Cells, rates: Mapping[str, ExchangeRate]) -> AgeingRow:
    """One key's row from its raw cell sums (currencies that convert only)."""
    row = AgeingRow(key=key, label="", buckets=dict.fromkeys(BUCKETS, ZERO), total=ZERO)
    for code, values in by_code.items():
        rate = rates.get(code)  # None: the company currency, exact already
        for bucket, value in zip(BUCKETS, values, strict=True):
            if value:
                row.buckets[bucket] += apply_rate(value, rate)
    row.total = sum(row.buckets.values(), ZERO)
    return row


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
