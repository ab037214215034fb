"""The shared observations of the process (process.observations): each metric against the
model rows it is defined on, for the company, a team and a rep."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from salesflow.analytics.selectors import Node
from salesflow.process.observations import PROCESS_METRICS, Segment, observe
from salesflow.sales.models import LostReason, StageChange
from salesflow.sales.services import opportunity_close, opportunity_move_stage
from salesflow.sales.tests.factories import make_opportunity, stage
from salesflow.users.testing import Personas

pytestmark = pytest.mark.django_db


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(settings.TIME_ZONE))


def _move(personas: Personas, opp, code: str, when: datetime) -> None:  # type: ignore[no-untyped-def]
    with timezone.override(settings.TIME_ZONE):
        from unittest.mock import patch

        with patch("django.utils.timezone.now", return_value=when):
            opportunity_move_stage(actor=personas.admin, opportunity=opp, stage=stage(code))
    opp.refresh_from_db()


def test_time_in_stage_cycle_time_win_rate_and_rework(personas: Personas) -> None:
    today = timezone.localdate()
    start = today - timedelta(days=60)
    deals = []
    for owner in (personas.rep, personas.teammate, personas.outsider):
        opp = make_opportunity(owner)
        type(opp).objects.filter(pk=opp.pk).update(stage_entered_at=_at(start), created_at=_at(start))
        opp.refresh_from_db()
        deals.append(opp)
    rep_deal, mate_deal, outsider_deal = deals
    _move(personas, rep_deal, "qualification", _at(start + timedelta(days=3)))
    _move(personas, mate_deal, "qualification", _at(start + timedelta(days=5)))
    _move(personas, outsider_deal, "qualification", _at(start + timedelta(days=8)))
    _move(personas, rep_deal, "prospect", _at(start + timedelta(days=10)))  # back: a regression

    first = rep_deal.stage_changes.order_by("changed_at").first()
    assert first is not None and first.from_stage is not None
    prospect = first.from_stage.pk

    company = observe("time_in_stage", Segment(), start, today, stage_id=prospect)
    assert [o.value for o in company] == [3 * 86400.0, 5 * 86400.0, 8 * 86400.0]
    assert StageChange.objects.filter(from_stage_id=prospect).count() == 3
    team = observe("time_in_stage", Segment(node=Node("team", personas.team_a.pk)), start, today, stage_id=prospect)
    assert sorted(o.opportunity_id for o in team) == sorted([rep_deal.pk, mate_deal.pk])
    rep_only = observe("time_in_stage", Segment(node=Node("rep", personas.rep.pk)), start, today, stage_id=prospect)
    assert [o.value for o in rep_only] == [3 * 86400.0]
    assert [o.day for o in rep_only] == [start + timedelta(days=3)]

    rework = observe("rework_rate", Segment(node=Node("rep", personas.rep.pk)), start, today)
    assert [o.value for o in rework] == [0.0, 1.0]

    opportunity_close(actor=personas.admin, opportunity=mate_deal, outcome="won", closed_on=today)
    opportunity_close(
        actor=personas.admin,
        opportunity=outsider_deal,
        outcome="lost",
        closed_on=today,
        lost_reason=LostReason.objects.get(code="price"),
    )
    wins = observe("win_rate", Segment(), start, today)
    assert sorted((o.opportunity_id, o.value) for o in wins) == sorted([(mate_deal.pk, 1.0), (outsider_deal.pk, 0.0)])
    cycle = observe("cycle_time", Segment(), start, today)
    assert [(o.opportunity_id, o.value) for o in cycle] == [(mate_deal.pk, float((today - start).days))]

    with pytest.raises(ValueError):
        observe("time_in_stage", Segment(), start, today)
    assert set(PROCESS_METRICS) == {"time_in_stage", "cycle_time", "win_rate", "rework_rate"}
