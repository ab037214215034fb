"""Pre-aggregated stage passes of closed deals for funnel math (issue 10 item 8).

Funnel math's stage → won rates count, per owner, stage and outcome, the distinct closed deals
of the trailing year that passed through each open stage: a join of every closed deal with its
stage changes (about 10 µs per closed deal even index-only: the largest part of the
administrator's funnel page at bench scale 1.0). A closed deal belongs to exactly one group
(owner, outcome, close month), so distinct counts add up over months, and the page can read
stored months instead of the join.

**Grain.** Monthly: at about 1.4 closed deals per owner-day at bench scale 1.0 a daily grain
would store nearly one row per deal and stage, while a month stores ~30 deals per row.
Only months that ended before the refresh day are stored; the trailing range's first
(partial) month and the current month are always computed live.

**Exactness.** Each stored group (month, owner, outcome) keeps the fingerprint of the deals
it was computed from: their count and id sum (:class:`ClosedMonthFact`). The reader takes a
group from the facts only when

* the same count and id sum come out of the deals table now (one index-only aggregate over
  the closed deals of the stored months, ``opp_outcome_closed_idx``): a deal reopened,
  reassigned, deleted or closed into the month after the refresh changes it; and
* no deal closed in it now has a ``StageChange`` or an ``OpportunityFieldChange`` newer than
  the refresh (the services write both in the same transaction as the change): this covers a
  deal that left and came back to the same group (reopened, moved through another stage,
  closed again) and a deal that entered a group another one left.

Every other (owner, month) is computed live, together with the edge months, in one query
shaped like the live one. With a dashboard filter (pipeline, product line, region, source)
the whole figure is live. The result equals the live computation whatever changed since the
refresh; the tests compare both after reopening, reassigning and closing deals.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Func, Q, QuerySet, Sum
from django.db.models.expressions import Combinable
from django.utils import timezone

from salesflow.analytics.forms import AnalysisFilters
from salesflow.analytics.metrics import _deal_filters, _product_line_q
from salesflow.analytics.selectors import (
    RATE_PLACES,
    Node,
    StageStep,
    _advanced_q,
    _ratio,
    analysis_pipeline,
    stage_conversion,
    stage_entries_qs,
)
from salesflow.core.metrics import FactQuery, MetricFilters
from salesflow.core.periods import month_period
from salesflow.sales.choices import Outcome, StageKind
from salesflow.sales.models import Opportunity, OpportunityFieldChange, StageChange
from salesflow.scorecards.models import ClosedMonthFact, FunnelFactsState, StagePassFact, StageStepFact

#: (owner id, stage id, outcome) → closed deals that passed through the stage
PassRows = list[tuple[int, int, str, int]]

BATCH = 5000


class MonthKey(Func):
    """``'YYYY-MM'`` of a date column, in SQL on both databases (SQLite stores dates as
    ISO text: the first seven characters)."""

    function = "to_char"
    template = "to_char(%(expressions)s, 'YYYY-MM')"

    def __init__(self, expression: str | Combinable) -> None:
        from django.db.models import CharField

        super().__init__(expression, output_field=CharField())

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(compiler, connection, template="substr(%(expressions)s, 1, 7)", **extra)


def _month(key: str) -> date:
    year, month = key.split("-")
    return date(int(year), int(month), 1)


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _closed() -> QuerySet[Opportunity]:
    return Opportunity.objects.filter(outcome__in=(Outcome.WON, Outcome.LOST), closed_on__isnull=False)


def _passes_qs(deals: QuerySet[Opportunity]) -> QuerySet[StageChange]:
    """Distinct deals of ``deals`` per (owner, open stage entered, outcome): the live query."""
    return StageChange.objects.filter(opportunity_id__in=deals.values("pk"), to_stage__kind=StageKind.OPEN)


#: the deal of a stage change, in the live query's filters
_DEAL = "opportunity__"


def _closed_passes_qs(query: FactQuery) -> QuerySet[StageChange]:
    """The stage changes into open stages of the deals closed in ``query``: the conditions of
    ``analytics.selectors.closed_deals_qs`` on the joined deal (``_DEAL``). One join, not
    ``opportunity_id IN (closed deals)``: PostgreSQL ran the IN as a semi-join and then
    fetched every change's deal again by primary key from the table for its owner and outcome
    (one heap visit per stage change); joined, the deals come from ``opp_outcome_closed_idx``
    alone and their changes from ``stagechange_opp_idx`` alone."""
    return StageChange.objects.filter(
        query.owner_day_q(f"{_DEAL}owner_id", f"{_DEAL}closed_on"),
        _deal_filters(query, _DEAL),
        _product_line_q(query, "opportunity_id"),
        opportunity__outcome__in=(Outcome.WON, Outcome.LOST),
        opportunity__closed_on__isnull=False,
        to_stage__kind=StageKind.OPEN,
    )


def live_stage_passes(query: FactQuery, extra: Q | None = None) -> PassRows:
    """Stage passes of the deals closed in ``query`` (optionally narrowed by ``extra``, a
    condition on the stage change's deal: ``opportunity__…`` names), live: one aggregate over
    ``StageChange`` joined to its deal (:func:`_closed_passes_qs`)."""
    changes = _closed_passes_qs(query)
    if extra is not None:
        changes = changes.filter(extra)
    rows = (
        changes.values_list("opportunity__owner_id", "to_stage_id", "opportunity__outcome")
        .annotate(n=Count("opportunity_id", distinct=True))
        .order_by()
    )
    return [(o, s, out, n) for o, s, out, n in rows]


def _stored_months(query: FactQuery, today: date, through: date | None) -> list[date]:
    """First days of the months wholly inside ``query``'s days, ended before ``today``'s month
    and stored by the last refresh (``through``)."""
    if through is None:
        return []
    found = []
    month = _month_start(query.start)
    if month < query.start:
        month = month_period(*_next(month)).start
    current = _month_start(today)
    while month <= through and month < current:
        end = month_period(month.year, month.month).end
        if end > query.end:
            break
        found.append(month)
        month = end + timedelta(days=1)
    return found


def _next(month: date) -> tuple[int, int]:
    return (month.year + 1, 1) if month.month == 12 else (month.year, month.month + 1)


def _covered_owners(query: FactQuery, month: date) -> tuple[set[int] | None, set[int]]:
    """(owners whose window covers all of ``month`` — ``None``: everyone —, owners whose
    windows only cover part of it)."""
    if query.windows is None:
        return None, set()
    end = month_period(month.year, month.month).end
    whole: set[int] = set()
    touched: set[int] = set()
    for w in query.windows:
        if w.start <= month and w.end >= end:
            whole.add(w.owner_id)
        elif w.start <= end and w.end >= month:
            touched.add(w.owner_id)
    return whole, touched - whole


def _changed_deals(state: FunnelFactsState) -> set[int]:
    """Deals with a stage change or a tracked field change written after the refresh read
    the deals (two reads of the primary keys above the watermarks)."""
    changed = set(
        StageChange.objects.filter(pk__gt=state.last_stage_change_id).values_list("opportunity_id", flat=True)
    )
    changed |= set(
        OpportunityFieldChange.objects.filter(pk__gt=state.last_field_change_id).values_list(
            "opportunity_id", flat=True
        )
    )
    return changed


def _changed_groups(state: FunnelFactsState, lo: date, hi: date) -> set[tuple[int, date]]:
    """(owner, month) now holding a closed deal changed after the refresh."""
    changed = _changed_deals(state)
    if not changed:
        return set()
    rows = _closed().filter(pk__in=sorted(changed), closed_on__gte=lo, closed_on__lte=hi)
    return {(o, _month_start(d)) for o, d in rows.values_list("owner_id", "closed_on") if d is not None}


def stage_passes(query: FactQuery, today: date | None = None) -> PassRows:
    """The stage passes of the deals closed in ``query`` — the same rows as
    :func:`live_stage_passes` (summed per owner, stage and outcome) — from the stored months
    whose fingerprint still matches, the rest live (module doc)."""
    if query.filters.active() or (query.windows is not None and len({w.owner_id for w in query.windows}) < 2):
        # one person's deals: the live join is smaller than the fingerprints (bench: a rep's
        # funnel 41 ms CPU live, 47 ms through the facts at scale 0.1)
        return live_stage_passes(query)
    state = FunnelFactsState.objects.first()
    months = _stored_months(query, today or timezone.localdate(), state.through if state else None)
    if state is None or not months:
        return live_stage_passes(query)
    lo, hi = months[0], month_period(months[-1].year, months[-1].month).end
    covered = {m: _covered_owners(query, m) for m in months}
    owners: set[int] | None = None
    if query.windows is not None:
        owners = {o for whole, _part in covered.values() for o in whole or ()}
    # the fingerprints now and at the refresh, of the groups the node covers
    now_qs = _closed().filter(closed_on__gte=lo, closed_on__lte=hi)
    stored_qs = ClosedMonthFact.objects.filter(month__gte=lo, month__lte=months[-1])
    if owners is not None:
        now_qs = now_qs.filter(owner_id__in=sorted(owners))
        stored_qs = stored_qs.filter(owner_id__in=sorted(owners))
    now = {
        (o, _month(k), out): (n, s)
        for k, o, out, n, s in now_qs.values_list(MonthKey("closed_on"), "owner_id", "outcome")
        .annotate(n=Count("pk"), s=Sum("pk"))
        .order_by()
    }
    then = {(f.owner_id, f.month, f.outcome): (f.deals, f.id_sum) for f in stored_qs}
    dirty = {(o, m) for (o, m, out) in now.keys() | then.keys() if now.get((o, m, out)) != then.get((o, m, out))}
    dirty |= _changed_groups(state, lo, hi)

    def served(owner: int, month: date) -> bool:
        whole, _part = covered[month]
        return (whole is None or owner in whole) and (owner, month) not in dirty

    totals: dict[tuple[int, int, str], int] = defaultdict(int)
    facts_qs = StagePassFact.objects.filter(month__gte=lo, month__lte=months[-1])
    if owners is not None:
        facts_qs = facts_qs.filter(owner_id__in=sorted(owners))
    for o, m, out, sid, n in facts_qs.values_list("owner_id", "month", "outcome", "stage_id", "deals"):
        if served(o, m):
            totals[(o, sid, out)] += n
    # live: the edge days, and in each stored month the owners not served from the facts
    live_q = Q(opportunity__closed_on__lt=lo) | Q(opportunity__closed_on__gt=hi)
    for m in months:
        whole, part = covered[m]
        live_owners = part | {o for (o, dm) in dirty if dm == m and (whole is None or o in whole)}
        if live_owners:
            end = month_period(m.year, m.month).end
            live_q |= Q(
                opportunity__closed_on__gte=m,
                opportunity__closed_on__lte=end,
                opportunity__owner_id__in=sorted(live_owners),
            )
    for o, sid, out, n in live_stage_passes(query, live_q):
        totals[(o, sid, out)] += n
    return [(o, sid, out, n) for (o, sid, out), n in sorted(totals.items()) if n]


@transaction.atomic
def refresh_funnel_facts(today: date | None = None) -> dict[str, int]:
    """Rebuild the stored months (every month that ended before ``today``'s) from the deals
    and their stage changes; idempotent. Returns the rows written per table."""
    today = today or timezone.localdate()
    current = _month_start(today)
    last_change = StageChange.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    last_field = OpportunityFieldChange.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    ClosedMonthFact.objects.all().delete()
    StagePassFact.objects.all().delete()
    deals = _closed().filter(closed_on__lt=current)
    groups = (
        deals.values_list(MonthKey("closed_on"), "owner_id", "outcome").annotate(n=Count("pk"), s=Sum("pk")).order_by()
    )
    written = {"closed_months": 0, "stage_passes": 0}
    batch: list[Any] = []
    for k, o, out, n, s in groups.iterator(chunk_size=BATCH):
        batch.append(ClosedMonthFact(month=_month(k), owner_id=o, outcome=out, deals=n, id_sum=s))
        if len(batch) >= BATCH:
            written["closed_months"] += len(ClosedMonthFact.objects.bulk_create(batch))
            batch = []
    written["closed_months"] += len(ClosedMonthFact.objects.bulk_create(batch))
    passes = (
        _passes_qs(deals)
        .values_list(MonthKey("opportunity__closed_on"), "opportunity__owner_id", "opportunity__outcome", "to_stage_id")
        .annotate(n=Count("opportunity_id", distinct=True))
        .order_by()
    )
    batch = []
    for k, o, out, sid, n in passes.iterator(chunk_size=BATCH):
        batch.append(StagePassFact(month=_month(k), owner_id=o, outcome=out, stage_id=sid, deals=n))
        if len(batch) >= BATCH:
            written["stage_passes"] += len(StagePassFact.objects.bulk_create(batch))
            batch = []
    written["stage_passes"] += len(StagePassFact.objects.bulk_create(batch))
    previous = _month_start(current - timedelta(days=1))
    written["stage_steps"], pipeline_id = _refresh_stage_steps(previous)
    FunnelFactsState.objects.all().delete()
    FunnelFactsState.objects.create(
        through=previous,
        last_stage_change_id=last_change,
        last_field_change_id=last_field,
        steps_pipeline_id=pipeline_id,
        refreshed_at=timezone.now(),
    )
    return written


def funnel_facts_refreshed_at() -> Any:
    """When the stored months were computed (``None``: never), for the page's footnote."""
    state = FunnelFactsState.objects.first()
    return state.refreshed_at if state is not None else None


# --- the stage conversion report of ended months (team scorecard) ---------------------------


def _company_month(month: date) -> AnalysisFilters:
    return AnalysisFilters(
        period=month_period(month.year, month.month), node=Node("company"), filters=MetricFilters(), params={}
    )


def _step_aggregates(pipeline: Any) -> dict[str, Any]:
    """``analytics.selectors.stage_conversion``'s two aggregates (the same rule, reused)."""
    advanced = _advanced_q(pipeline)
    return {
        "entered": Count("opportunity_id", distinct=True),
        "advanced": Count("opportunity_id", distinct=True, filter=advanced),
    }


def _refresh_stage_steps(through: date) -> tuple[int, int | None]:
    """Store the company's stage conversion of every month up to ``through`` for the default
    pipeline (two aggregates per month, as the live report). Returns (rows, pipeline id)."""
    StageStepFact.objects.all().delete()
    first = StageChange.objects.order_by("changed_at").values_list("changed_at", flat=True).first()
    pipeline = analysis_pipeline(_company_month(through))
    if first is None or pipeline is None:
        return 0, pipeline.pk if pipeline is not None else None
    month = _month_start(timezone.localtime(first).date())
    rows: list[StageStepFact] = []
    written = 0
    while month <= through:
        analysis = _company_month(month)
        entries = stage_entries_qs(analysis, pipeline)
        aggregates = _step_aggregates(pipeline)
        for r in entries.values("to_stage_id").annotate(**aggregates).order_by():
            rows.append(
                StageStepFact(
                    month=month,
                    pipeline_id=pipeline.pk,
                    stage_id=r["to_stage_id"],
                    is_total=True,
                    entered=r["entered"],
                    advanced=r["advanced"],
                )
            )
        by_owner = entries.values("to_stage_id", "owner_id").annotate(**aggregates, n=Count("pk"), s=Sum("pk"))
        for r in by_owner.order_by():
            rows.append(
                StageStepFact(
                    month=month,
                    pipeline_id=pipeline.pk,
                    stage_id=r["to_stage_id"],
                    owner_id=r["owner_id"],
                    entered=r["entered"],
                    advanced=r["advanced"],
                    changes=r["n"],
                    id_sum=r["s"],
                )
            )
        if len(rows) >= BATCH:
            written += len(StageStepFact.objects.bulk_create(rows))
            rows = []
        month = month_period(*_next(month)).start
    written += len(StageStepFact.objects.bulk_create(rows))
    return written, pipeline.pk


def stored_stage_conversion(
    *, analysis: AnalysisFilters, per_owner: bool = True
) -> tuple[list[StageStep], dict[int, list[StageStep]]]:
    """``analytics.selectors.stage_conversion`` — the same (total, per owner) steps — for the
    company over one ended month from :class:`StageStepFact`, recomputing live the stages and
    owners whose entries changed since the refresh: fingerprint (count, id sum of the
    entries per stage and owner, read from ``stagechange_stage_time_idx``) or a deal with a
    newer stage or field change. Any other node, period, filter or pipeline: live.
    ``per_owner=False``: the per-owner map is left empty (the totals are the same)."""
    node, period = analysis.node, analysis.period
    state = FunnelFactsState.objects.first()
    month = period.start
    if (
        state is None
        or state.through is None
        or analysis.filters.active()
        or node.kind != "company"
        or period.kind != "month"
        or month > state.through
        or month >= _month_start(timezone.localdate())
    ):
        return stage_conversion(analysis=analysis, per_owner=per_owner)
    pipeline = analysis_pipeline(analysis)
    if pipeline is None or pipeline.pk != state.steps_pipeline_id:
        return stage_conversion(analysis=analysis, per_owner=per_owner)
    from salesflow.sales.models import Stage

    stages = list(Stage.objects.filter(pipeline=pipeline, kind=StageKind.OPEN).order_by("position", "pk"))
    stored = list(StageStepFact.objects.filter(month=month, pipeline_id=pipeline.pk))
    entries = stage_entries_qs(analysis, pipeline)
    now = {
        (sid, o): (n, s)
        for sid, o, n, s in entries.values_list("to_stage_id", "owner_id")
        .annotate(n=Count("pk"), s=Sum("pk"))
        .order_by()
    }
    then = {(r.stage_id, r.owner_id): (r.changes, r.id_sum) for r in stored if not r.is_total}
    dirty = {key for key in now.keys() | then.keys() if now.get(key) != then.get(key)}
    changed = _changed_deals(state)
    if changed:
        dirty |= set(
            entries.filter(opportunity_id__in=sorted(changed)).values_list("to_stage_id", "owner_id").distinct()
        )
    dirty_stages = {sid for sid, _o in dirty}
    totals: dict[int, dict[str, int]] = {}
    by_owner: dict[int, dict[int, dict[str, int]]] = defaultdict(dict)
    for r in stored:
        cell = {"entered": r.entered, "advanced": r.advanced}
        if r.is_total and r.stage_id not in dirty_stages:
            totals[r.stage_id] = cell
        elif not r.is_total and r.owner_id is not None and (r.stage_id, r.owner_id) not in dirty:
            by_owner[r.owner_id][r.stage_id] = cell
    if dirty_stages:
        live = entries.filter(to_stage_id__in=sorted(dirty_stages))
        aggregates = _step_aggregates(pipeline)
        for t in live.values("to_stage_id").annotate(**aggregates).order_by():
            totals[t["to_stage_id"]] = {"entered": t["entered"], "advanced": t["advanced"]}
        owners = sorted({o for _sid, o in dirty if o is not None})
        if owners and per_owner:
            for t in (
                live.filter(owner_id__in=owners).values("to_stage_id", "owner_id").annotate(**aggregates).order_by()
            ):
                if (t["to_stage_id"], t["owner_id"]) in dirty:
                    by_owner[t["owner_id"]][t["to_stage_id"]] = {"entered": t["entered"], "advanced": t["advanced"]}

    def steps(found: dict[int, dict[str, int]]) -> list[StageStep]:
        result = []
        for s in stages:
            row = found.get(s.pk, {})
            entered, adv = int(row.get("entered") or 0), int(row.get("advanced") or 0)
            result.append(StageStep(s.pk, str(s), s.position, entered, adv, _ratio(adv, entered, RATE_PLACES)))
        return result

    if not per_owner:
        return steps(totals), {}
    return steps(totals), {owner: steps(found) for owner, found in sorted(by_owner.items())}
