"""Data quality: verify, stale, completeness (exact values), the page per persona, queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from salesflow.core.errors import Forbidden
from salesflow.core.models import AuditEvent
from salesflow.leads.models import Lead
from salesflow.leads.tests.factories import make_account, make_lead
from salesflow.parties.models import Account, Contact
from salesflow.scoring.quality import completeness, quality_of
from salesflow.scoring.selectors import quality_summary
from salesflow.scoring.services import record_verify
from salesflow.users.testing import REP_RECORD_WRITERS

pytestmark = pytest.mark.django_db


def test_completeness_is_the_weighted_share_of_filled_fields(personas) -> None:
    lead = make_lead(owner=personas.rep, title="", industry="", credit_code="", email="a@example.com")
    # filled: mobile 2, email 1, company 2 = 5 of 9 → 55 %
    assert completeness("lead", lead) == (55, ["position", "industry", "region", "unified social credit code"])
    account = make_account(owner=personas.rep, industry="it", size="large", phone="021-1234567")
    # filled: industry 1, size 1, phone 1 = 3 of 8 → 37 %
    assert completeness("account", account) == (37, ["unified social credit code", "region", "address", "website"])
    contact = Contact.objects.create(account=account, name="李四", mobile="13900000000", email="l@example.com")
    assert completeness("contact", contact) == (42, ["position", "department", "phone", "WeChat ID"])


def test_stale_after_the_configured_days_and_verify_resets_it(personas) -> None:
    now = timezone.now()
    lead = make_lead(owner=personas.rep)
    Lead.objects.filter(pk=lead.pk).update(created_at=now - timedelta(days=181))
    lead.refresh_from_db()
    assert quality_of("lead", lead, now=now).stale is True
    with override_settings(SALESFLOW_STALE_AFTER_DAYS=200):
        assert quality_of("lead", lead, now=now).stale is False
    before = lead.updated_at
    record_verify(actor=personas.rep, kind="lead", record=lead)
    lead.refresh_from_db()
    assert lead.last_verified_by == personas.rep
    assert lead.updated_at == before  # verifying is not an edit
    assert quality_of("lead", lead, now=timezone.now()).stale is False
    event = AuditEvent.objects.get(verb="scoring.record.verified")
    assert event.data == {"kind": "lead", "previous": None}
    Lead.objects.filter(pk=lead.pk).update(last_verified_at=now - timedelta(days=181))
    lead.refresh_from_db()
    assert quality_of("lead", lead, now=now).stale is True


@pytest.mark.parametrize("persona", ["rep", "teammate", "manager", "outsider", "support", "admin", "assistant"])
def test_verify_follows_write_access(personas, persona) -> None:
    account = make_account(owner=personas.rep)
    contact = Contact.objects.create(account=account, name="李四", mobile="13900000000")
    actor = getattr(personas, persona)
    for kind, record in (("account", account), ("contact", contact)):
        if persona in REP_RECORD_WRITERS:
            record_verify(actor=actor, kind=kind, record=record)
            assert type(record).objects.get(pk=record.pk).last_verified_by_id == actor.pk
        else:
            with pytest.raises(Forbidden):
                record_verify(actor=actor, kind=kind, record=record)
            assert type(record).objects.get(pk=record.pk).last_verified_at is None


def test_verify_pages_and_api(personas, client_for, api_for) -> None:
    lead = make_lead(owner=personas.rep)
    account = make_account(owner=personas.rep)
    client = client_for(personas.rep)
    response = client.post(reverse("scoring:verify", args=["lead", lead.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("leads:detail", args=[lead.pk])
    assert Lead.objects.get(pk=lead.pk).last_verified_by_id == personas.rep.pk
    card = client.get(reverse("scoring:quality_card", args=["lead", lead.pk]))
    assert card.status_code == 200 and b'data-testid="verify-button"' in card.content
    assert client_for(personas.support).get(reverse("scoring:quality_card", args=["lead", lead.pk])).status_code == 200
    assert (
        b"verify-button"
        not in client_for(personas.support).get(reverse("scoring:quality_card", args=["lead", lead.pk])).content
    )
    assert client_for(personas.support).post(reverse("scoring:verify", args=["lead", lead.pk])).status_code == 403
    assert client_for(personas.outsider).post(reverse("scoring:verify", args=["lead", lead.pk])).status_code == 404
    assert client.get(reverse("scoring:quality_card", args=["bogus", lead.pk])).status_code == 404
    api = api_for(personas.rep)
    response = api.post(f"/accounts/{account.pk}/verify")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["kind"] == "account" and body["last_verified_by_id"] == personas.rep.pk and body["stale"] is False
    assert api_for(personas.outsider).post(f"/accounts/{account.pk}/verify").status_code == 404
    assert api_for(personas.support).post(f"/accounts/{account.pk}/verify").status_code == 403
    assert api.post("/contacts/999999/verify").status_code == 404
    quality = api.get(f"/leads/{lead.pk}/quality").json()
    assert quality["completeness"] == 66
    assert quality["missing"] == ["industry", "region", "unified social credit code"]


def _seed(personas):
    now = timezone.now()
    old = now - timedelta(days=400)
    rep_leads = [make_lead(owner=personas.rep, industry="it") for _ in range(3)]
    Lead.objects.filter(pk=rep_leads[0].pk).update(created_at=old)
    Lead.objects.filter(pk=rep_leads[1].pk).update(title="", email="", company_name="")  # incomplete
    make_lead(owner=personas.outsider)
    account = make_account(owner=personas.rep)
    Account.objects.filter(pk=account.pk).update(created_at=old, last_verified_at=old)
    Contact.objects.create(account=account, name="王五", mobile="13900000009")
    return now


def test_quality_summary_counts_only_visible_records(personas) -> None:
    now = _seed(personas)
    rows = {row.owner_id: row.counts for row in quality_summary(personas.manager, now=now)}
    assert set(rows) == {personas.rep.pk}
    assert rows[personas.rep.pk] == {"lead": (3, 1, 1), "account": (1, 1, 1), "contact": (1, 0, 1)}
    admin_rows = {row.owner_id: row.counts for row in quality_summary(personas.admin, now=now)}
    assert admin_rows[personas.outsider.pk]["lead"] == (1, 0, 1)  # no industry: 66 % < 70 %
    assert set(admin_rows) == {personas.rep.pk, personas.outsider.pk}


@pytest.mark.parametrize(
    ("persona", "status"),
    [("manager", 200), ("admin", 200), ("other_manager", 200), ("rep", 403), ("support", 403), ("assistant", 403)],
)
def test_quality_page_per_persona(personas, client_for, persona, status) -> None:
    _seed(personas)
    response = client_for(getattr(personas, persona)).get(reverse("scoring:quality"))
    assert response.status_code == status
    if persona == "other_manager":  # sees the outsider's records, none of rep's
        assert f'data-owner="{personas.outsider.pk}"'.encode() in response.content
        assert f'data-owner="{personas.rep.pk}"'.encode() not in response.content
    if persona == "manager":
        assert f'data-owner="{personas.rep.pk}"'.encode() in response.content
        link = reverse("scoring:quality_list", args=["lead"]) + f"?owner={personas.rep.pk}&amp;flag=stale"
        assert link.encode() in response.content


def test_quality_list_links_filter_and_respect_visibility(personas, client_for) -> None:
    _seed(personas)
    url = reverse("scoring:quality_list", args=["lead"])
    page = client_for(personas.manager).get(url, {"owner": personas.rep.pk, "flag": "incomplete"})
    assert page.status_code == 200 and page.content.count(b'data-testid="quality-list-row"') == 1
    hidden = client_for(personas.other_manager).get(url, {"owner": personas.rep.pk})
    assert hidden.content.count(b'data-testid="quality-list-row"') == 0
    assert client_for(personas.manager).get(url, {"owner": "x\x00y"}).status_code == 400  # NUL: refused
    odd = client_for(personas.manager).get(url, {"owner": "abc", "flag": "zzz"})
    assert odd.status_code == 200 and b'data-testid="quality-list-row"' not in odd.content
    assert client_for(personas.manager).get(reverse("scoring:quality_list", args=["bogus"])).status_code == 404


def test_quality_page_query_count_is_constant(personas, client_for, django_assert_max_num_queries) -> None:
    _seed(personas)
    client = client_for(personas.admin)
    with django_assert_max_num_queries(20) as ctx:
        client.get(reverse("scoring:quality"))
    for n in range(5):
        owner = [personas.teammate, personas.outsider, personas.other_manager][n % 3]
        make_lead(owner=owner)
        make_account(owner=owner)
    with django_assert_max_num_queries(len(ctx.captured_queries)):
        client.get(reverse("scoring:quality"))
