"""Test history: stage exits with known durations on known days (one deal each), written
the way the demo and bench write backdated history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.utils import timezone

from salesflow.sales.models import StageChange
from salesflow.sales.tests.factories import make_opportunity, stage
from salesflow.users.models import User


def noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12, 0), tzinfo=timezone.get_current_timezone())


def write_exits(owner: User, points: Sequence[tuple[dt.date, float]], stage_code: str = "qualification") -> None:
    """One deal per point, leaving ``stage_code`` on the day after ``days`` days in it."""
    from_stage = stage(stage_code)
    to_stage = stage("needs")
    rows = []
    for day, days in points:
        opp = make_opportunity(owner)
        rows.append(
            StageChange(
                opportunity=opp,
                from_stage=from_stage,
                to_stage=to_stage,
                changed_by=owner,
                changed_at=noon(day),
                duration_seconds=round(days * 86400),
                from_position=from_stage.position,
                to_position=to_stage.position,
                owner=owner,
                owner_team_id=owner.team_id,
            )
        )
    StageChange.objects.bulk_create(rows)
