"""The visibility rule for unowned records: pool membership decides (users.policy.unowned_q)."""

from __future__ import annotations

import pytest

from salesflow.activities.permissions import activities_visible_to
from salesflow.activities.services import activity_create
from salesflow.leads.permissions import leads_visible_to, leads_writable_by
from salesflow.leads.tests.factories import make_lead
from salesflow.parties.permissions import accounts_visible_to, accounts_writable_by, contacts_visible_to
from salesflow.parties.tests.factories import make_contact
from salesflow.pools.tests.factories import make_pool, pooled_account, pooled_lead
from salesflow.search.selectors import search
from salesflow.users import policy

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("narrow", [True, False], ids=["union", "exists"])
def test_pool_membership_decides_who_sees_unowned_records(personas, monkeypatch, narrow):
    monkeypatch.setattr(policy, "WIDE_SCOPE_OWNERS", 1000 if narrow else 0)
    pool_a = make_pool(personas.team_a, name="一组公海")
    pool_b = make_pool(personas.team_b, name="华南公海")
    lead_a = pooled_lead(pool_a, name="甲线索")
    lead_b = pooled_lead(pool_b, name="乙线索")
    triage = make_lead(owner=None, name="待分配")  # in no pool: the triage case
    account_a = pooled_account(pool_a, personas.admin, name="甲客户")
    account_b = pooled_account(pool_b, personas.admin, name="乙客户")
    expected = {
        # inside pool A: its members (team_a reps, assistant, support; the department manager)
        "rep": ({lead_a}, {account_a}),
        "teammate": ({lead_a}, {account_a}),
        "assistant": ({lead_a}, {account_a}),
        "support": ({lead_a}, {account_a}),
        "manager": ({lead_a, triage}, {account_a}),
        # pool B's team
        "outsider": ({lead_b}, {account_b}),
        "other_manager": ({lead_b, triage}, {account_b}),
        "admin": ({lead_a, lead_b, triage}, {account_a, account_b}),
    }
    for name, (leads, accounts) in expected.items():
        user = type(personas.rep).objects.get(username=name)  # no cached scope
        assert set(leads_visible_to(user)) == leads, name
        assert set(accounts_visible_to(user)) == accounts, name
        assert set(accounts_visible_to(user, probe=True)) == accounts, name


def test_reps_see_pooled_records_but_only_managers_write_them(personas):
    pool = make_pool(personas.team_a)
    lead = pooled_lead(pool)
    account = pooled_account(pool, personas.admin)
    assert lead not in leads_writable_by(personas.rep)
    assert account not in accounts_writable_by(personas.rep)
    assert lead in leads_writable_by(personas.manager)
    assert account in accounts_writable_by(personas.manager)
    assert lead not in leads_writable_by(personas.other_manager)


def test_contacts_activities_and_search_follow_the_rule(personas, no_completion_rules):
    pool = make_pool(personas.team_a)
    account = pooled_account(pool, personas.admin, name="公海星辰科技")
    contact = make_contact(account, name="公海联系人")
    lead = pooled_lead(pool, name="公海线索人")
    activity = activity_create(actor=personas.admin, kind="call", subject="回访", lead=lead)
    assert contact in contacts_visible_to(personas.rep)
    assert contact not in contacts_visible_to(personas.outsider)
    assert activity in activities_visible_to(personas.rep)
    assert activity not in activities_visible_to(personas.outsider)
    assert activity not in activities_visible_to(personas.other_manager)
    hits = {h.record_id for g in search(personas.rep, "公海星辰") for h in g.hits}
    assert account.pk in hits
    assert not [h for g in search(personas.outsider, "公海星辰") for h in g.hits]


def test_detail_pages_answer_404_outside_the_pool(personas, client_for):
    pool = make_pool(personas.team_a)
    lead = pooled_lead(pool)
    account = pooled_account(pool, personas.admin)
    assert client_for(personas.rep).get(f"/leads/{lead.pk}/").status_code == 200
    assert client_for(personas.rep).get(f"/accounts/{account.pk}/").status_code == 200
    assert client_for(personas.outsider).get(f"/leads/{lead.pk}/").status_code == 404
    assert client_for(personas.other_manager).get(f"/accounts/{account.pk}/").status_code == 404
