"""BANT evidence notes and the MQL → SQL hand-off (services in salesflow.leads)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse

from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.leads.models import Lead
from salesflow.leads.services import lead_hand_off, lead_qualify
from salesflow.leads.tests.factories import make_lead

pytestmark = pytest.mark.django_db


def test_evidence_notes_are_saved_with_the_bant_answers(personas, client_for) -> None:
    lead = make_lead(owner=personas.rep)
    lead_qualify(
        actor=personas.rep,
        lead=lead,
        budget_status="yes",
        authority_status="yes",
        need="CRM for 50 reps",
        timeline=date.today() + timedelta(days=60),
        budget_evidence="  采购预算邮件 2026-11  ",
        authority_evidence="CFO signs",
        timeline_evidence="Board meeting in January",
    )
    stored = Lead.objects.get(pk=lead.pk)
    assert (stored.budget_evidence, stored.authority_evidence, stored.timeline_evidence) == (
        "采购预算邮件 2026-11",
        "CFO signs",
        "Board meeting in January",
    )
    event = AuditEvent.objects.get(verb="leads.lead.qualified")
    assert event.data["changes"]["authority_evidence"] == ["", "CFO signs"]
    page = client_for(personas.rep).get(reverse("leads:detail", args=[lead.pk]))
    assert b'data-testid="bant-evidence-budget"' in page.content and "采购预算邮件".encode() in page.content


def test_too_long_evidence_is_refused_and_nothing_written(personas) -> None:
    lead = make_lead(owner=personas.rep)
    with pytest.raises(ValidationFailed) as exc:
        lead_qualify(
            actor=personas.rep,
            lead=lead,
            budget_status="yes",
            authority_status="yes",
            need="x",
            timeline=date.today(),
            budget_evidence="x" * 501,
        )
    assert "budget_evidence" in exc.value.field_errors
    assert Lead.objects.get(pk=lead.pk).status == "new"


def test_hand_off_records_who_and_when_once(personas) -> None:
    lead = make_lead(owner=personas.rep)
    assert lead.stage == "mql"
    lead_hand_off(actor=personas.assistant, lead=lead, note="Asked for a demo")
    stored = Lead.objects.get(pk=lead.pk)
    assert stored.stage == "sql" and stored.handed_off_by == personas.assistant
    assert stored.handed_off_at is not None and stored.hand_off_note == "Asked for a demo"
    event = AuditEvent.objects.get(verb="leads.lead.handed_off")
    assert event.data == {"from": "mql", "to": "sql", "note": "Asked for a demo"}
    with pytest.raises(Conflict):
        lead_hand_off(actor=personas.rep, lead=stored)
    assert AuditEvent.objects.filter(verb="leads.lead.handed_off").count() == 1


def test_hand_off_checks_the_actor_and_the_status(personas) -> None:
    lead = make_lead(owner=personas.rep)
    with pytest.raises(Forbidden):
        lead_hand_off(actor=personas.support, lead=lead)
    with pytest.raises(ValidationFailed):
        lead_hand_off(actor=personas.rep, lead=lead, note="x" * 501)
    closed = make_lead(owner=personas.rep, status="disqualified")
    with pytest.raises(Conflict):
        lead_hand_off(actor=personas.rep, lead=closed)
    assert Lead.objects.filter(stage="sql").count() == 0


def test_hand_off_page_api_and_list_filter(personas, client_for, api_for) -> None:
    lead = make_lead(owner=personas.rep)
    other = make_lead(owner=personas.rep)
    client = client_for(personas.rep)
    page = client.get(reverse("leads:detail", args=[lead.pk]))
    assert b'data-testid="hand-off-form"' in page.content
    response = client.post(reverse("leads:hand_off", args=[lead.pk]), {"handoff-note": "Ready"})
    assert response.status_code == 302
    page = client.get(reverse("leads:detail", args=[lead.pk]))
    assert b'data-testid="lead-handed-off"' in page.content and "张伟".encode() in page.content
    listing = client.get(reverse("leads:list"), {"stage": "sql"})
    assert f'data-lead-id="{lead.pk}"'.encode() in listing.content
    assert f'data-lead-id="{other.pk}"'.encode() not in listing.content
    api = api_for(personas.rep)
    body = api.post(f"/leads/{other.pk}/hand-off", {"note": "via API"}).json()
    assert body["stage"] == "sql" and body["handed_off_by_id"] == personas.rep.pk
    assert api.post(f"/leads/{other.pk}/hand-off", {"note": "again"}).status_code == 409
    assert api.post(f"/leads/{other.pk}/hand-off", {"note": "x", "extra": 1}).status_code == 400
    assert api.post(f"/leads/{other.pk}/hand-off", {"note": "a\x00b"}).status_code == 400
    assert api_for(personas.outsider).post(f"/leads/{lead.pk}/hand-off", {}).status_code == 404
    items = api.get("/leads", stage="mql").json()["items"]
    assert items == []
    qualified = api.post(
        f"/leads/{make_lead(owner=personas.rep).pk}/qualify",
        {
            "budget_status": "yes",
            "authority_status": "yes",
            "need": "n",
            "timeline": "2099-01-01",
            "timeline_evidence": "PO date",
        },
    ).json()
    assert qualified["timeline_evidence"] == "PO date"


def test_list_sorts_by_score(personas, client_for) -> None:
    low = make_lead(owner=personas.rep)
    high = make_lead(owner=personas.rep)
    Lead.objects.filter(pk=high.pk).update(score=50)
    Lead.objects.filter(pk=low.pk).update(score=5)
    content = client_for(personas.rep).get(reverse("leads:list"), {"sort": "-score"}).content.decode()
    assert content.index(f'data-lead-id="{high.pk}"') < content.index(f'data-lead-id="{low.pk}"')
