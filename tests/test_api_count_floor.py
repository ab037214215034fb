"""The API's list count with a floor (``core.keyset.api_page(..., floor=…)``): the rows owned in
the reader's scope settle "more than the cap" without the visibility rule's per-row tests,
and the count stays exact (or null above the cap) for every persona — never wrong."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from salesflow.activities.tests.factories import make_activity
from salesflow.core import keyset
from salesflow.sales.tests.factories import make_account, make_contact
from salesflow.users.services import share_grant
from salesflow.users.testing import PERSONA_NAMES

pytestmark = pytest.mark.django_db

RESOURCES = ["accounts", "contacts", "activities"]


@pytest.fixture
def world(personas):
    """Rows owned in and out of the department, and rows seen only through the work or a share
    (visible but not owned in scope: above the floor)."""
    mine = [make_account(personas.rep, name=f"客户 {n}") for n in range(4)]
    theirs = [make_account(personas.teammate, name=f"同事客户 {n}") for n in range(2)]
    outside = [make_account(personas.outsider, name=f"外部客户 {n}") for n in range(3)]
    for account in mine + theirs + outside:
        make_contact(account, name=f"{account.name} 联系人")
    # access follows the work: the rep's activity opens an outsider's account (and contact)
    make_activity(personas.rep, account=outside[0])
    # a share opens another one to the rep
    share_grant(actor=personas.outsider, target=outside[1], grantee_user=personas.rep)
    for account in mine:
        make_activity(personas.rep, account=account)
    make_activity(personas.teammate, account=theirs[0])
    make_activity(personas.outsider, account=outside[2])
    # an outsider's activity on the rep's account: visible through the account, not owned in scope
    make_activity(personas.outsider, account=mine[0])
    return personas


def _listed(api, resource: str) -> int:
    body = api.get(f"/{resource}", limit=200).json()
    assert body["next_cursor"] is None
    return len(body["items"])


def _count(api, resource: str, monkeypatch, cap: int) -> tuple[int | None, int]:
    monkeypatch.setattr(keyset, "API_COUNT_CAP", cap)
    with CaptureQueriesContext(connection) as ctx:
        body = api.get(f"/{resource}", limit=1).json()
    return body["count"], len(ctx.captured_queries)


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("who", PERSONA_NAMES)
def test_count_is_exact_up_to_the_cap_and_null_above(world, api_for, monkeypatch, resource, who):
    api = api_for(world.all()[who])
    listed = _listed(api, resource)
    assert _count(api, resource, monkeypatch, 10_000)[0] == listed
    if listed:
        assert _count(api, resource, monkeypatch, listed)[0] == listed
        assert _count(api, resource, monkeypatch, listed - 1)[0] is None


def test_the_world_has_rows_above_the_floor(world, api_for):
    """The fixture's point: the manager and the rep see rows they do not own in scope."""
    from salesflow.activities.permissions import activities_owned_by_scope
    from salesflow.parties.permissions import accounts_owned_by_scope, contacts_owned_by_scope

    for who in ("manager", "rep"):
        user = world.all()[who]
        api = api_for(user)
        assert _listed(api, "accounts") > accounts_owned_by_scope(user).count()
        assert _listed(api, "contacts") > contacts_owned_by_scope(user).count()
        assert _listed(api, "activities") > activities_owned_by_scope(user).count()


@pytest.mark.parametrize("resource", RESOURCES)
def test_the_floor_settles_a_count_above_the_cap_alone(world, api_for, monkeypatch, resource):
    """Below the floor's size the visible rows are not counted at all (one query fewer, and
    the only count is the owner-scoped one); between the floor and the visible count the
    full count runs and says null."""
    from salesflow.activities.permissions import activities_owned_by_scope
    from salesflow.parties.permissions import accounts_owned_by_scope, contacts_owned_by_scope

    manager = world.manager
    floor = {
        "accounts": accounts_owned_by_scope,
        "contacts": contacts_owned_by_scope,
        "activities": activities_owned_by_scope,
    }[resource](manager).count()
    api = api_for(manager)
    listed = _listed(api, resource)
    assert 1 < floor < listed
    exact, full_queries = _count(api, resource, monkeypatch, listed)
    assert exact == listed
    # floor > cap: null, and the visible rows' count did not run
    count, short_queries = _count(api, resource, monkeypatch, floor - 1)
    assert count is None and short_queries == full_queries - 1
    # floor ≤ cap < visible: the full count decides (null), both counts ran
    count, queries = _count(api, resource, monkeypatch, floor)
    assert count is None and queries == full_queries


def test_an_administrator_counts_once(world, api_for, monkeypatch):
    """No floor for an unrestricted reader: the plain count is already an index count."""
    api = api_for(world.admin)
    listed = _listed(api, "accounts")
    count, queries = _count(api, "accounts", monkeypatch, listed)
    capped, capped_queries = _count(api, "accounts", monkeypatch, listed - 1)
    assert count == listed and capped is None and capped_queries == queries
