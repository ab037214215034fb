"""The owner stored on every search row (``SearchEntry.owner_id``) is the record's owner —
a contact's: its account's — after every path that creates records or gives them another
owner or account: the one-record services, the batch imports (``search.inserts``), lead
conversion, reassignment with and without the followers, reassignment for neglect, pool
claim, release and recycling, moving a contact, merging two accounts and undoing it, and
the full rebuild. A rep's global search walks the rows by this owner (issue 6), so a stale
one would hide the record from its rep."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from salesflow.leads.models import Lead
from salesflow.leads.services import lead_convert, lead_create, lead_create_many, lead_update
from salesflow.leads.tests.factories import qualified_lead
from salesflow.merging.services import merge_undo, record_merge
from salesflow.parties.models import Account, Contact
from salesflow.parties.services import (
    account_create,
    account_create_many,
    account_reassign,
    account_reassign_for_neglect,
    account_update,
    contact_create,
    contact_create_many,
    contact_update,
)
from salesflow.pools.models import RecycleRule
from salesflow.pools.services import pool_claim, pool_release, recycle_run
from salesflow.pools.tests.factories import make_pool, pooled_account, pooled_lead
from salesflow.sales.models import Opportunity
from salesflow.sales.services import opportunity_create, opportunity_create_many, opportunity_update
from salesflow.search.models import SearchEntry
from salesflow.search.selectors import search
from salesflow.search.services import reindex
from salesflow.search.testing import indexed

pytestmark = pytest.mark.django_db
ANYWAY = {"duplicate_reason": "search owner test: similar names on purpose"}


def owners_now() -> dict[tuple[str, int], int | None]:
    """Every record's owner as the visibility policy keys on it, read from the records."""
    out: dict[tuple[str, int], int | None] = {}
    out.update({("account", pk): owner for pk, owner in Account.objects.values_list("pk", "owner_id")})
    out.update({("contact", pk): owner for pk, owner in Contact.objects.values_list("pk", "account__owner_id")})
    out.update({("lead", pk): owner for pk, owner in Lead.objects.values_list("pk", "owner_id")})
    out.update({("opportunity", pk): owner for pk, owner in Opportunity.objects.values_list("pk", "owner_id")})
    return out


def assert_owners_current() -> None:
    stored = {(k, pk): owner for k, pk, owner in SearchEntry.objects.values_list("kind", "object_id", "owner_id")}
    assert stored == owners_now()


def test_one_record_services_and_reassignments(personas: Any) -> None:
    rep, teammate, manager = personas.rep, personas.teammate, personas.manager
    account = account_create(actor=rep, owner=rep, name="华达科技有限公司", intake_options=ANYWAY)
    contact = contact_create(actor=rep, account=account, name="王芳", intake_options=ANYWAY)
    deal = opportunity_create(actor=rep, account=account, owner=rep, name="王芳项目")
    lead = lead_create(
        actor=rep, owner=rep, name="李雷", mobile="13900000001", source_channel="inbound", intake_options=ANYWAY
    )
    assert_owners_current()
    assert SearchEntry.objects.get(kind="contact", object_id=contact.pk).owner_id == rep.pk

    # the account alone: its contact's row follows (the contact has no owner of its own)
    account_update(actor=manager, account=account, owner=teammate)
    assert_owners_current()
    assert SearchEntry.objects.get(kind="contact", object_id=contact.pk).owner_id == teammate.pk
    # with the followers: the open deal goes too
    account_reassign(actor=manager, account=account, owner=rep, follow=True)
    assert_owners_current()
    account_reassign_for_neglect(actor=manager, account=account, owner=teammate, reason="三个月没有跟进")
    assert_owners_current()
    assert Opportunity.objects.get(pk=deal.pk).owner_id == teammate.pk

    opportunity_update(actor=manager, opportunity=deal, owner=rep)
    lead_update(actor=manager, lead=lead, owner=teammate)
    assert_owners_current()

    # a contact moved to another account carries that account's owner
    other = account_create(actor=manager, owner=manager, name="星河贸易", intake_options=ANYWAY)
    contact_update(actor=manager, contact=contact, account=other)
    assert_owners_current()
    assert SearchEntry.objects.get(kind="contact", object_id=contact.pk).owner_id == manager.pk


def test_batch_imports_and_conversion(personas: Any) -> None:
    rep = personas.rep
    accounts = account_create_many(
        actor=rep, rows=[{"owner": rep, "name": f"批量公司{i}"} for i in range(3)], intake_options=[ANYWAY] * 3
    )
    account = accounts[0].record
    assert account is not None
    contact_create_many(
        actor=rep, rows=[{"account": account, "name": f"联系人{i}"} for i in range(2)], intake_options=[ANYWAY] * 2
    )
    lead_create_many(
        actor=rep,
        rows=[
            {"owner": rep, "name": f"线索{i}", "mobile": f"1390000001{i}", "source_channel": "inbound"}
            for i in range(2)
        ],
        intake_options=[ANYWAY] * 2,
    )
    opportunity_create_many(actor=rep, rows=[{"account": account, "owner": rep, "name": "批量商机"}])
    assert_owners_current()
    assert SearchEntry.objects.filter(owner_id=rep.pk).count() == 3 + 2 + 2 + 1

    lead = indexed(qualified_lead(owner=rep, name="周杰", mobile="13900000020", company_name="深圳蓝海科技"))
    lead_convert(actor=rep, lead=lead, intake_options=ANYWAY)
    assert_owners_current()


def test_pool_claim_release_and_recycling(personas: Any) -> None:
    pool = make_pool(personas.team_a)
    lead = pooled_lead(pool)
    account = pooled_account(pool, personas.admin)
    reindex()  # the factories wrote the records around the services
    assert_owners_current()
    assert SearchEntry.objects.get(kind="lead", object_id=lead.pk).owner_id is None

    pool_claim(actor=personas.rep, kind="lead", record_id=lead.pk)
    pool_claim(actor=personas.rep, kind="account", record_id=account.pk)
    assert_owners_current()
    pool_release(actor=personas.rep, kind="account", record_id=account.pk, reason="不再跟进")
    assert_owners_current()
    assert SearchEntry.objects.get(kind="account", object_id=account.pk).owner_id is None

    RecycleRule.objects.create(name="30 天未跟进", kind="account", no_follow_up_days=30, target_pool=pool)
    due = account_create(actor=personas.rep, owner=personas.rep, name="已到期", intake_options=ANYWAY)
    contact_create(actor=personas.rep, account=due, name="到期联系人", intake_options=ANYWAY)
    Account.objects.filter(pk=due.pk).update(created_at=timezone.now() - timedelta(days=31))
    assert recycle_run().recycled == 1
    assert_owners_current()
    assert SearchEntry.objects.get(kind="account", object_id=due.pk).owner_id is None


def test_merging_accounts_and_undoing_it(personas: Any) -> None:
    rep, teammate, manager = personas.rep, personas.teammate, personas.manager
    survivor = account_create(actor=manager, owner=rep, name="合并公司甲", intake_options=ANYWAY)
    loser = account_create(actor=manager, owner=teammate, name="合并公司乙", intake_options=ANYWAY)
    moved = contact_create(actor=manager, account=loser, name="钱七", intake_options=ANYWAY)
    merge = record_merge(actor=manager, kind="account", survivor=survivor, loser=loser)
    assert_owners_current()
    row = SearchEntry.objects.get(kind="contact", object_id=moved.pk)
    assert row.owner_id == rep.pk and "合并公司甲" in row.subtitle
    # the rep finds the contact that came with the merge
    assert [h.record_id for g in search(rep, "钱") if g.kind == "contact" for h in g.hits] == [moved.pk]

    merge_undo(actor=manager, merge=merge)
    assert_owners_current()
    assert SearchEntry.objects.get(kind="contact", object_id=moved.pk).owner_id == teammate.pk


def test_full_rebuild_and_the_migration_fill(personas: Any) -> None:
    rep = personas.rep
    account = account_create(actor=rep, owner=rep, name="重建公司", intake_options=ANYWAY)
    contact_create(actor=rep, account=account, name="孙八", intake_options=ANYWAY)
    lead_create(
        actor=personas.manager,
        owner=None,
        name="无主线索",
        mobile="13900000030",
        source_channel="inbound",
        intake_options=ANYWAY,
    )
    reindex()
    assert_owners_current()

    from importlib import import_module

    migration = import_module("salesflow.search.migrations.0003_search_entry_owner")
    SearchEntry.objects.update(owner_id=None)
    migration.fill_owners(None, SimpleNamespace(connection=connection))
    assert_owners_current()
