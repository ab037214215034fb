"""The figures every plan, dashboard and report counts (issue 10), declared in the registry
(``salesflow.core.metrics``) by this app because they read several apps' rows (deals,
activities, payments, deal lines). Later modules register their own.

The rules, one place:

* **won revenue / won deals** — deals with outcome *won*, counted on their actual close date
  (``closed_on``), by their current owner; a deal reopened after closing has no close date
  and drops out until closed again. Amounts are converted at the rate valid on the close date.
* **lost deals** — outcome *lost*, on ``closed_on``.
* **new customers** — accounts whose *first* won deal (earliest ``closed_on``, then id) closes
  in the period, credited to that deal's owner on that day.
* **new pipeline** — deals created in the period (creation day in the company time zone),
  their current amount.
* **activities / visits** — activities marked done, on the day they were done (company time
  zone); visits are the activities of kind *visit*.
* **collections (回款)** — payments recorded (not void), on the day received, by the
  payment's owner, converted at the rate of that day.

Filters: *pipeline* (the deal's pipeline; for activities and payments the linked deal's),
*product line* (deals with at least one line of a product in the line; the whole deal
counts), *region* (the account's region, subtree expanded by the caller) and *source* (the
account's source channel). A metric lists in ``honours`` which it applies.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Case, DateField, Exists, Func, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import TruncDate
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from salesflow.activities.choices import ActivityKind
from salesflow.activities.models import Activity
from salesflow.billing.choices import PaymentStatus
from salesflow.billing.models import Payment
from salesflow.catalogue.models import OpportunityLine
from salesflow.core.metrics import FactQuery, FactRow, Facts, Metric, register_metric, row_count
from salesflow.core.money import company_currency, money_sum_annotations, money_sum_value
from salesflow.core.selectors import RateBook
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Opportunity

ALL_FILTERS = frozenset({"pipeline", "product_line", "region", "source"})


def company_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """``[start 00:00, end+1 00:00)`` in the company time zone, for datetime columns."""
    zone = company_zone()
    return datetime.combine(start, time.min, zone), datetime.combine(end + timedelta(days=1), time.min, zone)


class _ShiftedDate(Func):
    """SQLite: ``date(column, '+N seconds')`` — the stored UTC time moved by a fixed offset,
    cut to its day, in SQL (``TruncDate`` with a time zone calls a Python function per row)."""

    function = "date"
    output_field = DateField()


def local_day(field: str, start: date, end: date) -> Any:
    """The company-zone day of the datetime ``field`` for rows between ``start`` and ``end``.

    ``TruncDate(field, tzinfo=zone)`` on both databases, except on SQLite when the zone's UTC
    offset is the same on every day of the range (Asia/Shanghai: always): there the shift
    is SQL arithmetic, the same day for every row. At bench scale 1.0 a department's year of
    activities (≈300,000 rows) took 1.8 s through the per-row Python conversion."""
    zone = company_zone()
    if connection.vendor == "sqlite":
        first = start - timedelta(days=1)
        offsets = {
            datetime.combine(first + timedelta(days=n), time(hour), zone).utcoffset()
            for n in range((end - first).days + 3)
            for hour in (0, 12)
        }
        if len(offsets) == 1:
            (offset,) = offsets
            if offset is not None:
                seconds = int(offset.total_seconds())
                return _ShiftedDate(field, Value(f"{seconds:+d} seconds"))
    return TruncDate(field, tzinfo=zone)


def _datetime_q(query: FactQuery, owner_field: str, dt_field: str) -> Q:
    """``owner_day_q`` for a datetime column: each window's days become an aware range."""
    lo, hi = day_bounds(query.start, query.end)
    if query.windows is None:
        return Q(**{f"{dt_field}__gte": lo, f"{dt_field}__lt": hi})
    # one term per distinct date range with the owners sharing it (as ``owner_day_q``): an
    # OR of one (owner, range) term per person made SQLite scan all 3M activities (36 s for a
    # department at bench scale 1.0); ``owner IN (…) AND range`` walks activity_owner_done_idx
    by_range: dict[tuple[date, date], list[int]] = {}
    for w in query.windows:
        start, end = max(w.start, query.start), min(w.end, query.end)
        if start <= end:
            by_range.setdefault((start, end), []).append(w.owner_id)
    q = Q(pk__in=[])
    for (start, end), owners in by_range.items():
        a, b = day_bounds(start, end)
        q |= Q(**{f"{owner_field}__in": sorted(owners), f"{dt_field}__gte": a, f"{dt_field}__lt": b})
    return q


def _deal_filters(query: FactQuery, prefix: str = "") -> Q:
    """The dashboard filters on deals (``prefix`` reaches the deal from another model)."""
    f = query.filters
    q = Q()
    if f.pipeline_ids:
        q &= Q(**{f"{prefix}pipeline_id__in": f.pipeline_ids})
    if f.region_ids:
        q &= Q(**{f"{prefix}account__region_id__in": f.region_ids})
    if f.sources:
        q &= Q(**{f"{prefix}account__source__in": f.sources})
    return q


def _linked_filters(query: FactQuery) -> Q:
    """The dashboard filters on a record linked to a deal and an account (activities,
    payments): the linked deal's pipeline, the record's own account's region and source."""
    f = query.filters
    q = Q()
    if f.pipeline_ids:
        q &= Q(opportunity__pipeline_id__in=f.pipeline_ids)
    if f.region_ids:
        q &= Q(account__region_id__in=f.region_ids)
    if f.sources:
        q &= Q(account__source__in=f.sources)
    return q


def _product_line_q(query: FactQuery, deal_ref: str = "pk") -> Q:
    if not query.filters.product_line_ids:
        return Q()
    lines = OpportunityLine.objects.filter(
        opportunity_id=OuterRef(deal_ref), product__category_id__in=query.filters.product_line_ids
    )
    return Q(Exists(lines))


def _money_facts(qs: QuerySet[Any], *, owner: str, day: str, amount: str, currency: str, query: FactQuery) -> Facts:
    """Group ``qs`` by (owner, currency, day), sum exactly, convert each day at its own rate.

    With ``query.per_day`` off, the company currency's amounts (which need no rate) are
    grouped per owner alone, dated ``query.start``; other currencies keep their days."""
    end = query.end
    day_expr: Any = _f(day)
    if not query.per_day:
        day_expr = Case(
            When(**{currency: company_currency()}, then=Value(query.start)), default=_f(day), output_field=DateField()
        )
    rows = (
        qs.values(fact_owner=_f(owner), currency_code=_f(currency), fact_day=day_expr)
        .annotate(n=row_count(), **money_sum_annotations("amt", amount))
        .order_by()
    )
    raw = list(rows)
    book = RateBook({r["currency_code"] for r in raw}, end)
    facts = Facts()
    merged: dict[tuple[int, date], list[Any]] = defaultdict(lambda: [Decimal(0), 0])
    for r in raw:
        value = book.convert(money_sum_value(r, "amt"), r["currency_code"], r["fact_day"])
        if value is None:
            facts.missing_rates.add(r["currency_code"])
            continue
        cell = merged[(r["fact_owner"], r["fact_day"])]
        cell[0] += value
        cell[1] += r["n"]
    facts.rows = [FactRow(o, d, v, n) for (o, d), (v, n) in sorted(merged.items())]
    return facts


def _count_facts(qs: QuerySet[Any], *, owner: str, day: str, query: FactQuery) -> Facts:
    """Count rows per owner and day, or per owner alone (dated ``query.start``) when the
    caller does not need the days (``FactQuery.per_day``)."""
    if not query.per_day:
        per_owner = qs.values_list(_f(owner)).annotate(n=row_count()).order_by()
        return Facts(
            rows=sorted((FactRow(o, query.start, Decimal(n), n) for o, n in per_owner), key=lambda r: r.owner_id)
        )
    rows = qs.values_list(_f(owner), _f(day)).annotate(n=row_count()).order_by()
    found = [FactRow(o, d, Decimal(n), n) for o, d, n in rows]
    return Facts(rows=sorted(found, key=lambda r: (r.owner_id, r.day)))


def _f(name: str) -> Any:
    from django.db.models import F

    return F(name)


# --- deals -----------------------------------------------------------------------------------


def won_deals_qs(query: FactQuery) -> QuerySet[Opportunity]:
    return Opportunity.objects.filter(
        query.owner_day_q("owner_id", "closed_on"),
        _deal_filters(query),
        _product_line_q(query),
        outcome=Outcome.WON,
        closed_on__isnull=False,
    )


def lost_deals_qs(query: FactQuery) -> QuerySet[Opportunity]:
    return Opportunity.objects.filter(
        query.owner_day_q("owner_id", "closed_on"),
        _deal_filters(query),
        _product_line_q(query),
        outcome=Outcome.LOST,
        closed_on__isnull=False,
    )


def first_wins_qs(query: FactQuery) -> QuerySet[Opportunity]:
    """Won deals in the query that are their account's first win (earliest close day, then id)."""
    earlier = Opportunity.objects.filter(account_id=OuterRef("account_id"), outcome=Outcome.WON).filter(
        Q(closed_on__lt=OuterRef("closed_on")) | Q(closed_on=OuterRef("closed_on"), pk__lt=OuterRef("pk"))
    )
    return won_deals_qs(query).filter(~Exists(earlier))


def new_pipeline_qs(query: FactQuery) -> QuerySet[Opportunity]:
    return Opportunity.objects.filter(
        _datetime_q(query, "owner_id", "created_at"), _deal_filters(query), _product_line_q(query)
    )


def _created_day(query: FactQuery) -> Any:
    return local_day("created_at", query.start, query.end)


def _won_revenue(query: FactQuery) -> Facts:
    return _money_facts(
        won_deals_qs(query), owner="owner_id", day="closed_on", amount="amount", currency="currency", query=query
    )


def _new_pipeline(query: FactQuery) -> Facts:
    qs = new_pipeline_qs(query).annotate(created_day=_created_day(query))
    return _money_facts(qs, owner="owner_id", day="created_day", amount="amount", currency="currency", query=query)


# --- activities ------------------------------------------------------------------------------


def activities_done_qs(query: FactQuery, kind: str | None = None) -> QuerySet[Activity]:
    qs = Activity.objects.filter(_datetime_q(query, "owner_id", "done_at"), done=True)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.filter(_linked_filters(query))


def _activity_facts(kind: str | None) -> Callable[[FactQuery], Facts]:
    def facts(query: FactQuery) -> Facts:
        qs = activities_done_qs(query, kind).annotate(done_day=local_day("done_at", query.start, query.end))
        return _count_facts(qs, owner="owner_id", day="done_day", query=query)

    return facts


# --- payments --------------------------------------------------------------------------------


def payments_qs(query: FactQuery) -> QuerySet[Payment]:
    qs = Payment.objects.filter(query.owner_day_q("owner_id", "received_on"), status=PaymentStatus.RECORDED)
    return qs.filter(_linked_filters(query))


def _collections(query: FactQuery) -> Facts:
    return _money_facts(
        payments_qs(query), owner="owner_id", day="received_on", amount="amount", currency="currency", query=query
    )


def register_core_metrics() -> None:
    """Declare the figures above (called from ``AnalyticsConfig.ready``)."""
    deal_filters = ALL_FILTERS
    other_filters = frozenset({"pipeline", "region", "source"})
    for metric in (
        Metric(
            key="won_revenue",
            label=_("Won revenue"),
            unit="money",
            record_kind="opportunity",
            facts=_won_revenue,
            records=won_deals_qs,
            honours=deal_filters,
            description=_("Amount of the deals won, on their actual close date."),
            order=10,
        ),
        Metric(
            key="collections",
            label=pgettext_lazy("metric", "Collections"),
            unit="money",
            record_kind="payment",
            facts=_collections,
            records=payments_qs,
            honours=other_filters,
            description=_("Payments received (回款), on the day received."),
            order=20,
        ),
        Metric(
            key="new_customers",
            label=_("New customers"),
            unit="count",
            record_kind="opportunity",
            facts=lambda q: _count_facts(first_wins_qs(q), owner="owner_id", day="closed_on", query=q),
            records=first_wins_qs,
            honours=deal_filters,
            description=_("Accounts whose first won deal closed in the period."),
            order=30,
        ),
        Metric(
            key="won_deals",
            label=_("Won deals"),
            unit="count",
            record_kind="opportunity",
            facts=lambda q: _count_facts(won_deals_qs(q), owner="owner_id", day="closed_on", query=q),
            records=won_deals_qs,
            honours=deal_filters,
            order=40,
        ),
        Metric(
            key="visits",
            label=_("Visits"),
            unit="count",
            record_kind="activity",
            facts=_activity_facts(ActivityKind.VISIT),
            records=lambda q: activities_done_qs(q, ActivityKind.VISIT),
            honours=other_filters,
            order=50,
        ),
        Metric(
            key="activities",
            label=_("Activities"),
            unit="count",
            record_kind="activity",
            facts=_activity_facts(None),
            records=lambda q: activities_done_qs(q),
            honours=other_filters,
            description=_("Activities done (calls, visits, meetings, demos, emails…)."),
            order=60,
        ),
        Metric(
            key="lost_deals",
            label=_("Lost deals"),
            unit="count",
            record_kind="opportunity",
            facts=lambda q: _count_facts(lost_deals_qs(q), owner="owner_id", day="closed_on", query=q),
            records=lost_deals_qs,
            honours=deal_filters,
            plannable=False,
            order=70,
        ),
        Metric(
            key="new_pipeline",
            label=pgettext_lazy("metric", "New pipeline"),
            unit="money",
            record_kind="opportunity",
            facts=_new_pipeline,
            records=new_pipeline_qs,
            honours=deal_filters,
            plannable=False,
            description=_("Amount of the deals created in the period."),
            order=80,
        ),
    ):
        register_metric(metric)
