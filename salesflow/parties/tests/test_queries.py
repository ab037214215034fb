"""Query counts of list and detail pages (UI and API) do not grow with the number of rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from salesflow.core.audit import record_event
from salesflow.parties.tests.factories import make_account, make_contact, valid_credit_code
from salesflow.users.models import Territory

pytestmark = pytest.mark.django_db

LIST_MAX = 15  # +3 since tags and bulk actions: tag filter choices, tag chips prefetch, bulk owners
DETAIL_MAX = 13  # +1: the timeline reads the kinds of target it holds first (one probe per kind present)


def _count(client, url: str, **params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _accounts(personas, n: int) -> None:
    region = Territory.objects.get(code="shanghai")
    owners = [personas.rep, personas.teammate]
    for i in range(n):
        account = make_account(owners[i % 2], region=region, credit_code=valid_credit_code(), grade="A")
        make_contact(account)


@pytest.mark.parametrize("persona", ["rep", "manager", "admin"])
def test_account_list_queries_constant(personas, client_for, django_assert_max_num_queries, persona):
    client = client_for(getattr(personas, persona))
    _accounts(personas, 3)
    client.get("/accounts/")  # warm the process-wide caches (content types) when run first
    with django_assert_max_num_queries(LIST_MAX):
        few = _count(client, "/accounts/", q="客户", lifecycle="prospect", sort="-created")
    _accounts(personas, 20)
    assert _count(client, "/accounts/", q="客户", lifecycle="prospect", sort="-created") == few


@pytest.mark.parametrize("persona", ["rep", "manager"])
def test_contact_list_queries_constant(personas, client_for, django_assert_max_num_queries, persona):
    client = client_for(getattr(personas, persona))
    _accounts(personas, 3)
    client.get("/contacts/")  # warm the process-wide caches (content types) when run first
    with django_assert_max_num_queries(LIST_MAX):
        few = _count(client, "/contacts/")
    _accounts(personas, 20)
    assert _count(client, "/contacts/") == few


def test_account_detail_queries_constant(personas, client_for, django_assert_max_num_queries):
    account = make_account(personas.rep, region=Territory.objects.get(code="shanghai"))
    client = client_for(personas.manager)
    for _i in range(3):
        contact = make_contact(account)
        record_event(actor=personas.rep, verb="parties.contact.created", target=contact, related=[account])
    client.get(f"/accounts/{account.pk}/")  # warm the process-wide content-type cache
    with django_assert_max_num_queries(DETAIL_MAX):
        few = _count(client, f"/accounts/{account.pk}/")
    for i in range(20):
        contact = make_contact(account)
        record_event(
            actor=personas.teammate if i % 2 else personas.rep,
            verb="parties.contact.created",
            target=contact,
            related=[account],
        )
    assert _count(client, f"/accounts/{account.pk}/") == few


def test_contact_detail_queries(personas, client_for, django_assert_max_num_queries, rep_contact):
    client = client_for(personas.rep)
    for _i in range(5):
        record_event(actor=personas.rep, verb="parties.contact.updated", target=rep_contact, data={"changes": {}})
    client.get(f"/contacts/{rep_contact.pk}/")  # warm the process-wide content-type cache
    with django_assert_max_num_queries(DETAIL_MAX):
        few = _count(client, f"/contacts/{rep_contact.pk}/")
    for _i in range(20):
        record_event(actor=personas.manager, verb="parties.contact.updated", target=rep_contact, data={"changes": {}})
    assert _count(client, f"/contacts/{rep_contact.pk}/") == few


@pytest.mark.parametrize("path", ["/accounts/", "/contacts/"])
def test_api_list_queries_constant(personas, api_for, path):
    api = api_for(personas.manager)
    _accounts(personas, 3)
    api.get(path)  # the first call stamps the token's last use
    with CaptureQueriesContext(connection) as few:
        assert api.get(path).status_code == 200
    _accounts(personas, 20)
    with CaptureQueriesContext(connection) as many:
        body = api.get(path).json()
    assert body["count"] == 23
    assert len(many.captured_queries) == len(few.captured_queries) <= LIST_MAX
