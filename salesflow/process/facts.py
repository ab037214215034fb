"""Keeping the fact tables of :mod:`salesflow.process.models` (issue 11 item 4).

:func:`refresh_facts` is the one entry point (the task ``process.tasks.refresh_process_facts``
and the tests call it):

- ``full=True`` empties both tables and derives them again from every ``StageChange`` that
  left a stage with a known duration and every closed deal;
- otherwise (the 10-minute job) it adds the stage exits with an id above the last one folded
  in and re-derives the closed-deal facts and the open stay of the deals changed since the
  last run only: a stage change or a field-history row (``OpportunityFieldChange``: stage,
  owner, pipeline, outcome, close date…) with an id above its watermark, or ``updated_at``
  after the last run. An unchanged deal's rows are not rewritten. Changes that touch no deal
  (an account's segment edited, a person moved to another team) wait for the nightly
  ``full`` rebuild.

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
from salesflow.sales.models import Opportunity, OpportunityFieldChange, Stage, StageChange

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


#: the account's segment columns, last in every row read below (one builder takes them)
_SEGMENT_FIELDS = ("account__region_id", "account__industry", "account__size", "account__source")


def _visit(
    opportunity_id: int,
    pipeline_id: int,
    stage_id: int,
    owner_id: int | None,
    team_id: int | None,
    segment: tuple[Any, Any, Any, Any],
    *,
    kind: str,
    entered_s: int,
    source_id: int | None = None,
    exited_at: datetime | None = None,
    zone: ZoneInfo | None = None,
) -> StageVisit:
    """The one builder of a :class:`StageVisit` row: a finished stay when ``exited_at`` is
    given (its exit day and week in ``zone``), an open one otherwise; ``segment`` is the
    account's (region, industry, size, source) as read with ``_SEGMENT_FIELDS``."""
    region, industry, size, source = segment
    exited_s = duration = None
    exit_day = exit_week = None
    if exited_at is not None:
        exited_s = int(exited_at.timestamp())
        duration = exited_s - entered_s
        exit_day = _local_day(exited_at, zone or _zone())
        exit_week = monday(exit_day)
    return StageVisit(
        source_id=source_id,
        opportunity_id=opportunity_id,
        pipeline_id=pipeline_id,
        stage_id=stage_id,
        owner_id=owner_id,
        team_id=team_id,
        region_id=region,
        industry=industry or "",
        size=size or "",
        source=source or "",
        kind=kind,
        entered_s=entered_s,
        exited_s=exited_s,
        duration_seconds=duration,
        exit_day=exit_day,
        exit_week=exit_week,
    )


def _exit_kind(to_kind: str | None, regression: bool) -> str:
    if to_kind == StageKind.WON:
        return ExitKind.WON
    if to_kind == StageKind.LOST:
        return ExitKind.LOST
    return ExitKind.BACK if regression else ExitKind.FORWARD


def _add_exits(after_id: int) -> int:
    """Fold in the stage exits with ``pk > after_id``; the highest id seen (or ``after_id``)."""
    zone = _zone()
    stages: dict[int, dict[str, Any]] = {s["pk"]: dict(s) for s in Stage.objects.values("pk", "pipeline_id", "kind")}
    rows = (
        StageChange.objects.filter(pk__gt=after_id, from_stage__isnull=False, duration_seconds__isnull=False)
        .order_by("pk")
        .values_list(
            "pk",
            "opportunity_id",
            "from_stage_id",
            "to_stage_id",
            "owner_id",
            "owner_team_id",
            "changed_at",
            "duration_seconds",
            "is_regression",
            *(f"opportunity__{f}" for f in _SEGMENT_FIELDS),
        )
        .iterator(chunk_size=BATCH)
    )
    last = after_id
    for chunk in _chunks(rows):
        visits = []
        for pk, opp, frm, to, owner, team, at, seconds, back, *segment in chunk:
            last = max(last, pk)
            visits.append(
                _visit(
                    opp,
                    stages[frm]["pipeline_id"],
                    frm,
                    owner,
                    team,
                    (segment[0], segment[1], segment[2], segment[3]),
                    kind=_exit_kind(stages.get(to, {}).get("kind"), back),
                    entered_s=int(at.timestamp()) - max(int(seconds), 0),
                    source_id=pk,
                    exited_at=at,
                    zone=zone,
                )
            )
        StageVisit.objects.bulk_create(visits, batch_size=BATCH, ignore_conflicts=True)
    return last


def _write_open_stays(opportunity_ids: list[int] | None) -> int:
    """Replace the open stays of ``opportunity_ids`` (every deal when ``None``) by those
    deals' current stages (current owner and team) when they are still open; the other
    deals' open stays are left untouched. Returns the number of rows written."""
    stays = StageVisit.objects.filter(kind=ExitKind.OPEN)
    deals = Opportunity.objects.filter(outcome=Outcome.OPEN)
    if opportunity_ids is not None:
        stays = stays.filter(opportunity_id__in=opportunity_ids)
        deals = deals.filter(pk__in=opportunity_ids)
    stays.delete()
    rows = (
        deals.order_by("pk")
        .values_list(
            "pk", "stage__pipeline_id", "stage_id", "owner_id", "owner__team_id", "stage_entered_at", *_SEGMENT_FIELDS
        )
        .iterator(chunk_size=BATCH)
    )
    n = 0
    for chunk in _chunks(rows):
        StageVisit.objects.bulk_create(
            [
                _visit(
                    pk,
                    pipeline,
                    stage,
                    owner,
                    team,
                    (segment[0], segment[1], segment[2], segment[3]),
                    kind=ExitKind.OPEN,
                    entered_s=int(entered.timestamp()),
                )
                for pk, pipeline, stage, owner, team, entered, *segment in chunk
            ],
            batch_size=BATCH,
        )
        n += len(chunk)
    return n


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
        .values_list("pk", "pipeline_id", "owner_id", "outcome", "closed_on", "created_at", *_SEGMENT_FIELDS)
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


def _batches(ids: set[int], size: int = 900) -> Iterator[list[int]]:
    ordered = sorted(ids)
    for i in range(0, len(ordered), size):
        yield ordered[i : i + size]


def refresh_facts(*, full: bool = False) -> dict[str, int]:
    """Bring the fact tables up to date (see the module docstring); returns row counts.

    The incremental run rewrites only the rows of deals changed since the last run: a
    new stage change, a new field-history row (stage, owner, pipeline, outcome…) or an
    ``updated_at`` after it. Every other deal's open stay and closed-deal fact stays as it
    is (same row, same id)."""
    now = timezone.now()
    with transaction.atomic():
        state = FactsState.objects.select_for_update().order_by("pk").first() or FactsState.objects.create()
        last_field_change = OpportunityFieldChange.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        if full or state.last_deal_update is None:
            StageVisit.objects.all().delete()
            after = 0
            _write_deal_facts(None)
            _write_open_stays(None)
        else:
            after = state.last_stage_change_id
            touched = set(StageChange.objects.filter(pk__gt=after).values_list("opportunity_id", flat=True).distinct())
            touched |= set(
                OpportunityFieldChange.objects.filter(pk__gt=state.last_field_change_id)
                .values_list("opportunity_id", flat=True)
                .distinct()
            )
            touched |= set(
                Opportunity.objects.filter(updated_at__gte=state.last_deal_update).values_list("pk", flat=True)
            )
            for ids in _batches(touched):
                _write_deal_facts(ids)
                _write_open_stays(ids)
        state.last_stage_change_id = _add_exits(after)
        state.last_field_change_id = last_field_change
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
