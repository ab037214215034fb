"""Concurrent leads under one round-robin rule: the rule's row lock hands out distinct turns."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from salesflow.leads.models import Lead
from salesflow.routing.tests.factories import intake_lead, make_rule
from salesflow.users.testing import make_personas


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs real row locks and concurrent connections")
def test_concurrent_leads_never_get_the_same_round_robin_turn() -> None:
    personas = make_personas()
    members = [personas.rep, personas.teammate, personas.outsider, personas.manager]
    make_rule(name="轮流", strategy="round_robin", members=members)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def submit(n: int) -> None:
        try:
            barrier.wait()
            intake_lead(name=f"并发{n}", mobile=f"1390000{n:04d}", company_name=f"并发公司{n}")
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    owners = sorted(Lead.objects.values_list("owner_id", flat=True))
    assert owners == sorted(m.pk for m in members)  # four leads, four different reps
