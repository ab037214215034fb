"""Assignment rules: conditions, strategies, working hours, history rows and the intake check."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.leads.models import Lead
from salesflow.leads.services import lead_update
from salesflow.leads.tests.factories import make_lead
from salesflow.routing import services
from salesflow.routing.models import AssignmentRule, LeadAssignment
from salesflow.routing.services import choose_owner, rule_create, rule_move, rule_update, working_hours_add
from salesflow.routing.tests.factories import intake_lead, make_rule
from salesflow.users.models import Territory
from salesflow.users.services import system_actor

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _territories() -> dict[str, Territory]:
    china = Territory.objects.create(name="中国", code="rt-cn")
    east = Territory.objects.create(name="华东", code="rt-east", parent=china)
    shanghai = Territory.objects.create(name="上海", code="rt-sh", parent=east)
    south = Territory.objects.create(name="华南", code="rt-south", parent=china)
    return {"cn": china, "east": east, "sh": shanghai, "south": south}


def test_territory_rule_matches_its_subtree_only(personas) -> None:
    t = _territories()
    make_rule(name="华东", strategy="user", user=personas.teammate, territory=t["east"])
    make_rule(name="兜底", strategy="user", user=personas.outsider)
    in_city = intake_lead(region=t["sh"])
    in_south = intake_lead(region=t["south"])
    no_region = intake_lead()
    assert in_city.owner_id == personas.teammate.pk
    assert in_south.owner_id == personas.outsider.pk
    assert no_region.owner_id == personas.outsider.pk
    row = LeadAssignment.objects.get(lead=in_city)
    assert (row.strategy, row.rule_name, row.by_id) == ("user", "华东", system_actor().pk)


def test_specialty_source_and_campaign_conditions(personas) -> None:
    make_rule(name="制造业", strategy="user", user=personas.rep, industry="manufacturing")
    make_rule(name="展会", strategy="user", user=personas.teammate, campaign_contains="展会")
    make_rule(name="推荐", strategy="user", user=personas.outsider, source_channel="referral")
    assert intake_lead(industry="manufacturing").owner_id == personas.rep.pk
    assert intake_lead(campaign="2026 上海工博会展会").owner_id == personas.teammate.pk
    assert intake_lead(source_channel="referral").owner_id == personas.outsider.pk
    assert intake_lead(industry="it").owner_id is None  # nothing matched: unassigned


def test_round_robin_rotates_in_exact_sequence(personas) -> None:
    rule = make_rule(name="轮流", strategy="round_robin", members=[personas.outsider, personas.rep, personas.teammate])
    owners = [intake_lead().owner_id for _ in range(7)]
    ordered = sorted([personas.outsider.pk, personas.rep.pk, personas.teammate.pk])
    assert owners == [*ordered, *ordered, ordered[0]]
    rule.refresh_from_db()
    assert rule.last_user_id == ordered[0]
    rows = LeadAssignment.objects.filter(strategy="round_robin").count()
    assert rows == 7


def test_round_robin_over_a_team_skips_assistants_and_support(personas) -> None:
    make_rule(name="华东一组", strategy="round_robin", team=personas.team_a)
    owners = {intake_lead().owner_id for _ in range(4)}
    assert owners == {personas.rep.pk, personas.teammate.pk}


def test_load_balanced_respects_capacity_then_falls_through(personas) -> None:
    make_lead(owner=personas.rep)
    make_lead(owner=personas.rep)
    make_lead(owner=personas.teammate)
    make_lead(owner=personas.teammate, status="converted")  # not open: not counted
    make_rule(name="负载", strategy="load_balanced", members=[personas.rep, personas.teammate], capacity=3)
    make_rule(name="兜底", strategy="user", user=personas.outsider)
    first = intake_lead()  # rep 2, teammate 1 → teammate
    second = intake_lead()  # 2, 2 → lowest id (rep)
    third = intake_lead()  # rep 3, teammate 2 → teammate
    fourth = intake_lead()  # both at 3 → next rule
    assert [first.owner_id, second.owner_id, third.owner_id, fourth.owner_id] == [
        personas.teammate.pk,
        personas.rep.pk,
        personas.teammate.pk,
        personas.outsider.pk,
    ]
    row = LeadAssignment.objects.get(lead=first)
    assert row.strategy == "load_balanced" and "1" in row.reason and "3" in row.reason


def test_working_hours_skip_users_off_duty_with_a_stopped_clock(personas, monkeypatch) -> None:
    rule = make_rule(
        name="工作时间", strategy="round_robin", members=[personas.rep, personas.teammate], respect_working_hours=True
    )
    make_rule(name="值班", strategy="user", user=personas.outsider)
    actor = system_actor()
    # rep: weekday mornings; teammate: the rule's hours (weekday afternoons)
    working_hours_add(actor=actor, user=personas.rep, weekdays="12345", start=time(9), end=time(12))
    working_hours_add(actor=actor, rule=rule, weekdays="12345", start=time(13), end=time(18))
    monday_morning = datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI)
    monday_afternoon = datetime(2026, 12, 7, 14, 0, tzinfo=SHANGHAI)
    saturday = datetime(2026, 12, 12, 10, 0, tzinfo=SHANGHAI)
    monkeypatch.setattr(services, "_now", lambda: monday_morning)
    assert [intake_lead().owner_id for _ in range(2)] == [personas.rep.pk, personas.rep.pk]
    monkeypatch.setattr(services, "_now", lambda: monday_afternoon)
    assert intake_lead().owner_id == personas.teammate.pk
    monkeypatch.setattr(services, "_now", lambda: saturday)
    lead = intake_lead()
    assert lead.owner_id == personas.outsider.pk  # nobody on duty: the next rule
    assert LeadAssignment.objects.get(lead=lead).rule_name == "值班"


def test_overnight_hours_cover_midnight(personas) -> None:
    rule = make_rule(name="夜班", strategy="user", user=personas.rep, respect_working_hours=True)
    working_hours_add(actor=system_actor(), rule=rule, weekdays="1", start=time(22), end=time(6))
    values = {"source_channel": "inbound"}
    assert choose_owner(values, now=datetime(2026, 12, 7, 23, 0, tzinfo=SHANGHAI), preview=True) is not None
    assert choose_owner(values, now=datetime(2026, 12, 8, 5, 0, tzinfo=SHANGHAI), preview=True) is not None
    assert choose_owner(values, now=datetime(2026, 12, 8, 7, 0, tzinfo=SHANGHAI), preview=True) is None


def test_preview_writes_nothing(personas) -> None:
    rule = make_rule(name="轮流", strategy="round_robin", members=[personas.rep, personas.teammate])
    for _ in range(3):
        decision = choose_owner({"source_channel": "inbound"}, preview=True)
        assert decision is not None and decision.owner == personas.rep
    rule.refresh_from_db()
    assert rule.last_user_id is None


def test_rules_apply_only_without_an_owner(personas) -> None:
    make_rule(name="全部", strategy="user", user=personas.outsider)
    lead = intake_lead(owner=personas.rep)
    assert lead.owner_id == personas.rep.pk
    row = LeadAssignment.objects.get(lead=lead)
    assert row.strategy == "manual" and row.rule is None


def test_manual_reassignment_is_recorded_with_the_previous_owner(personas) -> None:
    make_rule(name="全部", strategy="user", user=personas.rep)
    lead = intake_lead()
    lead_update(actor=personas.manager, lead=lead, owner=personas.teammate, intake_options={"reason": "客户要求"})
    lead_update(actor=personas.manager, lead=lead, notes="no owner change")
    rows = list(LeadAssignment.objects.filter(lead=lead).order_by("at", "id"))
    assert [(r.strategy, r.owner_id, r.previous_owner_id) for r in rows] == [
        ("user", personas.rep.pk, None),
        ("manual", personas.teammate.pk, personas.rep.pk),
    ]
    assert rows[1].by_id == personas.manager.pk and rows[1].reason == "客户要求"


def test_rule_assignment_is_audited_and_notifies_the_owner(personas) -> None:
    make_rule(name="全部", strategy="user", user=personas.rep)
    lead = intake_lead()
    event = AuditEvent.objects.get(verb="routing.lead.assigned", target_id=lead.pk)
    assert event.data["owner"] == personas.rep.pk and event.data["rule"] == "全部"
    created = AuditEvent.objects.get(verb="leads.lead.created", target_id=lead.pk)
    assert created.data["owner"] == personas.rep.pk


def test_inactive_users_and_rules_are_never_chosen(personas) -> None:
    rule = make_rule(name="轮流", strategy="round_robin", members=[personas.rep, personas.teammate])
    personas.rep.is_active = False
    personas.rep.save()
    assert {intake_lead().owner_id for _ in range(2)} == {personas.teammate.pk}
    rule_update(actor=personas.admin, rule=rule, is_active=False)
    assert intake_lead().owner_id is None


def test_rule_validation_and_permissions(personas) -> None:
    with pytest.raises(Forbidden):
        rule_create(actor=personas.manager, name="x", strategy="user", user=personas.rep)
    with pytest.raises(ValidationFailed) as exc:
        rule_create(actor=personas.admin, name="", strategy="load_balanced", members=[personas.support])
    assert {"name", "members", "capacity"} <= set(exc.value.field_errors)
    with pytest.raises(ValidationFailed) as exc:
        rule_create(actor=personas.admin, name="x", strategy="nope")
    assert "strategy" in exc.value.field_errors
    with pytest.raises(ValidationFailed):
        rule_create(actor=personas.admin, name="x" * 50_000, strategy="user", user=personas.rep)
    with pytest.raises(ValidationFailed):
        rule_create(actor=personas.admin, name="a\x00", strategy="user", user=personas.rep)
    assert not AssignmentRule.objects.exists()


def test_moving_rules_changes_the_evaluation_order(personas) -> None:
    first = make_rule(name="A", strategy="user", user=personas.rep)
    second = make_rule(name="B", strategy="user", user=personas.teammate)
    assert intake_lead().owner_id == personas.rep.pk
    rule_move(actor=personas.admin, rule=second, direction="up")
    assert list(AssignmentRule.objects.order_by("position").values_list("pk", flat=True)) == [second.pk, first.pk]
    assert intake_lead().owner_id == personas.teammate.pk


def test_a_manager_entering_an_unassigned_lead_gets_it_routed(personas) -> None:
    from salesflow.leads.services import lead_create

    make_rule(name="全部", strategy="user", user=personas.teammate)
    lead = lead_create(
        actor=personas.manager,
        owner=None,
        name="王五",
        mobile="13912345678",
        source_channel="inbound",
        intake_options={"duplicate_reason": "test"},
    )
    assert Lead.objects.get(pk=lead.pk).owner_id == personas.teammate.pk
    assert LeadAssignment.objects.get(lead=lead).by_id == personas.manager.pk
