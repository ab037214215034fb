"""Keeping the fact tables of :mod:`salesflow.process.models` (issue 11 item 4).

:func:`refresh_facts` is the one entry point (the task ``process.tasks.refresh_process_facts``
and the tests call it):

- ``full=True`` empties both tables and derives them again from every ``StageChange`` that
  left a stage with a known duration and every closed deal;
- otherwise it adds the stage exits with an id above the last one folded in, re-derives the
  closed-deal facts of the deals touched since the last run (a new stage change, or
  ``updated_at`` after it), and always re-derives the open stays (the deals' current stages).

Both are idempotent; the results are the same as a full rebuild whenever stage changes are
only ever added (they are: ``StageChange`` rows are append-only).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from salesflow.process.models import DealFact, ExitKind, FactsState, StageVisit
from salesflow.sales.choices import Outcome, StageKind
from salesflow.sales.models import Opportunity, Stage, StageChange

BATCH = 5000


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def monday(day: date) -> date:
    """The Monday of ``day``'s week (the control charts' week key)."""
    return day - timedelta(days=day.weekday())


def _local_day(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()


def _chunks(rows: Iterable[Any], size: int = BATCH) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


_EXIT_FIELDS = (
    "pk",
    "opportunity_id",
    "from_stage_id",
    "to_stage_id",
    "owner_id",
    "owner_team_id",
    "changed_at",
    "duration_seconds",
    "is_regression",
    "opportunity__account__region_id",
    "opportunity__account__industry",
    "opportunity__account__size",
    "opportunity__account__source",
)


def _add_exits(after_id: int) -> int:
    """Fold in the stage exits with ``pk > after_id``; the highest id seen (or ``after_id``)."""
    zone = _zone()
    stages: dict[int, dict[str, Any]] = {s["pk"]: dict(s) for s in Stage.objects.values("pk", "pipeline_id", "kind")}
    rows = (
        StageChange.objects.filter(pk__gt=after_id, from_stage__isnull=False, duration_seconds__isnull=False)
        .order_by("pk")
        .values_list(*_EXIT_FIELDS)
        .iterator(chunk_size=BATCH)
    )
    last = after_id
    for chunk in _chunks(rows):
        visits = []
        for pk, opp, frm, to, owner, team, at, seconds, back, region, industry, size, source in chunk:
            last = max(last, pk)
            to_kind = stages.get(to, {}).get("kind")
            kind = (
                ExitKind.WON
                if to_kind == StageKind.WON
                else ExitKind.LOST
                if to_kind == StageKind.LOST
                else ExitKind.BACK
                if back
                else ExitKind.FORWARD
            )
            exited = int(at.timestamp())
            day = _local_day(at, zone)
            seconds = max(int(seconds), 0)
            visits.append(
                StageVisit(
                    source_id=pk,
                    opportunity_id=opp,
                    pipeline_id=stages[frm]["pipeline_id"],
                    stage_id=frm,
                    owner_id=owner,
                    team_id=team,
                    region_id=region,
                    industry=industry or "",
                    size=size or "",
                    source=source or "",
                    kind=kind,
                    entered_s=exited - seconds,
                    exited_s=exited,
                    duration_seconds=seconds,
                    exit_day=day,
                    exit_week=monday(day),
                )
            )
        StageVisit.objects.bulk_create(visits, batch_size=BATCH, ignore_conflicts=True)
    return last


def _rebuild_open_stays() -> None:
    """Replace the open stays by the open deals' current stages (current owner and team)."""
    StageVisit.objects.filter(kind=ExitKind.OPEN).delete()
    rows = (
        Opportunity.objects.filter(outcome=Outcome.OPEN)
        .order_by("pk")
        .values_list(
            "pk",
            "stage__pipeline_id",
            "stage_id",
            "owner_id",
            "owner__team_id",
            "stage_entered_at",
            "account__region_id",
            "account__industry",
            "account__size",
            "account__source",
        )
        .iterator(chunk_size=BATCH)
    )
    for chunk in _chunks(rows):
        StageVisit.objects.bulk_create(
            [
                StageVisit(
                    opportunity_id=pk,
                    pipeline_id=pipeline,
                    stage_id=stage,
                    owner_id=owner,
                    team_id=team,
                    region_id=region,
                    industry=industry or "",
                    size=size or "",
                    source=source or "",
                    kind=ExitKind.OPEN,
                    entered_s=int(entered.timestamp()),
                )
                for pk, pipeline, stage, owner, team, entered, region, industry, size, source in chunk
            ],
            batch_size=BATCH,
        )


def _write_deal_facts(opportunity_ids: list[int] | None) -> None:
    """Re-derive the closed-deal facts of ``opportunity_ids`` (all deals when ``None``)."""
    zone = _zone()
    deals = Opportunity.objects.all()
    facts = DealFact.objects.all()
    regressions = StageChange.objects.filter(is_regression=True)
    if opportunity_ids is not None:
        deals = deals.filter(pk__in=opportunity_ids)
        facts = facts.filter(opportunity_id__in=opportunity_ids)
        regressions = regressions.filter(opportunity_id__in=opportunity_ids)
    facts.delete()
    regressed = set(regressions.values_list("opportunity_id", flat=True).distinct())
    rows = (
        deals.filter(outcome__in=(Outcome.WON, Outcome.LOST), closed_on__isnull=False)
        .order_by("pk")
        .values_list(
            "pk",
            "pipeline_id",
            "owner_id",
            "outcome",
            "closed_on",
            "created_at",
            "account__region_id",
            "account__industry",
            "account__size",
            "account__source",
        )
        .iterator(chunk_size=BATCH)
    )
    for chunk in _chunks(rows):
        DealFact.objects.bulk_create(
            [
                DealFact(
                    opportunity_id=pk,
                    pipeline_id=pipeline,
                    owner_id=owner,
                    region_id=region,
                    industry=industry or "",
                    size=size or "",
                    source=source or "",
                    won=outcome == Outcome.WON,
                    regressed=pk in regressed,
                    cycle_days=(closed - _local_day(created, zone)).days,
                    closed_on=closed,
                    close_week=monday(closed),
                )
                for pk, pipeline, owner, outcome, closed, created, region, industry, size, source in chunk
            ],
            batch_size=BATCH,
        )


def refresh_facts(*, full: bool = False) -> dict[str, int]:
    """Bring the fact tables up to date (see the module docstring); returns row counts."""
    now = timezone.now()
    with transaction.atomic():
        state = FactsState.objects.select_for_update().order_by("pk").first() or FactsState.objects.create()
        if full:
            StageVisit.objects.all().delete()
            after = 0
            _write_deal_facts(None)
        else:
            after = state.last_stage_change_id
            touched = set(StageChange.objects.filter(pk__gt=after).values_list("opportunity_id", flat=True).distinct())
            if state.last_deal_update is not None:
                touched |= set(
                    Opportunity.objects.filter(updated_at__gte=state.last_deal_update).values_list("pk", flat=True)
                )
            if touched:
                ids = sorted(touched)
                for i in range(0, len(ids), 900):
                    _write_deal_facts(ids[i : i + 900])
        state.last_stage_change_id = _add_exits(after)
        _rebuild_open_stays()
        state.last_deal_update = now
        state.refreshed_at = now
        state.save()
    return {
        "visits": StageVisit.objects.exclude(kind=ExitKind.OPEN).count(),
        "open": StageVisit.objects.filter(kind=ExitKind.OPEN).count(),
        "deals": DealFact.objects.count(),
    }


def refreshed_at() -> datetime | None:
    """When the facts were last refreshed (``None``: never)."""
    return FactsState.objects.order_by("pk").values_list("refreshed_at", flat=True).first()
