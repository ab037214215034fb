"""First-response SLAs: the clock, responses, escalation exactly once to the manager."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from salesflow.activities.models import Activity
from salesflow.core.errors import Conflict, Forbidden
from salesflow.core.models import AuditEvent
from salesflow.leads.services import lead_update
from salesflow.routing.models import SlaClock
from salesflow.routing.selectors import sla_state
from salesflow.routing.services import escalate_missed_slas, sla_for, sla_save
from salesflow.routing.tests.factories import intake_lead, make_rule
from salesflow.users.services import system_actor

pytestmark = pytest.mark.django_db


def _later(minutes: int) -> datetime:
    return timezone.now() + timedelta(minutes=minutes)


def test_the_more_specific_sla_wins(personas) -> None:
    general = sla_save(actor=system_actor(), source_channel="inbound", minutes=60)
    web = sla_save(actor=system_actor(), source_channel="inbound", sub_channel="website", minutes=15)
    assert sla_for("inbound", "website") == web
    assert sla_for("inbound", "content") == general
    assert sla_for("referral", "") is None
    with pytest.raises(Conflict):
        sla_save(actor=system_actor(), source_channel="inbound", sub_channel="website", minutes=5)
    with pytest.raises(Forbidden):
        sla_save(actor=personas.manager, source_channel="referral", minutes=5)


def test_a_missed_sla_is_escalated_to_the_owners_manager_exactly_once(personas, committed) -> None:
    sla_save(actor=system_actor(), source_channel="inbound", sub_channel="website", minutes=30)
    make_rule(name="全部", strategy="user", user=personas.rep)
    lead = intake_lead(sub_channel="website")
    clock = SlaClock.objects.get(lead=lead)
    assert clock.owner_id == personas.rep.pk
    assert (clock.due_at - clock.started_at) == timedelta(minutes=30)
    assert sla_state(lead).state == "due"  # type: ignore[union-attr]
    assert escalate_missed_slas(now=_later(20)) == 0
    with committed():
        assert escalate_missed_slas(now=_later(31)) == 1
    assert escalate_missed_slas(now=_later(60)) == 0  # idempotent
    event = AuditEvent.objects.get(verb="routing.lead.sla_missed")
    assert event.target_id == lead.pk and event.data["owner"] == personas.rep.pk and event.data["minutes"] == 30
    # notifications sit above routing: read them by name (kind routing.lead.sla_missed)
    notification = apps.get_model("notifications", "Notification")
    notes = list(notification.objects.filter(kind="routing.lead.sla_missed"))
    assert [n.recipient_id for n in notes] == [personas.manager.pk]
    assert notes[0].target_id == lead.pk
    assert sla_state(lead).state == "escalated"  # type: ignore[union-attr]


def test_a_done_activity_or_a_status_change_answers_the_sla(personas) -> None:
    sla_save(actor=system_actor(), source_channel="inbound", minutes=10)
    make_rule(name="全部", strategy="user", user=personas.rep)
    called = intake_lead()
    contacted = intake_lead()
    silent = intake_lead()
    Activity.objects.create(
        owner=personas.rep, kind="call", subject="回电", lead=called, done=True, done_at=timezone.now()
    )
    lead_update(actor=personas.rep, lead=contacted, notes="x")
    contacted.status = "contacted"
    contacted.save(update_fields=["status"])
    assert sla_state(called).state == "met"  # type: ignore[union-attr]
    assert escalate_missed_slas(now=_later(11)) == 1
    escalated = SlaClock.objects.get(escalated_at__isnull=False)
    assert escalated.lead_id == silent.pk
    assert SlaClock.objects.filter(responded_at__isnull=False).count() == 2


def test_unassigned_leads_and_sources_without_sla_have_no_clock(personas) -> None:
    sla_save(actor=system_actor(), source_channel="referral", minutes=10)
    lead = intake_lead()  # no rule: unassigned; inbound: no SLA anyway
    assert not SlaClock.objects.filter(lead=lead).exists()
    assert sla_state(lead) is None
    assert escalate_missed_slas(now=_later(100)) == 0


def test_the_job_works_in_bounded_batches(personas) -> None:
    sla_save(actor=system_actor(), source_channel="inbound", minutes=1)
    make_rule(name="全部", strategy="user", user=personas.rep)
    for _ in range(5):
        intake_lead()
    assert escalate_missed_slas(now=_later(5), batch=2) == 5
    assert escalate_missed_slas(now=_later(5), batch=2) == 0


def test_the_lead_list_filters_by_first_response_state(personas, client_for, api_for) -> None:
    """``sla=`` on the lead list (page, API, export) follows ``sla_state``: due, missed
    (past due, not escalated), escalated and met; a lead without a clock is in none; an
    unknown value matches nothing."""
    from salesflow.leads.selectors import lead_list

    sla_save(actor=system_actor(), source_channel="inbound", minutes=10)
    make_rule(name="全部", strategy="user", user=personas.rep)
    _waiting, late, escalated, answered = (intake_lead(name=n) for n in ("等待中", "已超时", "已升级", "已回应"))
    SlaClock.objects.filter(lead__in=[late, escalated]).update(due_at=timezone.now() - timedelta(minutes=5))
    assert escalate_missed_slas(now=timezone.now()) == 2
    SlaClock.objects.filter(lead=late).update(escalated_at=None, responded_at=None)  # missed, not escalated yet
    Activity.objects.create(
        owner=personas.rep, kind="call", subject="回电", lead=answered, done=True, done_at=timezone.now()
    )
    no_clock = intake_lead(name="无时钟", source_channel="referral")

    def names(value: str) -> set[str]:
        return set(lead_list(personas.manager, extra={"sla": value}).values_list("name", flat=True))

    assert names("due") == {"等待中"}
    assert names("missed") == {"已超时"}
    assert names("escalated") == {"已升级"}
    assert names("met") == {"已回应"}
    assert names("bogus") == set()
    assert no_clock.name not in names("met") | names("due")
    assert sla_state(late).state == "missed"  # type: ignore[union-attr]

    page = client_for(personas.manager, "zh-hans").get("/leads/", {"sla": "missed"}).content.decode()
    assert "已超时" in page and "等待中</a>" not in page and 'data-testid="lead-sla-filter"' in page
    body = api_for(personas.manager).get("/leads?sla=escalated").json()
    assert [row["name"] for row in body["items"]] == ["已升级"]
    assert api_for(personas.manager).get("/leads?sla=" + "x" * 50).status_code == 400
