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

import importlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal, cast
from urllib.parse import urlencode

from django.db.models import Count, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from salesflow.activities.choices import ActivityKind
from salesflow.analytics.forms import AnalysisFilters
from salesflow.analytics.metrics import _deal_filters, _product_line_q, activities_done_qs
from salesflow.analytics.selectors import Node, actuals_by_period, node_windows, user_names
from salesflow.core.metrics import FactQuery, MetricFilters, all_metrics, get_metric
from salesflow.core.money import money_sum_annotations, money_sum_value
from salesflow.core.periods import Period, elapsed_fraction, month_period, months_between
from salesflow.core.selectors import RateBook
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Opportunity, Stage, StageChange

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


# ------------------------------------------------------------------------------ helpers


def records_url(a: AnalysisFilters, metric: str, **extra: object) -> str:
    """The "records behind a figure" page for ``metric`` with the same filters."""
    params = {**a.params, "metric": metric, **{k: str(v) for k, v in extra.items() if v not in (None, "")}}
    return reverse("dashboards:records") + "?" + urlencode({k: v for k, v in params.items() if v})


def current_owner_ids(node: Node, today: date) -> set[int] | None:
    """Owners of the node's open deals: the people in the node today (``None``: everyone)."""
    windows = node_windows(node, today, today)
    return None if windows is None else {w.owner_id for w in windows}


def open_deals_qs(node: Node, filters: MetricFilters, today: date) -> QuerySet[Opportunity]:
    """Open deals of the node's current members with the dashboard filters (pipeline chart,
    top deals, velocity's open deals): the rows behind the ``open_deals`` figure."""
    query = FactQuery(start=today, end=today, filters=filters)
    qs = Opportunity.objects.filter(_deal_filters(query), _product_line_q(query), outcome=Outcome.OPEN)
    owners = current_owner_ids(node, today)
    if owners is not None:
        qs = qs.filter(owner_id__in=sorted(owners))
    return qs


def cohort_qs(a: AnalysisFilters) -> QuerySet[Opportunity]:
    """Deals created in the period by the node (the funnel's cohort): ``new_pipeline``'s rows."""
    return get_metric("new_pipeline").records(fact_query(a))


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


def trailing_months(period: Period, today: date, n: int = 12) -> list[Period]:
    """The ``n`` months ending with the period's last month (or this month if the period runs on)."""
    last = min(period.end, max(today, period.start))
    y, m = last.year, last.month - (n - 1)
    while m < 1:
        y, m = y - 1, m + 12
    return months_between(month_period(y, m).start, last)


def _targets_module() -> Any | None:
    """``salesflow.targets.selectors`` when the targets app provides ``attainment``."""
    try:
        module = importlib.import_module("salesflow.targets.selectors")
    except ImportError:
        return None
    return module if hasattr(module, "attainment") else None


# ------------------------------------------------------------------------------ charts


def attainment_chart(a: AnalysisFilters, today: date) -> Chart:
    """Actual vs target vs pace for every plannable metric (target from ``targets``)."""
    targets = _targets_module()
    pace = elapsed_fraction(a.period, today)
    rows: list[list[Any]] = []
    links: list[str] = []
    cats: list[str] = []
    actual_s: list[Decimal | int | None] = []
    target_s: list[Decimal | int | None] = []
    pace_s: list[Decimal | int | None] = []
    missing: set[str] = set()
    for metric in all_metrics(plannable=True):
        found = actuals_by_period(metric.key, a.node, [a.period], a.filters)[a.period.key]
        missing |= found.missing_rates
        target: Decimal | None = None
        if targets is not None:
            try:
                att = targets.attainment(
                    node=a.node, metric_key=metric.key, period=a.period, today=today, filters=a.filters
                )
                target = att.target
            except Exception:
                target = None
        actual = _money(found.value) if metric.unit == "money" else int(found.value)
        expected = None if target is None else _money(target * pace)
        cats.append(str(metric.label))
        # the chart draws each metric as a share of its target (money and counts on one axis)
        actual_s.append(_ratio(actual, target) if target else None)
        target_s.append(Decimal(100) if target else None)
        pace_s.append(_ratio(expected, target) if target and expected is not None else None)
        rows.append([str(metric.label), actual, target, expected, _ratio(actual, target) if target else None])
        link = records_url(a, metric.key, day_from=a.period.start.isoformat(), day_to=a.period.end.isoformat())
        links.append(link)
    note = _("No plan sets targets for this period yet.") if targets is None or all(r[2] is None for r in rows) else ""
    if missing:
        note = (
            note + " " + _("Left out for want of an exchange rate: %(c)s.") % {"c": ", ".join(sorted(missing))}
        ).strip()
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
        series=[
            Series(_("Actual"), actual_s, links=links),
            Series(_("Target"), target_s),
            Series(_("Pace"), pace_s, type="line"),
        ],
        row_links=links,
        note=note,
        horizontal=True,
    )


def pipeline_chart(a: AnalysisFilters, today: date) -> Chart:
    """Open deals by stage today: count, amount and weighted amount (stage probability)."""
    qs = open_deals_qs(a.node, a.filters, today)
    grouped = list(
        qs.values("stage_id", "currency").annotate(n=Count("pk"), **money_sum_annotations("amt", "amount")).order_by()
    )
    book = RateBook({r["currency"] for r in grouped}, today)
    stages = {s.pk: s for s in Stage.objects.filter(pk__in={r["stage_id"] for r in grouped}).select_related("pipeline")}
    per: dict[int, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    missing: set[str] = set()
    for r in grouped:
        cell = per[r["stage_id"]]
        cell[0] += r["n"]
        value = book.convert(money_sum_value(r, "amt"), r["currency"], today)
        if value is None:
            missing.add(r["currency"])
        else:
            cell[1] += value
    many_pipelines = len({s.pipeline_id for s in stages.values()}) > 1
    ordered = sorted(per, key=lambda pk: (stages[pk].pipeline.position, stages[pk].pipeline_id, stages[pk].position))
    rows, links, cats = [], [], []
    for pk in ordered:
        stage = stages[pk]
        count, amount = per[pk]
        name = f"{stage.pipeline} · {stage}" if many_pipelines else str(stage)
        weighted = _money(amount * stage.probability / 100)
        rows.append([name, count, _money(amount), weighted])
        cats.append(name)
        links.append(records_url(a, "open_deals", stage=pk))
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
        categories=cats,
        series=[
            Series(_("Amount"), [r[2] for r in rows], links=links),
            Series(_("Weighted"), [r[3] for r in rows], links=links),
        ],
        row_links=links,
        note=_missing_note(missing),
    )


def _missing_note(missing: set[str]) -> str:
    return _("Left out for want of an exchange rate: %(c)s.") % {"c": ", ".join(sorted(missing))} if missing else ""


def funnel_chart(a: AnalysisFilters, today: date) -> Chart:
    """Of the deals created in the period, how many entered each stage (their stage history)."""
    cohort = cohort_qs(a)
    entered = dict(
        StageChange.objects.filter(opportunity__in=cohort.values("pk"))
        .values_list("to_stage_id")
        .annotate(n=Count("opportunity_id", distinct=True))
        .order_by()
    )
    pipelines = set(a.filters.pipeline_ids)
    stage_qs = Stage.objects.filter(kind="open").select_related("pipeline")
    stage_qs = stage_qs.filter(pipeline_id__in=pipelines) if pipelines else stage_qs.filter(pk__in=list(entered))
    stages = sorted(stage_qs, key=lambda s: (s.pipeline.position, s.pipeline_id, s.position))
    many = len({s.pipeline_id for s in stages}) > 1
    rows, links, cats = [], [], []
    for i, stage in enumerate(stages):
        n = entered.get(stage.pk, 0)
        nxt = stages[i + 1] if i + 1 < len(stages) and stages[i + 1].pipeline_id == stage.pipeline_id else None
        name = f"{stage.pipeline} · {stage}" if many else str(stage)
        rate = _ratio(entered.get(nxt.pk, 0), n) if nxt is not None else None
        rows.append([name, n, rate])
        cats.append(name)
        links.append(records_url(a, "entered_stage", stage=stage.pk))
    return Chart(
        key="funnel",
        title=_("Funnel conversion"),
        columns=[Column(_("Stage")), Column(_("Deals entered"), "int"), Column(_("Advanced to next %"), "percent")],
        rows=rows,
        categories=cats,
        series=[Series(_("Deals entered"), [r[1] for r in rows], type="funnel", links=links)],
        row_links=links,
        note=_("Deals created in the period, by the stages they entered."),
    )


def _months_figures(a: AnalysisFilters, today: date) -> tuple[list[Period], dict[str, dict[str, Any]]]:
    months = trailing_months(a.period, today)
    figures = {
        key: actuals_by_period(key, a.node, months, a.filters) for key in ("won_deals", "won_revenue", "lost_deals")
    }
    return months, figures


def won_lost_chart(a: AnalysisFilters, today: date) -> Chart:
    months, f = _months_figures(a, today)
    rows, won_links, lost_links = [], [], []
    for m in months:
        won, lost = f["won_deals"][m.key].count, f["lost_deals"][m.key].count
        rows.append([m.key, won, _money(f["won_revenue"][m.key].value), lost, _ratio(won, won + lost)])
        span = {"day_from": m.start.isoformat(), "day_to": m.end.isoformat()}
        won_links.append(records_url(a, "won_deals", **span))
        lost_links.append(records_url(a, "lost_deals", **span))
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
        note=_missing_note(f["won_revenue"][months[-1].key].missing_rates),
    )


def win_rate_chart(a: AnalysisFilters, today: date) -> Chart:
    months, f = _months_figures(a, today)
    rows, links = [], []
    for m in months:
        won, lost = f["won_deals"][m.key].count, f["lost_deals"][m.key].count
        rows.append([m.key, won, lost, _ratio(won, won + lost)])
        links.append(records_url(a, "won_deals", day_from=m.start.isoformat(), day_to=m.end.isoformat()))
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
    """Sales velocity = open deals × win rate × average won amount ÷ sales cycle (days)."""
    query = fact_query(a)
    won = get_metric("won_deals").records(query)
    lost_count = get_metric("lost_deals").records(query).count()
    won_rows = list(won.values_list("created_at", "closed_on", "amount", "currency"))
    book = RateBook({r[3] for r in won_rows}, a.period.end)
    total, converted, cycle_sum = Decimal(0), 0, 0
    missing: set[str] = set()
    from salesflow.analytics.metrics import company_zone

    zone = company_zone()
    for created_at, closed_on, amount, currency in won_rows:
        cycle_sum += max(0, (closed_on - created_at.astimezone(zone).date()).days)
        value = book.convert(amount, currency, closed_on)
        if value is None:
            missing.add(currency)
        else:
            total += value
            converted += 1
    won_count = len(won_rows)
    open_count = open_deals_qs(a.node, a.filters, today).count()
    win_rate = _ratio(won_count, won_count + lost_count)
    avg_won = _money(total / converted) if converted else None
    cycle = (Decimal(cycle_sum) / won_count).quantize(Decimal("0.1"), ROUND_HALF_UP) if won_count else None
    velocity = None
    if win_rate is not None and avg_won is not None and cycle:
        velocity = _money(Decimal(open_count) * win_rate / 100 * avg_won / cycle)
    span = {"day_from": a.period.start.isoformat(), "day_to": a.period.end.isoformat()}
    rows: list[list[Any]] = [
        [_("Open deals"), open_count],
        [_("Win rate %"), win_rate],
        [_("Average won amount"), avg_won],
        [_("Sales cycle (days)"), cycle],
        [_("Sales velocity per day"), velocity],
    ]
    links = [
        records_url(a, "open_deals"),
        records_url(a, "won_deals", **span),
        records_url(a, "won_deals", **span),
        records_url(a, "won_deals", **span),
        "",
    ]
    return Chart(
        key="velocity",
        title=_("Sales velocity"),
        columns=[Column(_("Factor")), Column(_("Figure"), "text")],
        rows=rows,
        categories=[str(r[0]) for r in rows[:4]],
        series=[],
        row_links=links,
        figure="" if velocity is None else f"{velocity:,}",
        note=" ".join(
            x
            for x in (
                _("Open deals × win rate × average won amount ÷ sales cycle: revenue per day the pipeline brings."),
                _missing_note(missing),
            )
            if x
        ),
    )


def activity_chart(a: AnalysisFilters, today: date) -> Chart:
    """Activities done in the period per rep, by kind (one grouped query)."""
    query = fact_query(a)
    grouped = list(activities_done_qs(query).values("owner_id", "kind").annotate(n=Count("pk")).order_by())
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
    qs = open_deals_qs(a.node, a.filters, today).filter(
        expected_close_date__gte=this_month.start, expected_close_date__lte=this_month.end
    )
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
        series=[Series(_("Amount"), [cast(Decimal, r[5]) for r in rows], links=links)],
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
