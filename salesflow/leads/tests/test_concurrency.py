"""Two simultaneous conversions of one lead: the row lock lets exactly one through."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from salesflow.core.errors import Conflict
from salesflow.leads.models import Lead
from salesflow.leads.services import lead_convert
from salesflow.leads.tests.factories import qualified_lead
from salesflow.parties.models import Account
from salesflow.sales.models import Opportunity
from salesflow.users.testing import make_personas


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs real row locks and concurrent connections")
def test_concurrent_double_submit_converts_once():
    personas = make_personas()
    lead = qualified_lead(owner=personas.rep)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def submit() -> None:
        try:
            copy = Lead.objects.get(pk=lead.pk)
            barrier.wait()
            lead_convert(actor=personas.rep, lead=copy)
            outcomes.append("converted")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "converted"]
    assert Opportunity.objects.count() == 1
    assert Account.objects.count() == 1
