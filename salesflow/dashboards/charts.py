"""The charts of the manager and rep dashboards (issue 10 item 5): each chart's data is ONE
:class:`Chart` — its table (typed columns and rows, exactly what the table view shows and the
CSV/XLSX export writes) and its series (what ECharts draws), with the drill-down link of every
bar or slice (``dashboards:records`` with the same filters).

Every figure comes from the metrics registry (``core.metrics``) or from one grouped query over
the same rows the registry counts, for the node and filters of :class:`AnalysisFilters`; the
caller has already checked the node (``analytics.selectors.node_for_user``). Figures are
aggregates: the same for every reader who may see the node, so they are cached per (chart,
filters, language, day) in :mod:`salesflow.dashboards.cache`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal, cast
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _

from salesflow.activities.choices import ActivityKind
from salesflow.analytics.forms import AnalysisFilters
from salesflow.analytics.metrics import activities_done_qs
from salesflow.analytics.selectors import (
    deal_stats,
    node_windows,
    open_deals_qs,
    pipeline_by_stage,
    user_names,
    won_lost_by_month,
)
from salesflow.core.metrics import FactQuery, all_metrics, row_count
from salesflow.core.periods import month_period, parse_period
from salesflow.core.selectors import RateBook
from salesflow.sales.models import Opportunity
from salesflow.scorecards.facts import stored_stage_conversion
from salesflow.targets.selectors import attainment

ColumnKind = Literal["text", "money", "int", "percent", "date", "days"]
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Column:
    label: str
    kind: ColumnKind = "text"


@dataclass
class Series:
    name: str
    data: list[Decimal | int | None]
    type: str = "bar"  # bar, line, funnel
    stack: str = ""
    links: list[str] = field(default_factory=list)  # one per category ("" = no drill-down)
    # extra ECharts series options merged as they are (markLine, markPoint, itemStyle, symbol,
    # lineStyle …): control limits, flagged points, a waterfall's invisible base (issue 11)
    echarts: dict[str, Any] = field(default_factory=dict)
    money: bool = False  # the data are amounts: dropped for a reader who sees no money


@dataclass
class Chart:
    key: str
    title: str
    columns: list[Column]
    rows: list[list[Any]]
    categories: list[str] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    row_links: list[str] = field(default_factory=list)  # one per table row ("" = none)
    note: str = ""
    figure: str = ""  # a headline figure shown above the chart (velocity)
    horizontal: bool = False
    # extra top-level ECharts options merged over the defaults (``xAxis``/``yAxis`` of a
    # scatter or a reliability diagram, ``visualMap``); plain JSON only (issue 11)
    echarts: dict[str, Any] = field(default_factory=dict)
    # per table row, when one table mixes units: "money" (every figure of the row is an
    # amount), "count" (the row's "money" columns hold counts), "" (the columns' kinds say)
    row_units: list[str] = field(default_factory=list)
    figure_money: bool = False  # the headline figure is an amount


# ------------------------------------------------------------------------------ helpers


def records_url(a: AnalysisFilters, metric: str, **extra: object) -> str:
    """The "records behind a figure" page for ``metric`` with the same filters."""
    params = {**a.params, "metric": metric, **{k: str(v) for k, v in extra.items() if v not in (None, "")}}
    return reverse("dashboards:records") + "?" + urlencode({k: v for k, v in params.items() if v})


def fact_query(a: AnalysisFilters, start: date | None = None, end: date | None = None) -> FactQuery:
    start, end = start or a.period.start, end or a.period.end
    return FactQuery(start=start, end=end, windows=node_windows(a.node, start, end), filters=a.filters)


def _ratio(num: Decimal | int, den: Decimal | int) -> Decimal | None:
    """``num / den`` as a percentage with one decimal, ``None`` when ``den`` is zero."""
    if not den:
        return None
    return (Decimal(num) * 100 / Decimal(den)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


# ------------------------------------------------------------------------------ charts


def attainment_chart(a: AnalysisFilters, today: date) -> Chart:
    """Actual vs target vs pace for every plannable metric (``targets.selectors.attainment``:
    the plan's target, the actual from the registry, the pace ``expected`` by today)."""
    rows: list[list[Any]] = []
    links: list[str] = []
    cats: list[str] = []
    actual_s: list[Decimal | int | None] = []
    target_s: list[Decimal | int | None] = []
    pace_s: list[Decimal | int | None] = []
    missing: set[str] = set()
    units: list[str] = []
    for metric in all_metrics(plannable=True):
        att = attainment(node=a.node, metric_key=metric.key, period=a.period, today=today, filters=a.filters)
        missing |= set(att.missing_rates)
        money = metric.unit == "money"
        units.append("" if money else "count")
        actual: Decimal | int = _money(att.actual) if money else int(att.actual)
        target = att.target
        expected = (
            None if att.expected is None else (_money(att.expected) if money else att.expected.quantize(Decimal("0.1")))
        )
        cats.append(str(metric.label))
        # drawn as a share of the target: money and counts on one axis (100 = the target)
        actual_s.append(_ratio(actual, target) if target else None)
        target_s.append(Decimal(100) if target else None)
        pace_s.append(_ratio(expected, target) if target and expected is not None else None)
        rows.append([str(metric.label), actual, target, expected, _ratio(actual, target) if target else None])
        links.append(records_url(a, metric.key, day_from=a.period.start.isoformat(), day_to=a.period.end.isoformat()))
    note = _("No plan sets targets for this period yet.") if all(r[2] is None for r in rows) else ""
    note = " ".join(x for x in (note, _missing_note(missing)) if x)
    return Chart(
        key="attainment",
        title=_("Attainment"),
        columns=[
            Column(_("Metric")),
            Column(_("Actual"), "money"),
            Column(_("Target"), "money"),
            Column(_("Expected by today"), "money"),
            Column(_("Attainment %"), "percent"),
        ],
        rows=rows,
        categories=cats,
        # without any target there is nothing to draw against: the table shows the actuals
        series=[]
        if all(t is None for t in target_s)
        else [
            Series(_("Actual"), actual_s, links=links),
            Series(_("Target"), target_s),
            Series(_("Pace"), pace_s, type="line"),
        ],
        row_links=links,
        row_units=units,
        note=note,
        horizontal=True,
    )


def _missing_note(missing: set[str]) -> str:
    return _("Left out for want of an exchange rate: %(c)s.") % {"c": ", ".join(sorted(missing))} if missing else ""


def _percent(fraction: Decimal | None) -> Decimal | None:
    """A 0–1 fraction (``analytics`` rates) as a percentage with one decimal."""
    return None if fraction is None else (fraction * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)


def pipeline_chart(a: AnalysisFilters, today: date) -> Chart:
    """Open deals now by stage of the analysis' pipeline: count, amount, weighted amount
    (``analytics.selectors.pipeline_by_stage``)."""
    found = pipeline_by_stage(analysis=a)
    missing: set[str] = set()
    rows: list[list[Any]] = []
    links: list[str] = []
    for r in found:
        missing |= r.missing_rates
        rows.append([r.name, r.count, _money(r.amount), _money(r.weighted)])
        links.append(records_url(a, "open_deals", stage=r.stage_id))
    return Chart(
        key="pipeline",
        title=_("Pipeline by stage"),
        columns=[
            Column(_("Stage")),
            Column(_("Deals"), "int"),
            Column(_("Amount"), "money"),
            Column(_("Weighted"), "money"),
        ],
        rows=rows,
        categories=[r[0] for r in rows],
        series=[
            Series(_("Amount"), [r[2] for r in rows], links=links, money=True),
            Series(_("Weighted"), [r[3] for r in rows], links=links, money=True),
        ],
        row_links=links,
        note=_missing_note(missing),
    )


def funnel_chart(a: AnalysisFilters, today: date) -> Chart:
    """Deals that entered each open stage in the period and the share that went further
    (``analytics.selectors.stage_conversion``; the company's ended months from the stored
    months of ``scorecards.facts``, whose fingerprints fall back to live; the totals only)."""
    steps, _per_owner = stored_stage_conversion(analysis=a, per_owner=False)
    rows: list[list[Any]] = []
    links: list[str] = []
    for step in steps:
        rows.append([step.name, step.entered, step.advanced, _percent(step.rate)])
        links.append(records_url(a, "entered_stage", stage=step.stage_id))
    return Chart(
        key="funnel",
        title=_("Funnel conversion"),
        columns=[
            Column(_("Stage")),
            Column(_("Deals entered"), "int"),
            Column(_("Went further"), "int"),
            Column(_("Conversion %"), "percent"),
        ],
        rows=rows,
        categories=[r[0] for r in rows],
        series=[Series(_("Deals entered"), [r[1] for r in rows], type="funnel", links=links)],
        row_links=links,
        note=_("Deals that entered each stage in the period, and how many of them reached a later stage or were won."),
    )


def _month_span(key: str) -> dict[str, str]:
    m = parse_period(key)
    return {"day_from": m.start.isoformat(), "day_to": m.end.isoformat()}


def won_lost_chart(a: AnalysisFilters, today: date) -> Chart:
    """Won and lost deals per month, the 12 months ending with the period's last month
    (``analytics.selectors.won_lost_by_month``)."""
    months = won_lost_by_month(analysis=a)
    rows: list[list[Any]] = []
    won_links: list[str] = []
    lost_links: list[str] = []
    missing: set[str] = set()
    for m in months:
        missing |= m.missing_rates
        rows.append([m.key, m.won_count, _money(m.won_amount), m.lost_count, _percent(m.win_rate)])
        won_links.append(records_url(a, "won_deals", **_month_span(m.key)))
        lost_links.append(records_url(a, "lost_deals", **_month_span(m.key)))
    return Chart(
        key="won_lost",
        title=_("Won and lost by month"),
        columns=[
            Column(_("Month")),
            Column(_("Won deals"), "int"),
            Column(_("Won revenue"), "money"),
            Column(_("Lost deals"), "int"),
            Column(_("Win rate %"), "percent"),
        ],
        rows=rows,
        categories=[m.key for m in months],
        series=[
            Series(_("Won deals"), [r[1] for r in rows], links=won_links),
            Series(_("Lost deals"), [r[3] for r in rows], links=lost_links),
        ],
        row_links=won_links,
        note=_missing_note(missing),
    )


def win_rate_chart(a: AnalysisFilters, today: date) -> Chart:
    months = won_lost_by_month(analysis=a)
    rows: list[list[Any]] = []
    links: list[str] = []
    for m in months:
        rows.append([m.key, m.won_count, m.lost_count, _percent(m.win_rate)])
        links.append(records_url(a, "won_deals", **_month_span(m.key)))
    return Chart(
        key="win_rate",
        title=_("Win rate by month"),
        columns=[
            Column(_("Month")),
            Column(_("Won deals"), "int"),
            Column(_("Lost deals"), "int"),
            Column(_("Win rate %"), "percent"),
        ],
        rows=rows,
        categories=[m.key for m in months],
        series=[Series(_("Win rate %"), [r[3] for r in rows], type="line", links=links)],
        row_links=links,
        note=_("Won ÷ (won + lost), deals closed in the month."),
    )


def velocity_chart(a: AnalysisFilters, today: date) -> Chart:
    """Sales velocity = open deals × win rate × average won amount ÷ sales cycle (days), from
    ``analytics.selectors.deal_stats``."""
    stats, _per_owner = deal_stats(analysis=a)
    span = {"day_from": a.period.start.isoformat(), "day_to": a.period.end.isoformat()}
    won = records_url(a, "won_deals", **span)
    rows: list[list[Any]] = [
        [_("Open deals"), stats.open_count],
        [_("Win rate %"), _percent(stats.win_rate)],
        [_("Average won amount"), stats.avg_won_amount],
        [_("Sales cycle (days)"), stats.cycle_days],
        [_("Sales velocity per day"), stats.velocity_per_day],
    ]
    return Chart(
        key="velocity",
        title=_("Sales velocity"),
        columns=[Column(_("Factor")), Column(_("Figure"), "text")],
        rows=rows,
        categories=[str(r[0]) for r in rows[:4]],
        series=[],
        row_links=[records_url(a, "open_deals"), won, won, won, ""],
        row_units=["", "", "money", "", "money"],
        figure="" if stats.velocity_per_day is None else f"{stats.velocity_per_day:,}",
        figure_money=True,
        note=" ".join(
            x
            for x in (
                _("Open deals × win rate × average won amount ÷ sales cycle: revenue per day the pipeline brings."),
                _missing_note(stats.missing_rates),
            )
            if x
        ),
    )


def activity_chart(a: AnalysisFilters, today: date) -> Chart:
    """Activities done in the period per rep, by kind (one grouped query)."""
    query = fact_query(a)
    grouped = list(activities_done_qs(query).values("owner_id", "kind").annotate(n=row_count()).order_by())
    kinds = [k for k in ActivityKind if any(r["kind"] == k.value for r in grouped)]
    per: dict[int, dict[str, int]] = defaultdict(dict)
    for r in grouped:
        per[r["owner_id"]][r["kind"]] = r["n"]
    names = user_names(per)
    owners = sorted(per, key=lambda pk: (-sum(per[pk].values()), names.get(pk, ""), pk))
    span = {"day_from": a.period.start.isoformat(), "day_to": a.period.end.isoformat()}
    rows, row_links = [], []
    for pk in owners:
        rows.append([names.get(pk, str(pk)), *[per[pk].get(k.value, 0) for k in kinds], sum(per[pk].values())])
        row_links.append(records_url(a, "activities", owner=pk, **span))
    series = [
        Series(
            str(k.label),
            [per[pk].get(k.value, 0) for pk in owners],
            stack="kind",
            links=[records_url(a, "activities", owner=pk, activity_kind=k.value, **span) for pk in owners],
        )
        for k in kinds
    ]
    return Chart(
        key="activity",
        title=_("Activity volume by rep"),
        columns=[Column(_("Salesperson")), *[Column(str(k.label), "int") for k in kinds], Column(_("Total"), "int")],
        rows=rows,
        categories=[names.get(pk, str(pk)) for pk in owners],
        series=series,
        row_links=row_links,
        horizontal=True,
    )


TOP_DEALS = 10


def top_deals_chart(a: AnalysisFilters, today: date) -> Chart:
    """Open deals expected to close this month, biggest first (in the company currency)."""
    this_month = month_period(today.year, today.month)
    qs = open_deals_qs(a).filter(expected_close_date__gte=this_month.start, expected_close_date__lte=this_month.end)
    # biggest first in the company currency: the top few of each currency, converted, merged
    currencies = list(qs.values_list("currency", flat=True).distinct().order_by())
    book = RateBook(currencies, today)
    found: list[tuple[Decimal, Opportunity]] = []
    for currency in currencies:
        for opp in (
            qs.filter(currency=currency)
            .select_related("account", "owner", "stage")
            .order_by("-amount", "pk")[:TOP_DEALS]
        ):
            value = book.convert(opp.amount, currency, today)
            if value is not None:
                found.append((value, opp))
    found.sort(key=lambda t: (-t[0], t[1].pk))
    found = found[:TOP_DEALS]
    rows, links = [], []
    for value, opp in found:
        rows.append(
            [opp.name, str(opp.account), str(opp.owner), str(opp.stage), opp.expected_close_date, _money(value)]
        )
        links.append(reverse("opportunities:detail", args=[opp.pk]))
    return Chart(
        key="top_deals",
        title=_("Top deals closing this month"),
        columns=[
            Column(_("Deal")),
            Column(_("Account")),
            Column(_("Owner")),
            Column(_("Stage")),
            Column(_("Expected close date"), "date"),
            Column(_("Amount"), "money"),
        ],
        rows=rows,
        categories=[str(r[0]) for r in rows],
        series=[Series(_("Amount"), [cast(Decimal, r[5]) for r in rows], links=links, money=True)],
        row_links=links,
        horizontal=True,
        note=_("Open deals expected to close in %(month)s.") % {"month": this_month.key},
    )


CHARTS: dict[str, Callable[[AnalysisFilters, date], Chart]] = {
    "attainment": attainment_chart,
    "pipeline": pipeline_chart,
    "funnel": funnel_chart,
    "won_lost": won_lost_chart,
    "win_rate": win_rate_chart,
    "velocity": velocity_chart,
    "activity": activity_chart,
    "top_deals": top_deals_chart,
}
#: the rep dashboard leaves out the per-rep comparison
REP_CHARTS = [k for k in CHARTS if k != "activity"] + ["activity"]


def widest_node_key(user: Any) -> str:
    """The default node of the dashboard: the company when the reader sees it, else the
    top-most team they see (a team whose parent they do not see; first by name), else
    themselves."""
    from salesflow.analytics.selectors import nodes_visible_to
    from salesflow.users.models import Team

    nodes = nodes_visible_to(user)
    if any(n.kind == "company" for n in nodes):
        return "company"
    team_ids = {n.id for n in nodes if n.kind == "team"}
    if team_ids:
        parents = dict(Team.objects.filter(pk__in=team_ids).values_list("pk", "parent_id"))
        for n in nodes:  # nodes are sorted by name
            if n.kind == "team" and n.id is not None and parents.get(n.id) not in team_ids:
                return n.key
    return f"rep:{user.pk}"
