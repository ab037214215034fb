"""Settings pages, the lead page's panel and the API, per persona; query counts; hostile input."""

from __future__ import annotations

import pytest

from salesflow.leads.tests.factories import make_lead
from salesflow.routing.models import AssignmentRule, FirstResponseSla, LeadCaptureForm, WorkingHours
from salesflow.routing.services import sla_save
from salesflow.routing.tests.factories import intake_lead, make_form, make_rule
from salesflow.users.services import system_actor

pytestmark = pytest.mark.django_db

PAGES = ["/settings/lead-forms/", "/settings/assignment/"]


@pytest.mark.parametrize("persona", ["manager", "rep", "support"])
def test_settings_pages_are_for_administrators_only(personas, client_for, api_for, persona) -> None:
    form = make_form()
    client = client_for(getattr(personas, persona))
    for path in [*PAGES, f"/settings/lead-forms/{form.pk}/"]:
        assert client.get(path).status_code == 403, path
    api = api_for(getattr(personas, persona))
    assert api.get("/lead-forms").status_code == 403
    assert api.get("/assignment-rules").status_code == 403
    assert api.post("/first-response-slas", {"source_channel": "inbound", "minutes": 5}).status_code == 403


def test_create_a_form_on_the_settings_page_and_read_its_snippets(personas, client_for) -> None:
    client = client_for(personas.admin)
    response = client.post(
        "/settings/lead-forms/",
        {
            "name": "展会表单",
            "source_channel": "inbound",
            "sub_channel": "event",
            "campaign": "2026 工博会",
            "shown_fields": ["name", "mobile", "company_name"],
            "required_fields": ["name", "mobile"],
            "consent_text": "我同意",
        },
    )
    form = LeadCaptureForm.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/settings/lead-forms/{form.pk}/"
    page = client.get(f"/settings/lead-forms/{form.pk}/").content.decode()
    assert f"/f/{form.token}/" in page and "&lt;iframe" in page and "name=&quot;website&quot;" in page
    bad = client.post(
        f"/settings/lead-forms/{form.pk}/",
        {"name": "x", "source_channel": "inbound", "redirect_url": "javascript:x", "shown_fields": ["name", "mobile"]},
    )
    assert bad.status_code == 400 and "http://" in bad.content.decode()


def test_rules_page_orders_and_previews(personas, client_for) -> None:
    first = make_rule(name="A", strategy="user", user=personas.rep)
    second = make_rule(name="B", strategy="round_robin", members=[personas.teammate, personas.outsider])
    sla_save(actor=system_actor(), source_channel="inbound", minutes=30)
    client = client_for(personas.admin)
    response = client.post(f"/settings/assignment/rules/{second.pk}/move/", {"direction": "up"})
    assert response.status_code == 302
    assert list(AssignmentRule.objects.order_by("position").values_list("name", flat=True)) == ["B", "A"]
    page = client.get("/settings/assignment/", {"source_channel": "inbound"}).content.decode()
    assert 'data-testid="rule-preview-result"' in page and str(personas.teammate) in page
    assert first.name in page
    created = client.post(
        "/settings/assignment/rules/new/",
        {"name": "负载", "strategy": "load_balanced", "members": [personas.rep.pk], "capacity": "5", "is_active": "on"},
    )
    assert created.status_code == 302 and AssignmentRule.objects.filter(name="负载", capacity=5).exists()
    refused = client.post("/settings/assignment/rules/new/", {"name": "负载2", "strategy": "load_balanced"})
    assert refused.status_code == 400
    hours = client.post(
        "/settings/assignment/hours/",
        {"hours-user": personas.rep.pk, "hours-weekdays": ["1", "2"], "hours-start": "09:00", "hours-end": "18:00"},
    )
    assert hours.status_code == 302 and WorkingHours.objects.get().weekdays == "12"
    sla = client.post(
        "/settings/assignment/slas/", {"sla-source_channel": "referral", "sla-minutes": "45", "sla-is_active": "on"}
    )
    assert sla.status_code == 302 and FirstResponseSla.objects.filter(source_channel="referral", minutes=45).exists()


def test_settings_pages_use_constant_queries(personas, client_for, django_assert_max_num_queries) -> None:
    client = client_for(personas.admin)
    for n in range(6):
        make_form(name=f"表单{n}")
        make_rule(name=f"规则{n}", strategy="round_robin", members=[personas.rep, personas.teammate])
    with django_assert_max_num_queries(20):
        assert client.get("/settings/lead-forms/").status_code == 200
    with django_assert_max_num_queries(25):
        assert client.get("/settings/assignment/").status_code == 200


def test_the_lead_panel_shows_history_and_sla_to_readers_only(
    personas, client_for, django_assert_max_num_queries
) -> None:
    sla_save(actor=system_actor(), source_channel="inbound", minutes=30)
    make_rule(name="全部", strategy="user", user=personas.rep)
    lead = intake_lead()
    client = client_for(personas.rep)
    with django_assert_max_num_queries(15):
        response = client.get(f"/routing/leads/{lead.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="assignment-row"' in html and "全部" in html and 'data-state="due"' in html
    assert client_for(personas.outsider).get(f"/routing/leads/{lead.pk}/").status_code == 404
    assert "routing-panel-slot" in client.get(f"/leads/{lead.pk}/").content.decode()
    zh = client_for(personas.rep, "zh-hans").get(f"/routing/leads/{lead.pk}/").content.decode()
    assert "分配记录" in zh


def test_api_crud_and_history(personas, api_for) -> None:
    api = api_for(personas.admin)
    created = api.post(
        "/lead-forms",
        {
            "name": "官网",
            "source_channel": "inbound",
            "sub_channel": "website",
            "fields": ["name", "mobile"],
            "allowed_origins": ["https://www.example.com"],
        },
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["public_url"].endswith(f"/f/{body['token']}/") and body["allowed_origins"] == [
        "https://www.example.com"
    ]
    patched = api.patch(f"/lead-forms/{body['id']}", {"campaign": "春季", "is_active": False})
    assert patched.status_code == 200 and patched.json()["campaign"] == "春季" and not patched.json()["is_active"]
    rule = api.post(
        "/assignment-rules",
        {"name": "轮流", "strategy": "round_robin", "member_ids": [personas.rep.pk, personas.teammate.pk]},
    )
    assert rule.status_code == 201 and rule.json()["member_ids"] == sorted([personas.rep.pk, personas.teammate.pk])
    other = api.post("/assignment-rules", {"name": "个人", "strategy": "user", "user_id": personas.outsider.pk})
    moved = api.post(f"/assignment-rules/{other.json()['id']}/move", {"direction": "up"})
    assert [r["name"] for r in moved.json()] == ["个人", "轮流"]
    sla = api.post("/first-response-slas", {"source_channel": "inbound", "minutes": 15})
    assert sla.status_code == 201
    assert api.post("/first-response-slas", {"source_channel": "inbound", "minutes": 20}).status_code == 409
    assert api.patch(f"/first-response-slas/{sla.json()['id']}", {"minutes": 25}).json()["minutes"] == 25
    lead = intake_lead()
    history = api_for(personas.outsider).get(f"/leads/{lead.pk}/assignments")
    assert history.status_code == 200
    data = history.json()
    assert data["history"][0]["strategy"] == "user" and data["sla"]["state"] == "due"
    assert api_for(personas.teammate).get(f"/leads/{lead.pk}/assignments").status_code == 404
    assert api.delete(f"/assignment-rules/{rule.json()['id']}").status_code == 204
    assert api.delete(f"/lead-forms/{body['id']}").status_code == 204


@pytest.mark.parametrize(
    "payload",
    [
        {"name": "x", "source_channel": "inbound", "fields": ["name", "mobile"], "bogus": 1},
        {"name": "x" * 50_000, "source_channel": "inbound"},
        {"name": "a\x00", "source_channel": "inbound"},
        {"name": "x", "source_channel": "nope", "fields": ["name", "mobile"]},
        {"name": "x", "source_channel": "inbound", "fields": ["password"]},
        {"name": "x", "source_channel": "inbound", "fields": ["name", "mobile"], "redirect_url": "javascript:alert(1)"},
        {"name": "x", "source_channel": "inbound", "fields": ["name", "mobile"], "allowed_origins": ["*"]},
        {"name": "x", "source_channel": "inbound", "fields": ["name"]},
    ],
    ids=["unknown", "50k", "nul", "channel", "field", "redirect", "origin", "no-contact"],
)
def test_api_refuses_hostile_forms(personas, api_for, payload) -> None:
    response = api_for(personas.admin).post("/lead-forms", payload)
    assert response.status_code == 400 and response.json()["errors"]
    assert not LeadCaptureForm.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"name": "x", "strategy": "user", "user_id": 9_999_999},
        {"name": "x", "strategy": "round_robin", "member_ids": [9_999_999]},
        {"name": "x", "strategy": "load_balanced", "member_ids": [], "capacity": 0},
        {"name": "x", "strategy": "user", "user_id": 1, "capacity": 1e300},
        {"name": "x", "strategy": "teleport"},
    ],
    ids=["user", "members", "capacity-0", "huge", "strategy"],
)
def test_api_refuses_hostile_rules(personas, api_for, payload) -> None:
    response = api_for(personas.admin).post("/assignment-rules", payload)
    assert response.status_code == 400
    assert not AssignmentRule.objects.exists()


def test_lead_page_shows_panel_slot_for_manual_leads(personas, client_for) -> None:
    lead = make_lead(owner=personas.rep)
    response = client_for(personas.rep).get(f"/routing/leads/{lead.pk}/")
    assert response.status_code == 200 and "No assignments recorded." in response.content.decode()
