"""Two concurrent claims by one rep with one slot left under the cap: one wins, one is refused."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.utils import translation

from salesflow.core.errors import Conflict
from salesflow.parties.models import Account
from salesflow.pools.models import CapRule
from salesflow.pools.services import pool_claim
from salesflow.pools.tests.factories import make_pool, pooled_account
from salesflow.users.testing import make_personas


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers: the claims cannot race")
def test_concurrent_claims_never_pass_the_cap():
    personas = make_personas()
    pool = make_pool(personas.team_a)
    CapRule.objects.create(role="rep", kind="account", grade="A", max_count=1)
    accounts = [pooled_account(pool, personas.admin, grade="A", name=f"客户{i}") for i in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def claim(account: Account) -> None:
        try:
            barrier.wait(10)
            with translation.override("en"):
                pool_claim(actor=personas.rep, kind="account", record_id=account.pk)
            outcomes.append("claimed")
        except Conflict as exc:
            outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim, args=(a,)) for a in accounts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["cap_reached", "claimed"]
    assert Account.objects.filter(owner=personas.rep, grade="A").count() == 1
