"""Rules → exact contributions and totals; recompute triggered by changes; rule edits."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from salesflow.activities.models import Activity
from salesflow.activities.services import activity_create
from salesflow.leads.choices import BantAnswer
from salesflow.leads.models import Lead
from salesflow.leads.services import lead_create, lead_update
from salesflow.leads.tests.factories import make_account, make_lead
from salesflow.parties.choices import CompanySize, Industry, SourceChannel, SubChannel
from salesflow.scoring.models import LeadScore, RecomputeRun, ScoreRule
from salesflow.scoring.services import (
    recompute_leads,
    rule_create,
    rule_delete,
    rule_update,
    stale_score_lead_ids,
)
from salesflow.scoring.tasks import recompute_stale
from salesflow.users.models import Territory

pytestmark = pytest.mark.django_db


def rule(**fields: Any) -> ScoreRule:
    values: dict[str, Any] = {"label": "r", "category": "fit", "window_days": 30, "is_active": True}
    values.update(fields)
    return ScoreRule.objects.create(**values)


@pytest.fixture
def rules() -> dict[str, ScoreRule]:
    return {
        "it": rule(label="IT industry", attribute="industry", operator="in", value="it,finance", points=15),
        "big": rule(label="Large company", attribute="size", operator="in", value="large,enterprise", points=10),
        "east": rule(label="East China", attribute="region", operator="eq", value="sf-test-east", points=5),
        "boss": rule(label="Senior title", attribute="title", operator="contains", value="总监, 经理", points=8),
        "web": rule(
            label="Web form", category="engagement", attribute="sub_channel", operator="eq", value="website", points=4
        ),
        "busy": rule(
            label="2+ activities in 30 days",
            category="engagement",
            attribute="activities",
            operator="gte",
            value="2",
            points=12,
        ),
        "forms": rule(
            label="Came back through the web form",
            category="engagement",
            attribute="form_submissions",
            operator="gte",
            value="2",
            points=6,
        ),
        "bant": rule(
            label="3+ BANT known", category="bant", attribute="bant_known", operator="gte", value="3", points=20
        ),
        "outbound": rule(label="Cold outbound", attribute="source_channel", operator="eq", value="outbound", points=-5),
        "off": rule(label="Inactive", attribute="industry", operator="eq", value="it", points=99, is_active=False),
    }


def contributions(lead: Lead) -> dict[str, int]:
    row = LeadScore.objects.get(lead=lead)
    return {item["label"]: item["points"] for item in row.contributions}


def test_every_rule_contributes_exactly(personas, rules) -> None:
    east = Territory.objects.create(name="华东测试", code="sf-test-east")
    make_account(owner=personas.rep, name="上海甲科技有限公司", size=CompanySize.LARGE, name_key="甲科技")
    lead = make_lead(
        owner=personas.rep,
        industry=Industry.IT,
        region=east,
        title="采购总监",
        company_name="上海甲科技有限公司",
        company_key="甲科技",
        sub_channel=SubChannel.WEBSITE,
        mobile="13800000001",
        budget_status=BantAnswer.YES,
        authority_status=BantAnswer.NO,
        need="ERP",
    )
    make_lead(owner=personas.rep, mobile="13800000001", sub_channel=SubChannel.WEBSITE)  # came back
    make_lead(owner=personas.rep, mobile="13800000001", sub_channel=SubChannel.EVENT)  # not a web form
    now = timezone.now()
    for days_ago in (1, 5, 40):
        activity = Activity.objects.create(kind="call", subject="c", owner=personas.rep, lead=lead)
        Activity.objects.filter(pk=activity.pk).update(created_at=now - timedelta(days=days_ago))

    assert recompute_leads([lead.pk]) == 1

    row = LeadScore.objects.get(lead=lead)
    assert contributions(lead) == {
        "IT industry": 15,
        "Large company": 10,
        "East China": 5,
        "Senior title": 8,
        "Web form": 4,
        "2+ activities in 30 days": 12,
        "Came back through the web form": 6,
        "3+ BANT known": 20,
        "Cold outbound": 0,
    }
    assert row.total == 80
    lead.refresh_from_db()
    assert lead.score == 80
    assert [item["rule"] for item in row.contributions] == [r.pk for r in rules.values() if r.is_active]


def test_a_lead_matching_nothing_scores_zero_and_negative_points_subtract(personas, rules) -> None:
    lead = make_lead(owner=personas.rep, title="", industry="", source_channel=SourceChannel.OUTBOUND)
    recompute_leads([lead.pk])
    row = LeadScore.objects.get(lead=lead)
    assert row.total == -5
    assert sum(1 for item in row.contributions if item["matched"]) == 1


def test_same_inputs_same_hash_and_changed_inputs_change_it(personas, rules) -> None:
    lead = make_lead(owner=personas.rep, industry=Industry.RETAIL)
    recompute_leads([lead.pk])
    first = LeadScore.objects.get(lead=lead)
    recompute_leads([lead.pk])
    again = LeadScore.objects.get(lead=lead)
    assert again.inputs_hash == first.inputs_hash and again.total == first.total
    Lead.objects.filter(pk=lead.pk).update(industry=Industry.FINANCE)
    recompute_leads([lead.pk])
    changed = LeadScore.objects.get(lead=lead)
    assert changed.inputs_hash != first.inputs_hash
    assert changed.total == first.total + 15


def test_recompute_queries_do_not_grow_with_the_batch(personas, rules, django_assert_max_num_queries) -> None:
    few = [make_lead(owner=personas.rep).pk for _ in range(3)]
    many = [make_lead(owner=personas.rep).pk for _ in range(40)]
    with django_assert_max_num_queries(14) as few_ctx:
        recompute_leads(few)
    with django_assert_max_num_queries(len(few_ctx.captured_queries)) as _many_ctx:
        recompute_leads(many)


def test_creating_and_editing_a_lead_rescores_it_in_the_background(personas, rules, committed) -> None:
    with committed():
        lead = lead_create(
            actor=personas.rep,
            owner=personas.rep,
            name="王总",
            mobile="13900000002",
            source_channel=SourceChannel.INBOUND,
            industry=Industry.IT,
        )
    assert LeadScore.objects.get(lead=lead).total == 15
    with committed():
        lead_update(actor=personas.rep, lead=lead, title="技术总监")
    assert LeadScore.objects.get(lead=lead).total == 23
    assert Lead.objects.get(pk=lead.pk).score == 23


def test_logging_activities_rescores_the_lead(personas, rules, committed, no_completion_rules) -> None:
    lead = make_lead(owner=personas.rep, title="")
    recompute_leads([lead.pk])
    assert LeadScore.objects.get(lead=lead).total == 0
    for n in range(2):
        with committed():
            activity_create(actor=personas.rep, kind="call", subject=f"call {n}", lead=lead)
    assert LeadScore.objects.get(lead=lead).total == 12


def test_a_rule_edit_rescores_every_lead_with_progress(personas, rules, committed) -> None:
    leads = [make_lead(owner=personas.rep, industry=Industry.IT) for _ in range(3)]
    recompute_leads([lead.pk for lead in leads])
    assert {LeadScore.objects.get(lead=lead).total for lead in leads} == {23}  # IT + 采购经理
    with committed():
        rule_update(actor=personas.admin, rule=rules["it"], points=30)
    run = RecomputeRun.objects.order_by("-id").first()
    assert run is not None and run.status == "done" and run.done == run.total == Lead.objects.count()
    assert {LeadScore.objects.get(lead=lead).total for lead in leads} == {38}
    with committed():
        rule_delete(actor=personas.admin, rule=rules["boss"])
    assert {LeadScore.objects.get(lead=lead).total for lead in leads} == {30}
    with committed():
        rule_create(
            actor=personas.admin,
            label="Any",
            category="fit",
            attribute="bant_known",
            operator="gte",
            value="0",
            points=1,
        )
    assert {LeadScore.objects.get(lead=lead).total for lead in leads} == {31}


def test_the_periodic_job_rescores_leads_changed_since(personas, rules) -> None:
    unscored = make_lead(owner=personas.rep)
    fresh = make_lead(owner=personas.rep)
    recompute_leads([fresh.pk])
    assert stale_score_lead_ids() == [unscored.pk]
    LeadScore.objects.filter(lead=fresh).update(computed_at=timezone.now() - timedelta(hours=1))
    Activity.objects.create(kind="call", subject="c", owner=personas.rep, lead=fresh)
    assert set(stale_score_lead_ids()) == {unscored.pk, fresh.pk}
    recompute_stale.call()
    assert stale_score_lead_ids() == []
    assert LeadScore.objects.filter(lead__in=[unscored, fresh]).count() == 2


def test_timeline_of_qualify_rescored(personas, rules, committed) -> None:
    from salesflow.leads.services import lead_qualify

    lead = make_lead(owner=personas.rep, title="")
    recompute_leads([lead.pk])
    assert LeadScore.objects.get(lead=lead).total == 0
    with committed():
        lead_qualify(
            actor=personas.rep,
            lead=lead,
            budget_status="yes",
            authority_status="yes",
            need="CRM",
            timeline=date.today() + timedelta(days=30),
        )
    assert LeadScore.objects.get(lead=lead).total == 20
