"""Reads of ``salesflow.achievable``: the history behind the calibration (grouped in the
database), the open deals of a node as numpy arrays, and the stored tables.

No visibility check here: the caller has checked the node (``analytics.selectors.node_for_user``);
the figures are aggregates of that node.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.db.models import Case, Count, IntegerField, Value, When
from django.utils import timezone

from salesflow.achievable import montecarlo as mc
from salesflow.achievable.models import Calibration, RevenueSnapshot
from salesflow.core.selectors import RateBook
from salesflow.sales.choices import HistoryField, Outcome, StageKind
from salesflow.sales.models import Opportunity, OpportunityFieldChange, Stage, StageChange

DAY_SECONDS = 86_400
#: closed deals of the last this many days make the history
HISTORY_DAYS = 730
#: the expected close date a slip is measured from: the one in force this long before the close
SLIP_REFERENCE_DAYS = 30


def latest_calibration() -> Calibration | None:
    """The latest calibration tables (one query)."""
    return Calibration.objects.order_by("-computed_at").first()


def snapshot(node_key: str, period_key: str) -> RevenueSnapshot | None:
    """The stored simulation of a node and period (one query)."""
    return RevenueSnapshot.objects.filter(node_key=node_key, period_key=period_key).first()


def open_stages() -> list[Stage]:
    """Every open stage of every pipeline, in pipeline then stage order."""
    return list(
        Stage.objects.filter(kind=StageKind.OPEN)
        .select_related("pipeline")
        .order_by("pipeline__position", "pipeline_id", "position", "pk")
    )


def stay_counts(stage_ids: list[int], since: date) -> list[dict[str, Any]]:
    """Stays in the given open stages of deals closed (won or lost) on or after ``since``,
    grouped by stage, the owner's team at the time, the age bucket the stay ended in and the
    deal's final outcome: ONE grouped query over ``StageChange`` (the exit rows, whose
    ``duration_seconds`` is the stay's length)."""
    whens = [
        When(duration_seconds__lt=mc.AGE_BUCKETS[k + 1] * DAY_SECONDS, then=Value(k))
        for k in range(len(mc.AGE_BUCKETS) - 1)
    ]
    bucket = Case(*whens, default=Value(len(mc.AGE_BUCKETS) - 1), output_field=IntegerField())
    return list(
        StageChange.objects.filter(
            from_stage_id__in=stage_ids,
            duration_seconds__isnull=False,
            opportunity__outcome__in=(Outcome.WON, Outcome.LOST),
            opportunity__closed_on__gte=since,
        )
        .annotate(bucket=bucket)
        .values("from_stage_id", "owner_team_id", "bucket", "opportunity__outcome")
        .annotate(n=Count("pk"))
        .order_by()
    )


def close_slips(since: date) -> dict[int | None, list[int]]:
    """Close-date slips in days of the deals WON on or after ``since``, by the owner's team
    (``None`` = no team): ``closed_on`` minus the expected close date the deal had
    ``SLIP_REFERENCE_DAYS`` before it closed (the latest ``OpportunityFieldChange`` of
    ``expected_close_date`` made on or before that day; for a younger deal its first recorded
    one; for a deal without that history its ``expected_close_date`` as it stands). Two
    queries."""
    won = list(
        Opportunity.objects.filter(outcome=Outcome.WON, closed_on__gte=since)
        .values_list("pk", "owner__team_id", "closed_on", "expected_close_date")
        .order_by()
    )
    history: dict[int, list[tuple[datetime, date | None]]] = defaultdict(list)
    for opp_id, at, new_date in (
        OpportunityFieldChange.objects.filter(
            field=HistoryField.EXPECTED_CLOSE_DATE,
            opportunity__outcome=Outcome.WON,
            opportunity__closed_on__gte=since,
        )
        .order_by("opportunity_id", "changed_at", "pk")
        .values_list("opportunity_id", "changed_at", "new_date")
    ):
        history[opp_id].append((at, new_date))
    result: dict[int | None, list[int]] = defaultdict(list)
    for pk, team_id, closed_on, expected_now in won:
        if closed_on is None:
            continue
        expected = expected_now
        rows = history.get(pk)
        if rows:
            reference = closed_on - timedelta(days=SLIP_REFERENCE_DAYS)
            before = [d for at, d in rows if timezone.localtime(at).date() <= reference]
            expected = before[-1] if before else rows[0][1]
        if expected is None:
            continue
        result[team_id].append((closed_on - expected).days)
    return dict(result)


@dataclass
class OpenDeals:
    """The open deals of a node as arrays (one entry per deal), amounts in the company
    currency at today's rate; deals whose currency has no rate are left out and named."""

    ids: np.ndarray
    owner_ids: np.ndarray
    stage_ids: np.ndarray
    team_ids: np.ndarray  # the owner's current team, -1 for none
    amounts: np.ndarray
    age_days: np.ndarray
    expected_offset: np.ndarray  # expected close date − today in days (NaN when undated)
    configured: np.ndarray  # the stage's configured probability, 0–1
    missing_rates: set[str] = field(default_factory=set)

    def subset(self, mask: np.ndarray) -> OpenDeals:
        return OpenDeals(
            self.ids[mask],
            self.owner_ids[mask],
            self.stage_ids[mask],
            self.team_ids[mask],
            self.amounts[mask],
            self.age_days[mask],
            self.expected_offset[mask],
            self.configured[mask],
            set(self.missing_rates),
        )


def open_deals(owner_ids: set[int] | None, today: date) -> OpenDeals:
    """Open deals (outcome *open*) of the given owners (``None``: everyone): ONE query, plus
    the rate book when a deal is in a foreign currency."""
    qs = Opportunity.objects.filter(outcome=Outcome.OPEN)
    if owner_ids is not None:
        qs = qs.filter(owner_id__in=sorted(owner_ids))
    rows = list(
        qs.order_by("pk").values_list(
            "pk",
            "owner_id",
            "stage_id",
            "owner__team_id",
            "currency",
            "amount",
            "stage_entered_at",
            "expected_close_date",
            "stage__probability",
        )
    )
    now = timezone.now()
    currencies = {r[4] for r in rows}
    book = RateBook(currencies, today)
    factor: dict[str, float | None] = {}
    for c in currencies:
        converted = book.convert(Decimal(1_000_000), c, today)
        factor[c] = None if converted is None else float(converted) / 1_000_000
    keep = [r for r in rows if factor[r[4]] is not None]
    missing = {c for c, f in factor.items() if f is None}
    n = len(keep)
    return OpenDeals(
        ids=np.fromiter((r[0] for r in keep), dtype=np.int64, count=n),
        owner_ids=np.fromiter((r[1] for r in keep), dtype=np.int64, count=n),
        stage_ids=np.fromiter((r[2] for r in keep), dtype=np.int64, count=n),
        team_ids=np.fromiter((r[3] if r[3] is not None else -1 for r in keep), dtype=np.int64, count=n),
        amounts=np.fromiter((float(r[5] or 0) * (factor[r[4]] or 0.0) for r in keep), dtype=np.float64, count=n),
        age_days=np.fromiter(((now - r[6]).total_seconds() / DAY_SECONDS for r in keep), dtype=np.float64, count=n),
        expected_offset=np.fromiter(
            ((r[7] - today).days if r[7] is not None else np.nan for r in keep), dtype=np.float64, count=n
        ),
        configured=np.fromiter(((r[8] or 0) / 100 for r in keep), dtype=np.float64, count=n),
        missing_rates=missing,
    )
