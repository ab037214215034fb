"""Reports (报表, issue 10): descriptive sales, won/lost analysis, sales velocity and cycle
time, activities. Each report is a :class:`ReportTable` built from an ``AnalysisFilters``
(the one filter form) and the report's own ``dimension``, by ONE grouped aggregate over
the same querysets as the metrics registry (``analytics.metrics``), so a report agrees with
the dashboards and plans:

* closed deals count on their actual close date by their current owner, within the node's
  owner windows (team at the time); reopened deals have no close date and drop out;
* amounts are in the company currency, each group of one currency and close day converted
  at the rate of that day (company-currency groups need no day); currencies without a rate
  are left out and named (``missing_rates``);
* activities count on the day they were done in the company time zone.

The page, the export (CSV/XLSX) and the API read the same table, so they show the same
figures. Tables are bounded: the by-customer and by-product reports keep the
:data:`MAX_ROWS` largest rows and sum the rest into one "all others" row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from django.db.models import Case, Count, DateField, F, Q, QuerySet, Value, When
from django.http import Http404
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from salesflow.activities.choices import ActivityKind
from salesflow.analytics.forms import AnalysisFilters, ReportFilterForm
from salesflow.analytics.metrics import activities_done_qs, day_bounds, lost_deals_qs, won_deals_qs
from salesflow.analytics.selectors import (
    CENTS,
    DealStats,
    analysis_fact_query,
    closed_deals_qs,
    deal_stats,
    user_names,
)
from salesflow.billing.permissions import sees_no_money
from salesflow.catalogue.models import OpportunityLine, Product, ProductCategory
from salesflow.core.errors import ValidationFailed
from salesflow.core.metrics import row_count
from salesflow.core.money import company_currency, money_sum_annotations, money_sum_value
from salesflow.core.periods import Period, period_containing
from salesflow.core.selectors import RateBook
from salesflow.parties.choices import SourceChannel
from salesflow.parties.models import Account
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Competitor, LostReason, Opportunity
from salesflow.users.models import Territory, User

Kind = Literal["text", "int", "money", "percent", "days"]
#: the largest rows kept by the by-customer and by-product reports (the rest: one row)
MAX_ROWS = 500
PCT = Decimal("0.01")
#: the key of the row that sums the rows beyond MAX_ROWS
OTHERS = "\x00others"


@dataclass(frozen=True)
class Col:
    key: str
    label: str
    kind: Kind = "text"


@dataclass
class ReportTable:
    """A report's figures: ``rows`` (lists in ``columns`` order) and ``totals`` (or None)."""

    name: str
    title: str
    dimension: str
    columns: list[Col]
    rows: list[list[Any]] = field(default_factory=list)
    totals: list[Any] | None = None
    missing_rates: set[str] = field(default_factory=set)
    formula: str = ""
    truncated: int = 0  # rows summed into "all others"
    #: per row, the drill-down to the records behind its figure (``dashboards:records``
    #: parameters besides the analysis filters: ``metric`` and ``owner``, ``day_from``/``day_to``
    #: or ``group``), ``None`` for a row without one ("all others"); the figure is the row's
    #: first count column
    drills: list[dict[str, str] | None] = field(default_factory=list)

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip((c.key for c in self.columns), row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class ReportDef:
    name: str
    title: str | Promise
    description: str | Promise
    dimensions: tuple[tuple[str, str | Promise], ...]
    build: Callable[[AnalysisFilters, str], ReportTable]
    record_kind: str  # what the saved list's records are: "opportunity" or "activity"


def _pct(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(PCT, rounding=ROUND_HALF_UP)


def _drill(metric: str, **extra: object) -> dict[str, str]:
    return {"metric": metric, **{k: str(v) for k, v in extra.items() if v is not None}}


def _span(period: Period, analysis: AnalysisFilters) -> dict[str, str]:
    """A time bucket clipped to the analysis period (the days its figure counts)."""
    return {
        "day_from": max(period.start, analysis.period.start).isoformat(),
        "day_to": min(period.end, analysis.period.end).isoformat(),
    }


def _money(label: str) -> str:
    return f"{label} ({company_currency()})"


# --- grouped money -------------------------------------------------------------------------


def money_groups(
    qs: QuerySet[Any],
    dims: dict[str, Any],
    *,
    end: date,
    amount: str = "amount",
    currency: str = "currency",
    day: str = "closed_on",
    count: Any = None,
) -> tuple[dict[tuple[Any, ...], list[Any]], set[str]]:
    """ONE query: ``qs`` grouped by ``dims`` × currency × (close day, only for foreign
    currencies), summed exactly, each group converted at its day's rate. Returns
    ``{dims values: [count, amount]}`` and the currencies without a rate."""
    company = company_currency()
    day_expr = Case(When(**{currency: company}, then=Value(None)), default=F(day), output_field=DateField())
    rows = list(
        qs.values(**dims, g_cur=F(currency), g_day=day_expr)
        .annotate(n=count if count is not None else row_count(), **money_sum_annotations("amt", amount))
        .order_by()
    )
    book = RateBook({r["g_cur"] for r in rows}, end)
    result: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, Decimal("0.00")])
    missing: set[str] = set()
    for r in rows:
        key = tuple(r[k] for k in dims)
        cell = result[key]
        cell[0] += r["n"]
        value = book.convert(money_sum_value(r, "amt"), r["g_cur"], r["g_day"] or end)
        if value is None:
            missing.add(r["g_cur"])
        else:
            cell[1] += value
    return dict(result), missing


# --- descriptive: won revenue and deals by a dimension ---------------------------------------

SALES_DIMENSIONS: tuple[tuple[str, str | Promise], ...] = (
    ("rep", gettext_lazy("Rep")),
    ("month", gettext_lazy("Month")),
    ("quarter", gettext_lazy("Quarter")),
    ("week", gettext_lazy("Week")),
    ("product", gettext_lazy("Product")),
    ("product_line", gettext_lazy("Product line")),
    ("region", gettext_lazy("Region")),
    ("customer", pgettext_lazy("report dimension", "Customer")),
    ("source", gettext_lazy("Source")),
)


def _time_buckets(period: Period, grain: str) -> list[Period]:
    """The months, quarters or weeks (``core.periods``) that overlap ``period``, in order."""
    out: list[Period] = []
    day = period.start
    while day <= period.end:
        bucket = period_containing(grain, day)  # type: ignore[arg-type]
        out.append(bucket)
        day = bucket.end + timedelta(days=1)
    return out


def _bounded(rows: list[list[Any]], amount_index: int, other_label: str) -> tuple[list[list[Any]], int]:
    """Keep the :data:`MAX_ROWS` largest rows (by amount), the rest summed into one row."""
    rows.sort(key=lambda r: (-r[amount_index], str(r[0])))  # largest first, then by key
    if len(rows) <= MAX_ROWS:
        return rows, 0
    kept, rest = rows[:MAX_ROWS], rows[MAX_ROWS:]
    other = [other_label] + [
        sum((r[i] for r in rest), start=type(rest[0][i])(0)) if isinstance(rest[0][i], int | Decimal) else None
        for i in range(1, len(rows[0]))
    ]
    return [*kept, other], len(rest)


def sales_report(analysis: AnalysisFilters, dimension: str) -> ReportTable:
    """Won revenue and won deals by ``dimension``; product and product line read the deal
    lines' totals (a deal without lines counts in one "no product lines" row)."""
    query = analysis_fact_query(analysis)
    won = won_deals_qs(query)
    label = dict(SALES_DIMENSIONS).get(dimension, "")
    table = ReportTable(
        "sales",
        _("Won deals by %(dimension)s") % {"dimension": str(label).lower()},
        dimension,
        [
            Col("label", str(label)),
            Col("won_count", _("Won deals"), "int"),
            Col("won_amount", _money(_("Won revenue")), "money"),
            Col("share", _("Share of revenue (%)"), "percent"),
            Col("average", _money(_("Average won amount")), "money"),
        ],
    )
    end = query.end
    rows: list[list[Any]] = []
    if dimension in ("product", "product_line"):
        lines = OpportunityLine.objects.filter(opportunity__in=won.values("pk"))
        if analysis.filters.product_line_ids:
            lines = lines.filter(product__category_id__in=analysis.filters.product_line_ids)
        ref = "product_id" if dimension == "product" else "product__category_id"
        groups, table.missing_rates = money_groups(
            lines,
            {"g_key": F(ref)},
            end=end,
            amount="total",
            currency="opportunity__currency",
            day="opportunity__closed_on",
            count=Count("opportunity_id", distinct=True),
        )
        no_lines, missing = money_groups(won.filter(lines__isnull=True), {}, end=end)
        table.missing_rates |= missing
        ids = [k[0] for k in groups if k[0] is not None]
        model = Product if dimension == "product" else ProductCategory
        products = {o.pk: str(o) for o in model.objects.filter(pk__in=ids)}
        drill_of: dict[str, dict[str, str] | None] = {}
        for (key,), (n, amount) in groups.items():
            name = products.get(key, "") if key is not None else _("(no product)")
            rows.append([name, n, amount])
            drill_of[str(name)] = _drill("won_deals", group=f"{dimension}:{key if key is not None else ''}")
        if () in no_lines and no_lines[()][0]:
            name = _("(deal without product lines)")
            rows.append([name, no_lines[()][0], no_lines[()][1]])
            drill_of[str(name)] = _drill("won_deals", group="no_lines:")
        rows, table.truncated = _bounded(rows, 2, str(_("(all others)")))
        table.drills = [drill_of.get(str(r[0])) for r in rows]
    elif dimension in ("month", "quarter", "week"):
        groups, table.missing_rates = money_groups(won, {"g_day2": F("closed_on")}, end=end)
        buckets = _time_buckets(analysis.period, dimension)
        table.drills = [_drill("won_deals", **_span(p, analysis)) for p in buckets]
        cells = {p.key: [p.label, 0, Decimal("0.00")] for p in buckets}
        for (day,), (n, amount) in groups.items():
            for p in buckets:
                if p.contains(day):
                    cells[p.key][1] += n
                    cells[p.key][2] += amount
                    break
        rows = list(cells.values())
    else:
        ref = {
            "rep": "owner_id",
            "region": "account__region_id",
            "customer": "account_id",
            "source": "account__source",
        }.get(dimension, "owner_id")
        groups, table.missing_rates = money_groups(won, {"g_key": F(ref)}, end=end)
        keyed: list[list[Any]] = [[key, n, amount] for (key,), (n, amount) in groups.items()]
        keyed, table.truncated = _bounded(keyed, 2, OTHERS)
        keys = [r[0] for r in keyed if r[0] not in (None, "", OTHERS)]
        if dimension == "rep":
            names: dict[Any, str] = dict(user_names(keys))
        elif dimension == "region":
            names = dict(Territory.objects.filter(pk__in=keys).values_list("pk", "name"))
        elif dimension == "customer":
            names = dict(Account.objects.filter(pk__in=keys).values_list("pk", "name"))
        else:
            names = {str(k): str(v) for k, v in SourceChannel.choices}
        for key, n, amount in keyed:
            if key == OTHERS:
                name = _("(all others)")
            elif key in (None, ""):
                name = _("(not set)")
            else:
                name = names.get(key, str(key))
            rows.append([name, n, amount])
            if key == OTHERS:
                table.drills.append(None)
            elif dimension == "rep":
                table.drills.append(_drill("won_deals", owner=key))
            else:
                table.drills.append(_drill("won_deals", group=f"{dimension}:{'' if key is None else key}"))
    total_amount = sum((r[2] for r in rows), Decimal("0.00"))
    # a deal with two products counts in both rows, once in the total
    deals = won.count() if dimension in ("product", "product_line") else sum(r[1] for r in rows)
    for r in rows:
        r.extend([_pct(r[2], total_amount), (r[2] / r[1]).quantize(CENTS, rounding=ROUND_HALF_UP) if r[1] else None])
    table.rows = rows
    table.totals = [
        _("Total"),
        deals,
        total_amount,
        Decimal("100.00") if total_amount else None,
        (total_amount / deals).quantize(CENTS, rounding=ROUND_HALF_UP) if deals else None,
    ]
    return table


# --- won / lost analysis -----------------------------------------------------------------------

WON_LOST_DIMENSIONS: tuple[tuple[str, str | Promise], ...] = (
    ("reason", gettext_lazy("Lost reason")),
    ("competitor", gettext_lazy("Competitor")),
)


def won_lost_report(analysis: AnalysisFilters, dimension: str) -> ReportTable:
    """Lost deals by reason (count, amount, shares) or the deals closed against each
    competitor (won, lost, win rate against it, lost to it and its share of all losses)."""
    query = analysis_fact_query(analysis)
    lost = lost_deals_qs(query)
    if dimension == "competitor":
        return _competitor_report(analysis, query)
    groups, missing = money_groups(lost, {"g_key": F("lost_reason_id")}, end=query.end)
    names = {r.pk: str(r) for r in LostReason.objects.filter(pk__in=[k[0] for k in groups if k[0]])}
    total_n = sum(v[0] for v in groups.values())
    total_amount = sum((v[1] for v in groups.values()), Decimal("0.00"))
    keyed = [
        (
            key,
            [
                names.get(key, _("(not set)")) if key else _("(not set)"),
                n,
                amount,
                _pct(n, total_n),
                _pct(amount, total_amount),
            ],
        )
        for (key,), (n, amount) in groups.items()
    ]
    keyed.sort(key=lambda kr: (-kr[1][1], -kr[1][2], str(kr[1][0])))
    rows = [r for _k, r in keyed]
    return ReportTable(
        "won_lost",
        _("Lost deals by reason"),
        "reason",
        [
            Col("label", _("Lost reason")),
            Col("lost_count", _("Lost deals"), "int"),
            Col("lost_amount", _money(_("Lost amount")), "money"),
            Col("count_share", _("Share of lost deals (%)"), "percent"),
            Col("amount_share", _("Share of lost amount (%)"), "percent"),
        ],
        rows=rows,
        drills=[_drill("lost_deals", group=f"lost_reason:{k or ''}") for k, _r in keyed],
        totals=[
            _("Total"),
            total_n,
            total_amount,
            Decimal("100.00") if total_n else None,
            Decimal("100.00") if total_amount else None,
        ],
        missing_rates=missing,
    )


def _competitor_report(analysis: AnalysisFilters, query: Any) -> ReportTable:
    lost = lost_deals_qs(query)
    lost_to, missing = money_groups(lost, {"g_key": F("lost_to_id")}, end=query.end)
    through = Opportunity.competitors.through
    faced = (
        through.objects.filter(opportunity__in=closed_deals_qs(query).values("pk"))
        .values("competitor_id", "opportunity__outcome")
        .annotate(n=Count("opportunity_id", distinct=True))
        .order_by()
    )
    met: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for r in faced:
        met[r["competitor_id"]][0 if r["opportunity__outcome"] == Outcome.WON else 1] += r["n"]
    ids = {k[0] for k in lost_to if k[0]} | set(met)
    names = dict(Competitor.objects.filter(pk__in=ids).values_list("pk", "name"))
    total_lost = sum(v[0] for v in lost_to.values())
    total_lost_amount = sum((v[1] for v in lost_to.values()), Decimal("0.00"))
    rows: list[list[Any]] = []
    for pk in ids:
        won_n, lost_n = met.get(pk, [0, 0])
        n_to, amount_to = lost_to.get((pk,), [0, Decimal("0.00")])
        rows.append(
            [
                names.get(pk, ""),
                won_n + lost_n,
                won_n,
                lost_n,
                _pct(won_n, won_n + lost_n),
                n_to,
                amount_to,
                _pct(n_to, total_lost),
            ]
        )
    order = sorted(range(len(rows)), key=lambda i: (-rows[i][5], -rows[i][1], str(rows[i][0])))
    pks = list(ids)
    drills: list[dict[str, str] | None] = [_drill("closed_deals", group=f"competitor:{pks[i]}") for i in order]
    rows = [rows[i] for i in order]
    none_n, none_amount = lost_to.get((None,), [0, Decimal("0.00")])
    if none_n:
        rows.append(
            [_("(no competitor recorded)"), None, None, None, None, none_n, none_amount, _pct(none_n, total_lost)]
        )
        drills.append(_drill("lost_deals", group="lost_to:"))
    return ReportTable(
        "won_lost",
        _("Won and lost against competitors"),
        "competitor",
        [
            Col("label", _("Competitor")),
            Col("faced", _("Closed deals against it"), "int"),
            Col("won", _("Won against it"), "int"),
            Col("lost", _("Lost against it"), "int"),
            Col("win_rate", _("Win rate against it (%)"), "percent"),
            Col("lost_to", _("Lost to it"), "int"),
            Col("lost_to_amount", _money(_("Amount lost to it")), "money"),
            Col("lost_share", _("Share of all losses (%)"), "percent"),
        ],
        rows=rows,
        drills=drills,
        totals=[
            _("Total"),
            None,
            None,
            None,
            None,
            total_lost,
            total_lost_amount,
            Decimal("100.00") if total_lost else None,
        ],
        missing_rates=missing,
    )


# --- sales velocity and cycle time -------------------------------------------------------------

VELOCITY_DIMENSIONS: tuple[tuple[str, str | Promise], ...] = (("rep", gettext_lazy("Rep")),)


def _stats_row(label: str, s: DealStats) -> list[Any]:
    return [
        label,
        s.won_count,
        s.lost_count,
        None if s.win_rate is None else (s.win_rate * 100).quantize(PCT),
        s.avg_won_amount,
        s.cycle_days,
        s.open_count,
        s.open_amount,
        s.velocity_per_day,
    ]


def velocity_report(analysis: AnalysisFilters, dimension: str) -> ReportTable:
    total, per_owner = deal_stats(analysis=analysis)
    names = user_names(per_owner)
    keyed = sorted(
        ((pk, _stats_row(names.get(pk, str(pk)), s)) for pk, s in per_owner.items()),
        key=lambda kr: (-(kr[1][8] or 0), str(kr[1][0])),
    )
    rows = [r for _pk, r in keyed]
    return ReportTable(
        "velocity",
        _("Sales velocity and cycle time"),
        "rep",
        [
            Col("label", _("Rep")),
            Col("won_count", _("Won deals"), "int"),
            Col("lost_count", _("Lost deals"), "int"),
            Col("win_rate", _("Win rate (%)"), "percent"),
            Col("avg_won_amount", _money(_("Average won amount")), "money"),
            Col("cycle_days", _("Cycle time (days)"), "days"),
            Col("open_count", _("Open deals now"), "int"),
            Col("open_amount", _money(_("Open amount")), "money"),
            Col("velocity", _money(_("Velocity per day")), "money"),
        ],
        rows=rows,
        drills=[_drill("won_deals", owner=pk) for pk, _r in keyed],
        totals=_stats_row(_("Total"), total),
        missing_rates=set(total.missing_rates),
        formula=_(
            "Sales velocity per day = open deals × win rate × average won amount ÷ cycle time (days). "
            "Win rate = won ÷ (won + lost) of the deals closed in the period; cycle time = mean days "
            "from creation to the close date of the deals won in the period; open deals are those "
            "open now, owned by the team's current members."
        ),
    )


# --- activities ----------------------------------------------------------------------------------

ACTIVITY_DIMENSIONS: tuple[tuple[str, str | Promise], ...] = (
    ("rep", gettext_lazy("Rep")),
    ("week", gettext_lazy("Week")),
    ("month", gettext_lazy("Month")),
)


def activities_report(analysis: AnalysisFilters, dimension: str) -> ReportTable:
    """Activities done by kind × rep (or × week / month, company time zone): one query."""
    query = analysis_fact_query(analysis)
    qs = activities_done_qs(query)
    kinds = list(ActivityKind)
    columns = [Col("label", str(dict(ACTIVITY_DIMENSIONS).get(dimension, "")))]
    columns += [Col(f"kind_{k.value}", str(k.label), "int") for k in kinds]
    columns.append(Col("total", _("Total"), "int"))
    table = ReportTable(
        "activities",
        _("Activities done by type and %(dimension)s")
        % {"dimension": str(dict(ACTIVITY_DIMENSIONS)[dimension]).lower()},
        dimension,
        columns,
    )
    index = {k.value: i + 1 for i, k in enumerate(kinds)}
    width = len(columns)
    if dimension == "rep":
        grouped = qs.values("owner_id", "kind").annotate(n=row_count()).order_by()
        cells: dict[Any, list[Any]] = {}
        for r in grouped:
            row = cells.setdefault(r["owner_id"], [r["owner_id"]] + [0] * (width - 1))
            if r["kind"] in index:
                row[index[r["kind"]]] += r["n"]
                row[-1] += r["n"]
        names = user_names(cells)
        keyed = sorted(
            ((pk, [names.get(pk, str(pk)), *row[1:]]) for pk, row in cells.items()),
            key=lambda kr: (-kr[1][-1], str(kr[1][0])),
        )
        rows = [r for _pk, r in keyed]
        table.drills = [_drill("activities", owner=pk) for pk, _r in keyed]
    else:
        # one query: a conditional count per bucket over the indexed done_at range (the
        # company-zone day bounds), no per-row date conversion
        buckets = _time_buckets(analysis.period, dimension)
        counts = {}
        for i, p in enumerate(buckets):
            lo, hi = day_bounds(max(p.start, analysis.period.start), min(p.end, analysis.period.end))
            counts[f"b{i}"] = Count("pk", filter=Q(done_at__gte=lo, done_at__lt=hi))
        by_kind = qs.values("kind").annotate(**counts).order_by()
        by_key = {p.key: [p.label] + [0] * (width - 1) for p in buckets}
        for r in by_kind:
            if r["kind"] not in index:
                continue
            for i, p in enumerate(buckets):
                row = by_key[p.key]
                row[index[r["kind"]]] += r[f"b{i}"]
                row[-1] += r[f"b{i}"]
        rows = list(by_key.values())
        table.drills = [_drill("activities", **_span(p, analysis)) for p in buckets]
    table.rows = rows
    table.totals = [_("Total")] + [sum(r[i] for r in rows) for i in range(1, width)]
    return table


# --- the registry of reports ---------------------------------------------------------------------

REPORTS: dict[str, ReportDef] = {
    "sales": ReportDef(
        "sales",
        gettext_lazy("Sales"),
        gettext_lazy("Won revenue and won deals by product, region, time, rep, customer or source."),
        SALES_DIMENSIONS,
        sales_report,
        "opportunity",
    ),
    "won_lost": ReportDef(
        "won_lost",
        gettext_lazy("Won and lost analysis"),
        gettext_lazy("Lost deals by reason; won and lost against each competitor."),
        WON_LOST_DIMENSIONS,
        won_lost_report,
        "opportunity",
    ),
    "velocity": ReportDef(
        "velocity",
        gettext_lazy("Sales velocity"),
        gettext_lazy("Win rate, average won amount, cycle time and sales velocity per rep."),
        VELOCITY_DIMENSIONS,
        velocity_report,
        "opportunity",
    ),
    "activities": ReportDef(
        "activities",
        gettext_lazy("Activities"),
        gettext_lazy("Activities done (visits, calls, meetings…) by type and rep or week."),
        ACTIVITY_DIMENSIONS,
        activities_report,
        "activity",
    ),
}


def build_report(name: str, analysis: AnalysisFilters, dimension: str) -> ReportTable:
    """The report ``name`` (a key of :data:`REPORTS`) for ``analysis`` and ``dimension``."""
    report = REPORTS[name]
    return report.build(analysis, dimension)


def report_records(name: str, analysis: AnalysisFilters, dimension: str) -> QuerySet[Any]:
    """The records behind the report (not narrowed by visibility: the caller does):
    won deals, lost deals, closed deals or activities done."""
    query = analysis_fact_query(analysis)
    if name == "activities":
        return activities_done_qs(query)
    if name == "won_lost":
        return lost_deals_qs(query) if dimension == "reason" else closed_deals_qs(query)
    if name == "velocity":
        return closed_deals_qs(query)
    return won_deals_qs(query)


def report_form(user: User, name: str, data: Any) -> ReportFilterForm:
    if name not in REPORTS:
        raise Http404
    return ReportFilterForm(data, user=user, dimensions=REPORTS[name].dimensions)


def report_for(user: User, name: str, data: Any) -> tuple[ReportFilterForm, AnalysisFilters, ReportTable]:
    """The report ``name`` for the query parameters ``data``: ``ValidationFailed`` naming
    the fields for bad parameters, ``Http404`` for an unknown report or an unseen node."""
    form = report_form(user, name, data)
    if not form.is_valid():
        raise ValidationFailed(
            _("The input is not valid."),
            field_errors={k: [str(m) for m in v] for k, v in form.errors.items()},
        )
    analysis = form.analysis()
    table = build_report(name, analysis, form.cleaned_data["dimension"])
    return form, analysis, without_money(table) if sees_no_money(user) else table


def without_money(table: ReportTable) -> ReportTable:
    """``table`` with every amount ``None`` (the cells of its "money" columns, totals too), for
    a reader who sees no money (support; ``billing.permissions.sees_no_money``). Counts, rates
    and days stay. The page, the export and the API all read the table through
    :func:`report_for`, so none of them shows an amount."""
    hidden = {i for i, col in enumerate(table.columns) if col.kind == "money"}

    def blank(row: list[Any]) -> list[Any]:
        return [None if i in hidden else cell for i, cell in enumerate(row)]

    table.rows = [blank(row) for row in table.rows]
    if table.totals is not None:
        table.totals = blank(table.totals)
    return table
