"""Query counts of the lead pages and API do not grow with the number of rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from salesflow.leads.choices import LeadStatus
from salesflow.leads.models import DisqualifyReason
from salesflow.leads.services import lead_convert
from salesflow.leads.tests.factories import make_lead, qualified_lead

pytestmark = pytest.mark.django_db


def count_queries(call):
    with CaptureQueriesContext(connection) as ctx:
        response = call()
    assert response.status_code == 200
    return len(ctx.captured_queries)


def seed_leads(personas, n):
    reason = DisqualifyReason.objects.first()
    for i in range(n):
        owner = [personas.rep, personas.teammate, None][i % 3]
        status = LeadStatus.DISQUALIFIED if i % 4 == 0 else LeadStatus.NEW
        make_lead(owner=owner, status=status, disqualify_reason=reason if status == LeadStatus.DISQUALIFIED else None)


@pytest.mark.parametrize("who", ["rep", "manager", "admin"])
def test_list_page_constant(personas, client_for, django_assert_max_num_queries, who):
    client = client_for(getattr(personas, who))
    seed_leads(personas, 3)
    client.get(reverse("leads:list"))  # warm the process-wide caches (content types) when run first
    few = count_queries(lambda: client.get(reverse("leads:list")))
    seed_leads(personas, 20)
    assert count_queries(lambda: client.get(reverse("leads:list"))) == few
    # 14: +4 since tags and bulk actions: tags (filter choices, chips), bulk bar (owners, reasons);
    # 15: +1 issue 8, the known-customer badge (one protection_knowncustomermatch query for the page)
    with django_assert_max_num_queries(15):
        client.get(reverse("leads:list"), {"q": "138", "sort": "name"})


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_api_list_constant(personas, api_for, who):
    api = api_for(getattr(personas, who))
    seed_leads(personas, 3)
    api.get("/leads")  # the first call of a token records its last use
    few = count_queries(lambda: api.get("/leads"))
    seed_leads(personas, 20)
    assert count_queries(lambda: api.get("/leads")) == few
    assert few <= 8


def test_detail_page_bounded(personas, client_for, django_assert_max_num_queries):
    client = client_for(personas.manager)
    lead = qualified_lead(owner=personas.rep)
    client.get(reverse("leads:detail", args=[lead.pk]))  # warm the process-wide caches (content types)
    with django_assert_max_num_queries(14):
        assert client.get(reverse("leads:detail", args=[lead.pk])).status_code == 200
    lead_convert(actor=personas.rep, lead=lead)
    with django_assert_max_num_queries(14):
        assert client.get(reverse("leads:detail", args=[lead.pk])).status_code == 200


def test_detail_timeline_does_not_grow(personas, client_for):
    from salesflow.leads.services import lead_update

    client = client_for(personas.rep)
    lead = make_lead(owner=personas.rep)
    client.get(reverse("leads:detail", args=[lead.pk]))  # warm the process-wide caches (content types)
    few = count_queries(lambda: client.get(reverse("leads:detail", args=[lead.pk])))
    for i in range(15):
        lead_update(actor=personas.rep, lead=lead, campaign=f"c{i}")
    assert count_queries(lambda: client.get(reverse("leads:detail", args=[lead.pk]))) == few
