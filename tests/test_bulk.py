"""Bulk actions (core.bulk) in the UI and the API: each record through its own service in its
own savepoint, refusals reported per record (name and reason) and leaving that row unchanged,
one audit event per changed record, "all matching the filter", hostile input."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType

from salesflow.core.bulk import BULK_MAX, run_bulk
from salesflow.core.errors import Forbidden
from salesflow.core.models import AuditEvent
from salesflow.leads.choices import LeadStatus
from salesflow.leads.models import Lead
from salesflow.leads.tests.factories import make_lead
from salesflow.parties.models import Account
from salesflow.parties.tests.factories import make_account
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Opportunity, Stage
from salesflow.sales.tests.factories import make_opportunity
from salesflow.tags.models import TaggedItem
from salesflow.tags.services import tag_add, tag_create
from salesflow.users.models import ShareAccess
from salesflow.users.services import share_grant
from salesflow.users.testing import REP_RECORD_ACCESS

pytestmark = pytest.mark.django_db


def _events(model: type, pk: int, verb: str) -> int:
    ct = ContentType.objects.get_for_model(model)
    return AuditEvent.objects.filter(target_type=ct, target_id=pk, verb=verb).count()


def test_runner_isolates_each_record():
    calls: list[int] = []

    class Row:
        def __init__(self, pk: int) -> None:
            self.pk = pk

        def __str__(self) -> str:
            return f"row {self.pk}"

    def action(row: Row) -> None:
        calls.append(row.pk)
        if row.pk == 2:
            raise Forbidden("no")

    result = run_bulk([Row(1), Row(2), Row(3)], action, missing=[9])  # type: ignore[arg-type,type-var]
    assert calls == [1, 2, 3]
    assert result.as_dict() == {
        "succeeded": 2,
        "failed": [{"id": 2, "name": "row 2", "detail": "no"}, {"id": 9, "name": "", "detail": "Not found."}],
    }


@pytest.fixture
def world(personas):
    """Two accounts of the manager's team and one of another team shared read-write with him."""
    mine = make_account(personas.rep, name="星云科技")
    theirs = make_account(personas.teammate, name="远航物流")
    shared = make_account(personas.outsider, name="华南贸易")
    share_grant(actor=personas.outsider, target=shared, grantee_user=personas.manager, access=ShareAccess.WRITE)
    return mine, theirs, shared


def test_ui_bulk_reassignment_reports_the_refused_row(personas, client_for, world):
    mine, theirs, shared = world
    client = client_for(personas.manager)
    response = client.post(
        "/accounts/bulk/",
        {"action": "assign", "owner": personas.teammate.pk, "ids": [mine.pk, theirs.pk, shared.pk]},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "2 of 3 records changed." in html and "华南贸易" in html
    assert "You may not give this account to someone else." in html
    assert Account.objects.get(pk=mine.pk).owner == personas.teammate
    refused = Account.objects.get(pk=shared.pk)
    assert refused.owner == personas.outsider and refused.updated_at == shared.updated_at
    assert _events(Account, mine.pk, "parties.account.updated") == 1
    assert _events(Account, theirs.pk, "parties.account.updated") == 0  # already the teammate's: no-op
    assert _events(Account, shared.pk, "parties.account.updated") == 0


def test_ui_bulk_refuses_an_owner_the_actor_may_not_assign(personas, client_for, world):
    mine, _theirs, _shared = world
    response = client_for(personas.manager).post(
        "/accounts/bulk/",
        {"action": "assign", "owner": personas.outsider.pk, "ids": [mine.pk]},
        headers={"HX-Request": "true"},
    )
    assert "bulk-error" in response.content.decode()
    assert Account.objects.get(pk=mine.pk).owner == personas.rep


def test_open_deals_follow_the_account_when_asked(personas, api_for):
    account = make_account(personas.rep)
    open_deal = make_opportunity(personas.rep, account=account)
    won = make_opportunity(personas.rep, account=account)
    Opportunity.objects.filter(pk=won.pk).update(outcome=Outcome.WON)
    api = api_for(personas.manager)
    body = api.post(
        "/accounts/bulk", {"ids": [account.pk], "action": "assign", "owner_id": personas.teammate.pk, "follow": True}
    ).json()
    assert body == {"succeeded": 1, "failed": []}
    assert Opportunity.objects.get(pk=open_deal.pk).owner == personas.teammate
    assert Opportunity.objects.get(pk=won.pk).owner == personas.rep
    assert _events(Opportunity, open_deal.pk, "sales.opportunity.updated") == 1


def test_ui_all_matching_the_filter(personas, client_for):
    for i in range(3):
        make_lead(owner=personas.rep, company_name=f"甲公司{i}")
    other = make_lead(owner=personas.rep, company_name="乙公司")
    response = client_for(personas.manager).post(
        "/leads/bulk/", {"action": "contacted", "scope": "all", "filters": "q=甲公司"}, headers={"HX-Request": "true"}
    )
    assert "3 of 3 records changed." in response.content.decode()
    assert Lead.objects.filter(status=LeadStatus.CONTACTED).count() == 3
    assert Lead.objects.get(pk=other.pk).status == LeadStatus.NEW


def test_ui_bulk_without_htmx_redirects_back_with_messages(personas, client_for):
    lead = make_lead(owner=personas.rep)
    client = client_for(personas.rep)
    response = client.post("/leads/bulk/", {"action": "contacted", "ids": [lead.pk], "next": "/leads/?status=new"})
    assert response.status_code == 302 and response["Location"] == "/leads/?status=new"
    response = client.post("/leads/bulk/", {"action": "contacted", "ids": [lead.pk], "next": "https://evil.example/"})
    assert response["Location"] == "/leads/"


def test_deal_stage_move_and_tagging_through_the_api(personas, api_for):
    deals = [make_opportunity(personas.rep) for _ in range(2)]
    Opportunity.objects.filter(pk=deals[1].pk).update(outcome=Outcome.LOST)
    api = api_for(personas.rep)
    body = api.post("/opportunities/bulk", {"ids": [d.pk for d in deals], "action": "stage", "stage": "demo"}).json()
    assert body["succeeded"] == 1 and [f["id"] for f in body["failed"]] == [deals[1].pk]
    assert Opportunity.objects.get(pk=deals[0].pk).stage == Stage.objects.get(code="demo", pipeline=deals[0].pipeline)
    tag = tag_create(actor=personas.admin, name="续约")
    body = api.post("/opportunities/bulk", {"filter": {"q": deals[0].name}, "action": "tag_add", "tag_id": tag.pk})
    assert body.json() == {"succeeded": 1, "failed": []}
    assert TaggedItem.objects.filter(tag=tag, object_id=deals[0].pk).count() == 1


def test_the_api_bulk_filter_is_the_list_filter(personas, api_for):
    """``filter`` selects exactly what ``GET /opportunities`` lists for it (past close date too)."""
    from datetime import date, timedelta

    late = make_opportunity(personas.rep, expected_close_date=date.today() - timedelta(days=3))
    make_opportunity(personas.rep, expected_close_date=date.today() + timedelta(days=30))
    api = api_for(personas.rep)
    listed = [o["id"] for o in api.get("/opportunities", overdue="true").json()["items"]]
    assert listed == [late.pk]
    tag = tag_create(actor=personas.admin, name="超期")
    body = api.post("/opportunities/bulk", {"filter": {"overdue": True}, "action": "tag_add", "tag_id": tag.pk})
    assert body.json() == {"succeeded": 1, "failed": []}
    assert list(TaggedItem.objects.filter(tag=tag).values_list("object_id", flat=True)) == [late.pk]


@pytest.mark.parametrize("persona", list(REP_RECORD_ACCESS))
def test_bulk_tagging_persona_matrix(personas, api_for, persona):
    """A persona tags a deal of ``rep``: writers succeed, readers get the reason, others "not found"."""
    deal = make_opportunity(personas.rep)
    tag = tag_create(actor=personas.admin, name="政府项目")
    body = api_for(getattr(personas, persona)).post(
        "/opportunities/bulk", {"ids": [deal.pk], "action": "tag_add", "tag_id": tag.pk}
    )
    assert body.status_code == 200
    read, write = REP_RECORD_ACCESS[persona]
    result = body.json()
    assert result["succeeded"] == (1 if write else 0)
    if not write:
        assert result["failed"][0]["detail"] == ("You may not change this record." if read else "Not found.")
        assert not TaggedItem.objects.exists()


def test_api_bulk_refuses_hostile_and_unknown_input(personas, api_for):
    api = api_for(personas.rep)
    account = make_account(personas.rep)
    cases = [
        ({"ids": [account.pk], "action": "explode"}, "action"),
        ({"ids": [account.pk], "action": "delete", "filter": {}}, "ids"),
        ({"action": "delete"}, "ids"),
        ({"ids": [], "action": "delete"}, "ids"),
        ({"ids": [0], "action": "delete"}, "ids"),
        ({"ids": [-5], "action": "delete"}, "ids"),
        ({"ids": [10**30], "action": "delete"}, "ids"),
        ({"ids": ["1; DROP"], "action": "delete"}, "ids"),
        ({"ids": list(range(1, BULK_MAX + 2)), "action": "delete"}, "ids"),
        ({"filter": {"q": "a\x00b"}, "action": "delete"}, "filter"),
        ({"filter": "everything", "action": "delete"}, "filter"),
        ({"ids": [account.pk], "action": "tag_add"}, "tag_id"),
        ({"ids": [account.pk], "action": "assign", "owner_id": personas.outsider.pk}, "owner_id"),
        ({"ids": [account.pk], "action": "delete", "surprise": 1}, "surprise"),
    ]
    for body, field in cases:
        response = api.post("/accounts/bulk", body)
        assert response.status_code == 400, (body, response.content)
        assert field in {key.split(".")[0] for key in response.json()["errors"]}, (body, response.json())
    assert Account.objects.filter(pk=account.pk).exists()


def test_api_bulk_delete_reports_conflicts(personas, api_for):
    free = make_account(personas.rep, name="空客户")
    busy = make_account(personas.rep, name="忙客户")
    make_opportunity(personas.rep, account=busy)
    body = api_for(personas.rep).post("/accounts/bulk", {"ids": [free.pk, busy.pk], "action": "delete"}).json()
    assert body["succeeded"] == 1 and body["failed"][0]["name"] == "忙客户"
    assert not Account.objects.filter(pk=free.pk).exists() and Account.objects.filter(pk=busy.pk).exists()


def test_activity_and_contact_bulk_endpoints(personas, api_for):
    from salesflow.activities.models import Activity
    from salesflow.activities.tests.factories import make_activity
    from salesflow.parties.tests.factories import make_contact

    account = make_account(personas.rep)
    activity = make_activity(personas.rep, kind="task", subject="回访", account=account)
    api = api_for(personas.rep)
    assert api.post("/activities/bulk", {"ids": [activity.pk], "action": "complete"}).json()["succeeded"] == 1
    assert Activity.objects.get(pk=activity.pk).done
    contact = make_contact(account)
    tag = tag_create(actor=personas.admin, name="渠道")
    tag_add(actor=personas.rep, record=contact, tag=tag)
    body = api.post("/contacts/bulk", {"ids": [contact.pk], "action": "tag_remove", "tag_id": tag.pk}).json()
    assert body == {"succeeded": 1, "failed": []}
    assert not TaggedItem.objects.exists()


@pytest.mark.parametrize("url", ["/accounts/", "/contacts/", "/leads/", "/opportunities/", "/activities/"])
def test_every_list_has_the_bulk_bar(personas, client_for, url):
    html = client_for(personas.rep).get(url).content.decode()
    assert 'data-testid="bulk-bar"' in html and 'id="bulk-form"' in html


def test_bulk_stage_moves_override_unmet_criteria_for_managers_only(personas, api_for, client_for):
    """A gated stage refuses each deal with its unmet criteria; a manager over the owners
    moves them with a reason (audited once per deal); a rep's reason is refused per deal,
    and the rep's bulk bar has no reason field."""
    from salesflow.sales.gate_services import stage_criterion_create

    demo = Stage.objects.get(code="demo", pipeline__is_default=True)
    stage_criterion_create(
        actor=personas.admin, stage=demo, kind="decision_maker", params=None, label_en="DM", label_zh="决策人"
    )
    deals = [make_opportunity(personas.rep, stage_code="needs") for _ in range(2)]
    ids = [d.pk for d in deals]
    body = api_for(personas.manager).post("/opportunities/bulk", {"ids": ids, "action": "stage", "stage": "demo"})
    assert body.json()["succeeded"] == 0 and len(body.json()["failed"]) == 2
    body = api_for(personas.rep).post(
        "/opportunities/bulk", {"ids": ids, "action": "stage", "stage": "demo", "override_reason": "客户已口头确认"}
    )
    assert body.json()["succeeded"] == 0
    assert "override" in str(body.json()["failed"][0])
    assert not Opportunity.objects.filter(pk__in=ids, stage=demo).exists()
    assert "bulk-override_reason" not in client_for(personas.rep).get("/opportunities/").content.decode()

    manager = client_for(personas.manager)
    assert 'data-testid="bulk-override_reason"' in manager.get("/opportunities/").content.decode()
    response = manager.post(
        "/opportunities/bulk/",
        {"action": "stage", "stage": demo.pk, "override_reason": "客户已口头确认", "ids": ids},
        headers={"HX-Request": "true"},
    )
    assert "2 of 2 records changed." in response.content.decode()
    assert Opportunity.objects.filter(pk__in=ids, stage=demo).count() == 2
    assert AuditEvent.objects.filter(verb="sales.opportunity.gate_overridden", target_id__in=ids).count() == 2
