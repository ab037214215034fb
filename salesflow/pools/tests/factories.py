"""Pools, pooled records and caps for the tests."""

from __future__ import annotations

from typing import Any

from salesflow.leads.models import Lead
from salesflow.leads.tests.factories import make_lead
from salesflow.parties.models import Account
from salesflow.parties.tests.factories import make_account
from salesflow.pools.models import Pool, PoolAccount, PoolLead
from salesflow.users.models import Team, User


def make_pool(*teams: Team, name: str = "华东公海", **fields: Any) -> Pool:
    pool = Pool.objects.create(name=name, **fields)
    pool.teams.set(teams)
    return pool


def pooled_lead(pool: Pool, **fields: Any) -> Lead:
    lead = make_lead(owner=None, **fields)
    PoolLead.objects.create(lead=lead, pool=pool, reason="test")
    return lead


def pooled_account(pool: Pool, some_user: User, **fields: Any) -> Account:
    account = make_account(some_user, **fields)
    Account.objects.filter(pk=account.pk).update(owner=None)
    account.refresh_from_db()
    PoolAccount.objects.create(account=account, pool=pool, reason="test")
    return account
