"""Cursor (keyset) pagination on the big API lists: following ``next_cursor`` visits every row
exactly once in the same order as offset paging, for every sort, with ties and NULLs, and
never counts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from salesflow.activities.tests.factories import make_activity
from salesflow.leads.tests.factories import make_lead
from salesflow.sales.tests.factories import make_account, make_contact, make_opportunity

pytestmark = pytest.mark.django_db

SORTS = {
    "leads": ["created", "-created", "name", "-name", "company", "-company", "status", "-status"],
    "accounts": ["name", "-name", "created", "-created"],
    "contacts": ["name", "-name", "created", "-created"],
    "opportunities": [
        "name",
        "-name",
        "amount",
        "-amount",
        "close",
        "-close",
        "created",
        "-created",
        "stage",
        "-stage",
    ],
    "activities": ["created", "-created", "due", "-due"],
}


@pytest.fixture
def rows(personas):
    """Seven rows of each kind for the rep, with duplicate sort values and NULLs."""
    rep = personas.rep
    today = timezone.localdate()
    accounts = [make_account(rep, name=f"客户 {n % 3}") for n in range(7)]
    for n in range(7):
        make_lead(owner=rep, name=f"线索 {n % 2}", company_name=f"公司 {n % 3}", status="new" if n % 2 else "contacted")
        make_contact(accounts[n % 2], name=f"联系人 {n % 3}")
        make_opportunity(
            rep,
            account=accounts[n],
            name=f"商机 {n % 2}",
            amount=1000 * (n % 3),
            expected_close_date=None if n % 3 == 0 else today + timedelta(days=n % 2),
        )
        make_activity(
            rep,
            kind="task" if n % 3 else "call",
            due_at=None if n % 3 == 0 else timezone.now() + timedelta(days=n % 2),
            account=accounts[n],
        )
    return personas


def _walk(api, resource: str, sort: str) -> tuple[list[int], int]:
    ids: list[int] = []
    first = api.get(f"/{resource}", sort=sort, limit=3).json()
    assert first["count"] == 7
    ids += [item["id"] for item in first["items"]]
    cursor, pages = first["next_cursor"], 1
    while cursor:
        page = api.get(f"/{resource}", sort=sort, limit=3, cursor=cursor)
        assert page.status_code == 200, page.content
        body = page.json()
        assert body["count"] is None  # following a cursor never counts
        ids += [item["id"] for item in body["items"]]
        cursor, pages = body["next_cursor"], pages + 1
        assert pages < 10
    return ids, pages


@pytest.mark.parametrize("resource", list(SORTS))
def test_cursor_walk_matches_offset_order_for_every_sort(rows, api_for, resource):
    api = api_for(rows.rep)
    for sort in SORTS[resource]:
        expected = [item["id"] for item in api.get(f"/{resource}", sort=sort, limit=200).json()["items"]]
        assert len(expected) == 7
        walked, pages = _walk(api, resource, sort)
        assert walked == expected, sort
        assert pages == 3, sort


def test_offset_pages_also_give_a_cursor(rows, api_for):
    api = api_for(rows.rep)
    second = api.get("/leads", sort="name", limit=3, offset=3).json()
    third = api.get("/leads", sort="name", limit=3, cursor=second["next_cursor"]).json()
    full = [item["id"] for item in api.get("/leads", sort="name", limit=200).json()["items"]]
    assert [i["id"] for i in second["items"] + third["items"]] == full[3:7]
    assert third["next_cursor"] is None


@pytest.mark.parametrize("resource", list(SORTS))
def test_count_is_null_above_the_cap(rows, api_for, resource, monkeypatch):
    """The first page counts at most ``API_COUNT_CAP`` rows: exact up to it, null above it
    (a manager's account count over 200,000 probed rows took 2.8 s of CPU at scale 1.0)."""
    from salesflow.core import keyset

    api = api_for(rows.rep)
    monkeypatch.setattr(keyset, "API_COUNT_CAP", 7)
    assert api.get(f"/{resource}", limit=2).json()["count"] == 7
    monkeypatch.setattr(keyset, "API_COUNT_CAP", 6)
    body = api.get(f"/{resource}", limit=2).json()
    assert body["count"] is None
    assert len(body["items"]) == 2 and body["next_cursor"]


@pytest.mark.parametrize(
    "cursor", ["garbage", "e30", "W10", "eyJrIjpbIm5hbWUiXSwidiI6WzFdfQ", "x" * 1001, "%%%", "bnVsbA"]
)
def test_bad_cursors_are_a_400_on_cursor(rows, api_for, cursor):
    response = api_for(rows.rep).get("/leads", cursor=cursor)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["cursor"]


def test_a_cursor_is_bound_to_its_sort(rows, api_for):
    api = api_for(rows.rep)
    cursor = api.get("/accounts", sort="name", limit=2).json()["next_cursor"]
    response = api.get("/accounts", sort="-created", limit=2, cursor=cursor)
    assert response.status_code == 400 and list(response.json()["errors"]) == ["cursor"]


def test_cursor_and_offset_together_are_refused(rows, api_for):
    api = api_for(rows.rep)
    cursor = api.get("/contacts", limit=2).json()["next_cursor"]
    response = api.get("/contacts", limit=2, cursor=cursor, offset=2)
    assert response.status_code == 400 and list(response.json()["errors"]) == ["offset"]


def test_cursor_pages_do_not_count(rows, api_for):
    api = api_for(rows.rep)
    cursor = api.get("/opportunities", limit=2).json()["next_cursor"]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert api.get("/opportunities", limit=2, cursor=cursor).status_code == 200
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]


def test_openapi_documents_the_cursor(client):
    document = client.get("/api/v1/openapi.json").json()
    for path in (
        "/api/v1/leads",
        "/api/v1/accounts",
        "/api/v1/contacts",
        "/api/v1/opportunities",
        "/api/v1/activities",
    ):
        names = {p["name"] for p in document["paths"][path]["get"]["parameters"]}
        assert {"cursor", "limit", "offset"} <= names, path
    for schema in ("LeadListOut", "AccountListOut", "ContactListOut", "OpportunityPage", "ActivityListOut"):
        assert "next_cursor" in document["components"]["schemas"][schema]["properties"], schema


def test_close_dates_include_nulls_in_both_directions(rows, api_for):
    api = api_for(rows.rep)
    walked, _pages = _walk(api, "opportunities", "-close")
    closes = {o["id"]: o["expected_close_date"] for o in api.get("/opportunities", limit=200).json()["items"]}
    ordered = [closes[i] for i in walked]
    assert ordered[: ordered.count(None)] == [None] * ordered.count(None)  # NULLS FIRST descending
    assert date.fromisoformat(ordered[-1]) <= date.fromisoformat(ordered[-2])
