"""Test data for work reports: records placed at exact local times (ORM writes, no audit)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from salesflow.activities.models import Activity
from salesflow.activities.tests.factories import make_account, make_lead, make_opportunity
from salesflow.sales.models import Opportunity, Stage, StageChange
from salesflow.users.models import User


def at(day: date, hour: int, minute: int, zone: str) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(zone))


def done_activity(owner: User, when: datetime, kind: str = "call", **fields: object) -> Activity:
    return Activity.objects.create(
        owner=owner, kind=kind, subject=f"{kind} {when:%m%d%H%M}", done=True, done_at=when, **fields
    )


def deal(owner: User, *, created_at: datetime | None = None, **fields: object) -> Opportunity:
    opp = make_opportunity(make_account(owner), owner, **fields)
    if created_at is not None:
        Opportunity.objects.filter(pk=opp.pk).update(created_at=created_at)
        opp.created_at = created_at
    return opp


def move(
    opp: Opportunity, when: datetime, to_code: str = "qualification", from_code: str | None = "prospect"
) -> StageChange:
    stages = {s.code: s for s in Stage.objects.filter(pipeline=opp.pipeline)}
    return StageChange.objects.create(
        opportunity=opp,
        from_stage=stages[from_code] if from_code else None,
        to_stage=stages[to_code],
        changed_by=opp.owner,
        changed_at=when,
        from_position=stages[from_code].position if from_code else None,
        to_position=stages[to_code].position,
        owner=opp.owner,
    )


def close(opp: Opportunity, outcome: str, on: date) -> Opportunity:
    code = "won" if outcome == "won" else "lost"
    stage = Stage.objects.get(pipeline=opp.pipeline, code=code)
    Opportunity.objects.filter(pk=opp.pk).update(outcome=outcome, closed_on=on, close_date=on, stage=stage)
    opp.refresh_from_db()
    return opp


def lead_at(owner: User, created_at: datetime, **fields: Any) -> object:
    from salesflow.leads.models import Lead

    lead = make_lead(owner, **fields)
    Lead.objects.filter(pk=lead.pk).update(created_at=created_at)
    return lead
