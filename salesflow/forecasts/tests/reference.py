"""The forecast figures as first written, one deal (waterfall) and one owner-day (accuracy) at a
time: the independent computation the grouped selectors are compared with
(``test_grouped.py``). Not used by the product."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Q, QuerySet

from salesflow.analytics.selectors import Node, facts_for
from salesflow.core.periods import Period
from salesflow.core.selectors import RateBook
from salesflow.forecasts.models import ForecastEntry
from salesflow.forecasts.selectors import (
    BAR_KEYS,
    ZERO,
    Accuracy,
    AccuracyCell,
    AccuracyRow,
    DealMove,
    Figures,
    Level,
    Waterfall,
    _child_keys,
    _levels,
    _money,
    ape_of,
    day_start,
    latest_entries,
    load_tree,
)
from salesflow.sales.choices import HistoryField, Outcome
from salesflow.sales.models import Opportunity, OpportunityFieldChange
from salesflow.users.selectors import team_history

_TRACKED = (HistoryField.AMOUNT, HistoryField.EXPECTED_CLOSE_DATE, HistoryField.OUTCOME)


def accuracy_per_day(node: Node, periods: Sequence[Period]) -> Accuracy:
    """Each level's forecast for each past period — its latest entry written before the
    period ended (commit), else the sum of the level below as it stood then — against the
    won revenue (registry metric ``won_revenue``, team at the time). Rows: ``node``, then its
    people and child teams. Queries: teams, people, entries, team history, one facts query."""
    tree = load_tree()
    keys = [node.key, *_child_keys(tree, node)]
    if not periods:
        return Accuracy(node, [], [], set())
    entries = list(ForecastEntry.objects.filter(period_key__in=[p.key for p in periods]))
    by_period: dict[str, list[ForecastEntry]] = defaultdict(list)
    for e in entries:
        by_period[e.period_key].append(e)
    start, end = min(p.start for p in periods), max(p.end for p in periods)
    facts = facts_for("won_revenue", node, start, end)
    hist = team_history()
    subtrees = {k: tree.subtree(int(k.split(":")[1])) for k in keys if k.startswith("team:")}
    # each team of the tree → the child level whose subtree holds it (one lookup per fact row)
    child_of_team = {t: k for k, sub in subtrees.items() if k != node.key for t in sub}
    key_set = set(keys)
    period_of: dict[date, str | None] = {}
    actuals: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for row in facts.rows:
        if row.day not in period_of:
            period_of[row.day] = next((p.key for p in periods if p.start <= row.day <= p.end), None)
        pk = period_of[row.day]
        if pk is None:
            continue
        actuals[(node.key, pk)] += row.value
        rep_key = f"rep:{row.owner_id}"
        if rep_key in key_set:
            actuals[(rep_key, pk)] += row.value
        if child_of_team:
            child = child_of_team.get(hist.team_on(row.owner_id, row.day))  # type: ignore[arg-type]
            if child is not None:
                actuals[(child, pk)] += row.value
    levels_by_period: dict[str, dict[str, Level]] = {}
    for p in periods:
        cutoff = day_start(p.end + timedelta(days=1))
        latest = latest_entries(e for e in by_period.get(p.key, []) if e.created_at < cutoff)
        levels_by_period[p.key] = _levels(tree, latest)
    rows: list[AccuracyRow] = []
    for k in keys:
        cells: list[AccuracyCell] = []
        label_node: Node | None = None
        for p in periods:
            lv = levels_by_period[p.key].get(k)
            actual = _money(actuals[(k, p.key)])
            if lv is None or (lv.entry is None and lv.submitted_people == 0):
                cells.append(AccuracyCell(p, None, "", actual, None, None))
                continue
            label_node = lv.node
            forecast = lv.figure.commit
            cells.append(AccuracyCell(p, forecast, lv.source, actual, forecast - actual, ape_of(forecast, actual)))
        if label_node is None:
            label_node = levels_by_period[periods[0].key].get(k, Level(node, None, Figures(), Figures(), 0, 0)).node
        if k == node.key:
            label_node = node
        rows.append(AccuracyRow(label_node, cells))
    return Accuracy(node, list(periods), rows, set(facts.missing_rates))


def waterfall_per_deal(owner_ids: Iterable[int] | None, period: Period, since: datetime, today: date) -> Waterfall:
    """The pipeline waterfall of the deals owned now by ``owner_ids`` (``None``: everyone).

    A deal is *in the pipeline* at a moment when it existed (``created_at``), was open and its
    expected close date lay in ``period``. Its state at ``since`` is its current row with every
    tracked field (amount, expected close date, outcome) put back to the ``old`` value of its
    first ``OpportunityFieldChange`` after ``since``. Each deal in the pipeline then or now
    lands in exactly one bar:

    * in now, not then: created after ``since`` → *new*, else → *moved in* (close date moved
      into the period, or reopened);
    * in then, not now: won → *won*, lost → *lost*, else → *moved out* (close date slipped out
      of the period, or paused);
    * in both: the amount's difference → *increased* or *decreased* (zero: no bar).

    Two queries (the candidate deals, their changes since) and one for the rates. Deals in a
    currency without a rate are left out and named. Deleted deals have no history and are not
    counted.
    """
    ids = None if owner_ids is None else sorted(set(owner_ids))
    changed = OpportunityFieldChange.objects.filter(field__in=_TRACKED, changed_at__gt=since)
    scope = Q(outcome=Outcome.OPEN, expected_close_date__gte=period.start, expected_close_date__lte=period.end) | Q(
        pk__in=changed.values("opportunity_id")
    )
    deals_qs: QuerySet[Opportunity] = Opportunity.objects.filter(scope)
    if ids is not None:
        deals_qs = deals_qs.filter(owner_id__in=ids)
        changed = changed.filter(opportunity__owner_id__in=ids)
    deals = list(deals_qs.values("id", "amount", "currency", "expected_close_date", "outcome", "created_at"))
    first_change: dict[tuple[int, str], OpportunityFieldChange] = {}
    for c in changed.order_by("changed_at", "id").only(
        "opportunity_id", "field", "old_amount", "old_date", "old_value", "currency", "changed_at"
    ):
        first_change.setdefault((c.opportunity_id, c.field), c)
    book = RateBook({d["currency"] for d in deals} | {c.currency for c in first_change.values() if c.currency}, today)
    bars = dict.fromkeys(BAR_KEYS, ZERO)
    moves: list[DealMove] = []
    start = end = ZERO
    start_count = end_count = 0
    missing: set[str] = set()

    def in_period(day: date | None) -> bool:
        return day is not None and period.start <= day <= period.end

    for d in deals:
        pk = d["id"]
        now_amount = book.convert(d["amount"], d["currency"], today)
        if now_amount is None:
            missing.add(d["currency"])
            continue
        a1 = _money(now_amount)
        in1 = d["outcome"] == Outcome.OPEN and in_period(d["expected_close_date"])
        existed = d["created_at"] <= since
        amount_change = first_change.get((pk, HistoryField.AMOUNT))
        a0 = a1
        if amount_change is not None:
            if amount_change.old_amount is None:
                existed = False
            else:
                cur = amount_change.currency or d["currency"]
                old = book.convert(amount_change.old_amount, cur, today)
                if old is None:
                    missing.add(cur)
                    continue
                a0 = _money(old)
        close_change = first_change.get((pk, HistoryField.EXPECTED_CLOSE_DATE))
        close0 = close_change.old_date if close_change is not None else d["expected_close_date"]
        outcome_change = first_change.get((pk, HistoryField.OUTCOME))
        outcome0 = outcome_change.old_value if outcome_change is not None else d["outcome"]
        if outcome_change is not None and outcome_change.old_value == "":
            existed = False
        in0 = existed and outcome0 == Outcome.OPEN and in_period(close0)
        if in0:
            start += a0
            start_count += 1
        if in1:
            end += a1
            end_count += 1
        if in1 and not in0:
            bar, value = ("moved_in" if existed else "new"), a1
        elif in0 and not in1:
            outcome = d["outcome"]
            bar = "won" if outcome == Outcome.WON else "lost" if outcome == Outcome.LOST else "moved_out"
            value = -a0
        elif in0 and in1 and a1 != a0:
            bar, value = ("increased" if a1 > a0 else "decreased"), a1 - a0
        else:
            continue
        bars[bar] += value
        moves.append(
            DealMove(
                pk,
                bar,
                value,
                a0 if in0 else None,
                a1 if in1 else None,
                close0 if in0 else None,
                d["expected_close_date"] if in1 else None,
            )
        )
    moves.sort(key=lambda m: (BAR_KEYS.index(m.bar), -abs(m.value), m.opportunity_id))
    return Waterfall(period, since, start, end, bars, moves, start_count, end_count, missing)
