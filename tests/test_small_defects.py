"""Small defects found trying the product: GET on an action URL, the favicon, the
sub-channel choices following the source channel, the admin pipeline page's width."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from salesflow.leads.forms import LeadForm
from salesflow.leads.services import lead_create
from salesflow.sales.tests.factories import make_opportunity
from salesflow.users.testing import Personas

pytestmark = pytest.mark.django_db


def test_opening_a_post_only_url_redirects_to_the_record(client: Client, personas: Personas) -> None:
    opp = make_opportunity(personas.rep)
    client.force_login(personas.rep)
    response = client.get(f"/opportunities/{opp.pk}/move/")
    assert response.status_code == 302
    assert response["Location"] == f"/opportunities/{opp.pk}/"
    assert client.get(response["Location"]).status_code == 200
    # htmx requests and the API keep their 405
    assert client.get(f"/opportunities/{opp.pk}/move/", headers={"HX-Request": "true"}).status_code == 405


def test_the_api_keeps_its_405_envelope(client: Client, personas: Personas) -> None:
    client.force_login(personas.rep)
    response = client.delete("/api/v1/me")
    assert response.status_code in (401, 405)
    assert response["Content-Type"].startswith("application/json")


def test_favicon(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("salesflow/favicon.svg")
    page = client.get("/login/")
    assert b'rel="icon"' in page.content


def test_sub_channel_choices_follow_the_source_channel(personas: Personas) -> None:
    form = LeadForm(user=personas.rep)
    attrs = form.fields["sub_channel"].widget.attrs
    assert attrs["data-options-for"] == "source_channel"
    mapping = json.loads(attrs["data-options-map"])
    assert "customer_referral" not in mapping["inbound"]
    assert mapping["referral"][0] == "customer_referral"
    lead = lead_create(
        actor=personas.rep,
        owner=personas.rep,
        name="王芳",
        source_channel="referral",
        sub_channel="customer_referral",
        mobile="13812345678",
    )
    assert lead.sub_channel == "customer_referral"


def test_admin_pipeline_page_uses_compact_stage_fields(client: Client, personas: Personas) -> None:
    from salesflow.sales.models import Pipeline

    client.force_login(personas.admin)
    pipeline = Pipeline.objects.get(is_default=True)
    page = client.get(f"/admin/sales/pipeline/{pipeline.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "sales/admin.css" in html
    assert 'cols="24"' in html and 'rows="2"' in html
    assert 'cols="40"' not in html
