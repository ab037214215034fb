"""The demo quotes: accepted quotes on won deals match the deal amount; every state occurs;
idempotent."""

from __future__ import annotations

import pytest
from django.utils import timezone

from salesflow.demo.issue9_catalogue import seed_catalogue
from salesflow.demo.issue9_quotes import delete_demo_quotes, write_quotes
from salesflow.quotes.models import Quote, QuoteVersion
from salesflow.sales.models import Opportunity
from salesflow.sales.services import opportunity_close
from salesflow.sales.tests.factories import make_opportunity
from salesflow.users.testing import Personas

pytestmark = pytest.mark.django_db


def test_write_quotes(personas: Personas) -> None:
    won = [make_opportunity(personas.rep, name=f"销售管理系统项目 {i}", amount="380000") for i in range(4)]
    won.append(make_opportunity(personas.rep, name="手工报价项目", amount="123456.78"))
    late = [make_opportunity(personas.rep, stage_code="negotiation", amount="90000") for _ in range(12)]
    seed_catalogue()
    for deal in won:
        deal.refresh_from_db()
        opportunity_close(actor=personas.rep, opportunity=deal, outcome="won")
    created = write_quotes({}, timezone.localdate())
    assert created == len(won) + len(late)
    for deal in won:
        deal.refresh_from_db()
        quote = Quote.objects.get(opportunity=deal)
        assert quote.status == "accepted" and quote.accepted_version is not None
        assert quote.accepted_version.total == deal.amount, deal.name
    statuses = set(QuoteVersion.objects.values_list("status", flat=True))
    assert {"accepted", "declined", "superseded", "expired", "draft", "sent"} <= statuses
    assert QuoteVersion.objects.filter(version=3).exists()
    oldest = Quote.objects.order_by("created_at").first()
    assert oldest is not None and oldest.created_at <= timezone.now()
    assert write_quotes({}, timezone.localdate()) == 0
    # the demo's deletion removes the quotes first, then the deals can go
    assert delete_demo_quotes(Opportunity.objects.all()) == created
    assert Quote.objects.count() == 0 and QuoteVersion.objects.count() == 0
    Opportunity.objects.filter(pk__in=[d.pk for d in won]).delete()
