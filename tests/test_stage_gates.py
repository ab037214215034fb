"""Stage gates across apps: the criterion types registered by activities ("a done demo or
visit") and leads ("BANT complete") from their AppConfig.ready(), through the move service."""

from __future__ import annotations

from datetime import date

import pytest

from salesflow.activities.services import activity_complete, activity_create
from salesflow.leads.choices import BantAnswer
from salesflow.leads.tests.factories import make_lead
from salesflow.sales.gate_services import stage_criterion_create
from salesflow.sales.gates import GateRefused, unmet_criteria
from salesflow.sales.models import Opportunity
from salesflow.sales.services import opportunity_move_stage
from salesflow.sales.tests.factories import make_opportunity, stage

pytestmark = pytest.mark.django_db


def test_done_demo_or_visit(personas, no_completion_rules):
    opp = make_opportunity(personas.rep, stage_code="demo")
    criterion = stage_criterion_create(
        actor=personas.admin, stage=stage("proposal"), kind="activity_done", params={"kinds": ["demo", "visit"]}
    )
    assert criterion.label == "" and "Demo or Visit" in unmet_criteria(opp, stage("proposal"))[0].label
    with pytest.raises(GateRefused) as exc:
        opportunity_move_stage(actor=personas.rep, opportunity=opp, stage=stage("proposal"))
    assert "No done activity" in exc.value.unmet[0].explanation
    # a planned visit does not count; a done call does not either
    visit = activity_create(actor=personas.rep, kind="visit", subject="上门拜访", opportunity=opp, done=False)
    activity_create(actor=personas.rep, kind="call", subject="电话", opportunity=opp, done=True)
    assert len(unmet_criteria(opp, stage("proposal"))) == 1
    activity_complete(actor=personas.rep, activity=visit)
    assert unmet_criteria(opp, stage("proposal")) == []
    opportunity_move_stage(actor=personas.rep, opportunity=opp, stage=stage("proposal"))
    assert Opportunity.objects.get(pk=opp.pk).stage == stage("proposal")


def test_bant_complete_on_the_source_lead(personas):
    opp = make_opportunity(personas.rep, stage_code="qualification")
    stage_criterion_create(actor=personas.admin, stage=stage("needs"), kind="bant_complete")
    [result] = unmet_criteria(opp, stage("needs"))
    assert "not converted from a lead" in result.explanation
    lead = make_lead(owner=personas.rep, converted_opportunity=opp, budget_status=BantAnswer.YES)
    [result] = unmet_criteria(opp, stage("needs"))
    assert "authority" in result.explanation and "budget" not in result.explanation
    lead.authority_status = BantAnswer.YES
    lead.need = "替换旧系统"
    lead.timeline = date(2027, 3, 1)
    lead.save()
    assert unmet_criteria(opp, stage("needs")) == []


def test_bant_type_takes_no_settings(personas):
    from salesflow.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        stage_criterion_create(actor=personas.admin, stage=stage("needs"), kind="bant_complete", params={"x": 1})
    with pytest.raises(ValidationFailed):
        stage_criterion_create(
            actor=personas.admin, stage=stage("needs"), kind="activity_done", params={"kinds": ["dance"]}
        )
