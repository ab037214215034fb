"""API: persona matrix, create/patch/move/close/reopen/delete, configuration routes, error envelope."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from salesflow.core.models import AuditEvent
from salesflow.sales.models import LostReason, Opportunity, StageChange
from salesflow.sales.tests.factories import make_account, make_competitor, make_contact, make_opportunity, stage
from salesflow.users.testing import REP_RECORD_ACCESS

pytestmark = pytest.mark.django_db

MATRIX = REP_RECORD_ACCESS


def state(opp):
    opp = Opportunity.objects.get(pk=opp.pk)
    return (
        opp.name,
        opp.amount,
        opp.stage_id,
        opp.outcome,
        opp.probability,
        StageChange.objects.filter(opportunity=opp).count(),
        AuditEvent.objects.filter(target_id=opp.pk, verb__startswith="sales.").count(),
    )


@pytest.mark.parametrize("persona", list(MATRIX))
def test_api_matrix(personas, api_for, persona):
    can_read, can_write = MATRIX[persona]
    denied = 404 if not can_read else 403
    opp = make_opportunity(personas.rep, name="接口商机", amount="100")
    api = api_for(getattr(personas, persona))

    listing = api.get("/opportunities").json()
    assert (opp.pk in [i["id"] for i in listing["items"]]) is can_read
    assert listing["count"] == (1 if can_read else 0)
    response = api.get(f"/opportunities/{opp.pk}")
    assert response.status_code == (200 if can_read else 404)
    response = api.get(f"/opportunities/{opp.pk}/stage-changes")
    assert response.status_code == (200 if can_read else 404)

    checks = [
        ("patch", f"/opportunities/{opp.pk}", {"name": "改名"}),
        ("post", f"/opportunities/{opp.pk}/move", {"stage": "demo"}),
        ("post", f"/opportunities/{opp.pk}/close", {"outcome": "won"}),
        ("post", f"/opportunities/{opp.pk}/reopen", {}),
        ("delete", f"/opportunities/{opp.pk}", None),
    ]
    for method, path, body in checks:
        before = state(opp)
        response = getattr(api, method)(path, body) if body is not None else api.delete(path)
        if can_write:
            assert response.status_code in (200, 204), (method, path, response.content)
        else:
            assert response.status_code == denied, (method, path)
            assert response.json()["code"] == ("forbidden" if denied == 403 else "not_found")
            assert state(opp) == before
    if can_write:
        assert not Opportunity.objects.filter(pk=opp.pk).exists()


def test_api_create_get_and_decimal_string(personas, api_for):
    account = make_account(personas.rep, "甲方")
    kp = make_contact(account, "王总")
    competitor = make_competitor("用友")
    api = api_for(personas.rep)
    response = api.post(
        "/opportunities",
        {
            "name": "接口创建",
            "account_id": account.pk,
            "stage": "needs",
            "amount": "12345.6",
            "expected_close_date": "2030-06-30",
            "contacts": [{"contact_id": kp.pk, "role": "decision_maker"}],
            "competitor_ids": [competitor.pk],
        },
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["amount"] == "12345.60"
    assert data["currency"] == "CNY"
    assert data["stage"]["code"] == "needs"
    assert data["probability"] == 35
    assert data["owner_id"] == personas.rep.pk
    assert data["contacts"] == [{"contact_id": kp.pk, "name": "王总", "role": "decision_maker"}]
    assert data["competitors"] == [{"id": competitor.pk, "name": "用友"}]
    assert api.get(f"/opportunities/{data['id']}").json()["amount"] == "12345.60"
    changes = api.get(f"/opportunities/{data['id']}/stage-changes").json()
    assert [(c["from_stage"], c["to_stage"]["code"]) for c in changes] == [(None, "needs")]


def test_api_create_linked_ids_go_through_access_functions(personas, api_for):
    api = api_for(personas.rep)
    hidden_account = make_account(personas.outsider)
    response = api.post("/opportunities", {"name": "x", "account_id": hidden_account.pk})
    assert response.status_code == 404
    support_api = api_for(personas.support)
    team_account = make_account(personas.rep)
    response = support_api.post("/opportunities", {"name": "x", "account_id": team_account.pk})
    assert response.status_code == 403
    mine = make_account(personas.rep)
    response = api.post("/opportunities", {"name": "x", "account_id": mine.pk, "owner_id": personas.outsider.pk})
    assert response.status_code == 400
    assert "owner_id" in response.json()["errors"]
    hidden_contact = make_contact(hidden_account)
    response = api.post(
        "/opportunities", {"name": "x", "account_id": mine.pk, "contacts": [{"contact_id": hidden_contact.pk}]}
    )
    assert response.status_code == 404
    assert not Opportunity.objects.exists()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"name": "", "amount": "-3"}, {"name", "amount"}),
        ({"name": "ok", "amount": "abc"}, {"amount"}),
        ({"name": "ok", "stage": "won"}, {"stage"}),
        ({"name": "ok", "stage": "nope"}, {"stage"}),
        ({"name": "ok", "currency": "XYZ"}, {"currency"}),
        ({"name": "ok", "competitor_ids": [999999]}, {"competitor_ids"}),
        ({"name": "x" * 201}, {"name"}),
    ],
)
def test_api_create_400_envelope(personas, api_for, body, fields):
    account = make_account(personas.rep)
    response = api_for(personas.rep).post("/opportunities", {"account_id": account.pk, **body})
    assert response.status_code == 400, response.content
    data = response.json()
    assert data["code"] == "validation_error"
    assert data["detail"]
    assert set(data["errors"]) == fields
    assert not Opportunity.objects.exists()


def test_api_patch_fields_and_errors(personas, api_for):
    opp = make_opportunity(personas.rep, amount="100")
    api = api_for(personas.rep)
    # a rep cannot hand a deal to a teammate (outside their assignable users)
    response = api.patch(f"/opportunities/{opp.pk}", {"amount": "1", "owner_id": personas.teammate.pk})
    assert response.status_code == 400 and set(response.json()["errors"]) == {"owner_id"}
    assert Opportunity.objects.get(pk=opp.pk).amount == 100
    response = api_for(personas.manager).patch(
        f"/opportunities/{opp.pk}",
        {"amount": "250.5", "probability": 45, "expected_close_date": "2030-01-31", "owner_id": personas.teammate.pk},
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["amount"], data["probability"], data["expected_close_date"]) == ("250.50", 45, "2030-01-31")
    assert data["owner_id"] == personas.teammate.pk
    assert data["stage"]["code"] == "prospect"
    # the deal was handed over: the rep no longer sees it
    assert api.get(f"/opportunities/{opp.pk}").status_code == 404

    manager = api_for(personas.manager)
    before = state(opp)
    response = manager.patch(f"/opportunities/{opp.pk}", {"probability": 120, "name": "  "})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"probability", "name"}
    response = manager.patch(f"/opportunities/{opp.pk}", {"amount": None})
    assert response.status_code == 400
    assert state(opp) == before
    response = manager.patch(f"/opportunities/{opp.pk}", {"expected_close_date": None})
    assert response.status_code == 200
    assert response.json()["expected_close_date"] is None


def test_api_move_close_reopen(personas, api_for):
    opp = make_opportunity(personas.rep)
    api = api_for(personas.rep)
    response = api.post(f"/opportunities/{opp.pk}/move", {"stage": stage("demo").pk})
    assert response.status_code == 200
    assert (response.json()["stage"]["code"], response.json()["probability"]) == ("demo", 50)
    response = api.post(f"/opportunities/{opp.pk}/move", {"stage": "demo"})
    assert response.status_code == 200
    assert StageChange.objects.filter(opportunity=opp).count() == 2

    response = api.post(f"/opportunities/{opp.pk}/move", {"stage": "won"})
    assert response.status_code == 400 and "stage" in response.json()["errors"]

    response = api.post(f"/opportunities/{opp.pk}/close", {"outcome": "lost"})
    assert response.status_code == 400 and set(response.json()["errors"]) == {"lost_reason"}
    response = api.post(f"/opportunities/{opp.pk}/close", {"outcome": "lost", "lost_reason": "nope"})
    assert response.status_code == 400 and set(response.json()["errors"]) == {"lost_reason"}
    response = api.post(f"/opportunities/{opp.pk}/close", {"outcome": "finished"})
    assert response.status_code == 400 and "outcome" in response.json()["errors"]
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    response = api.post(f"/opportunities/{opp.pk}/close", {"outcome": "paused", "resume_date": yesterday})
    assert response.status_code == 400 and set(response.json()["errors"]) == {"resume_date"}
    assert Opportunity.objects.get(pk=opp.pk).outcome == "open"

    competitor = make_competitor()
    response = api.post(
        f"/opportunities/{opp.pk}/close", {"outcome": "lost", "lost_reason": "price", "lost_to_id": competitor.pk}
    )
    assert response.status_code == 200
    data = response.json()
    assert (data["outcome"], data["stage"]["code"], data["lost_reason"], data["lost_to_id"]) == (
        "lost",
        "lost",
        "price",
        competitor.pk,
    )
    response = api.post(f"/opportunities/{opp.pk}/move", {"stage": "needs"})
    assert response.status_code == 409 and response.json()["code"] == "not_open"
    response = api.post(f"/opportunities/{opp.pk}/close", {"outcome": "won"})
    assert response.status_code == 409

    response = api.post(f"/opportunities/{opp.pk}/reopen", {})
    assert response.status_code == 200
    assert (response.json()["outcome"], response.json()["stage"]["code"]) == ("open", "demo")
    response = api.post(f"/opportunities/{opp.pk}/reopen", {})
    assert response.status_code == 409
    changes = api.get(f"/opportunities/{opp.pk}/stage-changes").json()
    assert [(c["from_stage"] and c["from_stage"]["code"], c["to_stage"]["code"]) for c in changes] == [
        (None, "prospect"),
        ("prospect", "demo"),
        ("demo", "lost"),
        ("lost", "demo"),
    ]
    assert all(c["changed_by_id"] == personas.rep.pk for c in changes)


def test_api_list_filters_and_pagination(personas, api_for):
    for i in range(5):
        make_opportunity(personas.rep, name=f"D{i}", amount=str(100 * (i + 1)), stage_code="demo" if i % 2 else None)
    api = api_for(personas.rep)
    data = api.get("/opportunities", sort="-amount", limit=2, offset=1).json()
    assert data["count"] == 5
    assert [i["name"] for i in data["items"]] == ["D3", "D2"]
    assert api.get("/opportunities", stage="demo").json()["count"] == 2
    assert api.get("/opportunities", q="D4").json()["count"] == 1
    response = api.get("/opportunities", limit=0)
    assert response.status_code == 400 and "limit" in response.json()["errors"]


def test_api_list_query_count_does_not_grow(personas, api_for, django_assert_max_num_queries):
    api = api_for(personas.manager)
    for _ in range(3):
        make_opportunity(personas.rep)
    with CaptureQueriesContext(connection) as ctx:
        assert api.get("/opportunities").status_code == 200
    baseline = len(ctx.captured_queries)
    for i in range(20):
        opp = make_opportunity(personas.teammate)
        opp.competitors.add(make_competitor())
        if i % 2:
            from salesflow.sales.models import OpportunityContact

            OpportunityContact.objects.create(opportunity=opp, contact=make_contact(opp.account), role="user")
    with django_assert_max_num_queries(baseline):
        assert len(api.get("/opportunities").json()["items"]) == 23


def test_api_configuration_routes(personas, api_for):
    api = api_for(personas.support)
    pipelines = api.get("/opportunities/pipelines").json()
    assert [p["code"] for p in pipelines] == ["b2b"]
    assert [s["code"] for s in pipelines[0]["stages"]] == [
        "prospect",
        "qualification",
        "needs",
        "demo",
        "proposal",
        "negotiation",
        "won",
        "lost",
    ]
    assert pipelines[0]["stages"][1]["probability"] == 20
    reasons = api.get("/opportunities/lost-reasons").json()
    assert reasons[0]["code"] == "price"
    assert len(reasons) == LostReason.objects.filter(is_active=True).count()
    make_competitor("Salesforce")
    assert [c["name"] for c in api.get("/opportunities/competitors").json()] == ["Salesforce"]
    assert api.get("/opportunities/not-a-route").status_code == 404
