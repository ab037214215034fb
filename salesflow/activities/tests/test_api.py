from datetime import date, timedelta

import pytest
from django.utils import timezone

from salesflow.activities.models import Activity
from salesflow.activities.tests.factories import (
    local_dt,
    make_account,
    make_activity,
    make_contact,
    make_lead,
    make_opportunity,
)
from salesflow.core.models import AuditEvent
from salesflow.leads.choices import LeadStatus
from salesflow.users.testing import PERSONA_NAMES, REP_RECORD_READERS, REP_RECORD_WRITERS, expected_denial

# issue 7: these tests log done calls without an outcome (the rules: test_follow_up_rules.py)
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_completion_rules")]

READERS = REP_RECORD_READERS
WRITERS = REP_RECORD_WRITERS
ALL = PERSONA_NAMES
_expected = expected_denial


def _row(activity):
    row = Activity.objects.get(pk=activity.pk)
    return (row.kind, row.subject, row.done, row.done_at, row.outcome, row.owner_id, row.updated_at)


def _snapshot():
    return (Activity.objects.count(), AuditEvent.objects.count())


@pytest.fixture
def rep_activity(personas):
    account = make_account(personas.rep, "华东制造")
    return make_activity(
        personas.rep, kind="task", subject="发送报价单", account=account, due_at=timezone.now() + timedelta(days=1)
    )


@pytest.mark.parametrize("who", ALL)
def test_get_by_persona(personas, api_for, rep_activity, who):
    response = api_for(getattr(personas, who)).get(f"/activities/{rep_activity.pk}")
    expected = _expected(who, write=False)
    if expected:
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    else:
        assert response.status_code == 200
        body = response.json()
        assert body["subject"] == "发送报价单"
        assert body["account_id"] == rep_activity.account_id and body["account_name"] == "华东制造"
        assert body["owner_id"] == personas.rep.pk and body["owner_name"] == "张伟"
        assert body["kind"] == "task" and body["done"] is False


@pytest.mark.parametrize("who", ALL)
def test_patch_by_persona(personas, api_for, rep_activity, who):
    before = _row(rep_activity)
    response = api_for(getattr(personas, who)).patch(f"/activities/{rep_activity.pk}", {"subject": "改主题"})
    expected = _expected(who, write=True)
    if expected:
        assert response.status_code == expected
        assert response.json()["code"] == ("not_found" if expected == 404 else "forbidden")
        assert _row(rep_activity) == before
    else:
        assert response.status_code == 200
        assert response.json()["subject"] == "改主题"
        assert Activity.objects.get(pk=rep_activity.pk).subject == "改主题"


@pytest.mark.parametrize("who", ALL)
def test_complete_by_persona(personas, api_for, rep_activity, who):
    before = _row(rep_activity)
    response = api_for(getattr(personas, who)).post(
        f"/activities/{rep_activity.pk}/complete", {"outcome": "已发", "next_follow_up": "2026-04-01"}
    )
    expected = _expected(who, write=True)
    if expected:
        assert response.status_code == expected
        assert _row(rep_activity) == before
    else:
        assert response.status_code == 200
        body = response.json()
        assert (body["done"], body["outcome"], body["next_follow_up"]) == (True, "已发", "2026-04-01")
        assert body["done_at"] is not None


@pytest.mark.parametrize("who", ALL)
def test_delete_by_persona(personas, api_for, rep_activity, who):
    response = api_for(getattr(personas, who)).delete(f"/activities/{rep_activity.pk}")
    expected = _expected(who, write=True)
    if expected:
        assert response.status_code == expected
        assert Activity.objects.filter(pk=rep_activity.pk).exists()
    else:
        assert response.status_code == 204
        assert not Activity.objects.filter(pk=rep_activity.pk).exists()


def test_complete_is_idempotent(personas, api_for, rep_activity):
    api = api_for(personas.rep)
    first = api.post(f"/activities/{rep_activity.pk}/complete", {"outcome": "第一次"}).json()
    events = AuditEvent.objects.count()
    second = api.post(f"/activities/{rep_activity.pk}/complete", {"outcome": "第二次"}).json()
    assert second["done_at"] == first["done_at"] and second["outcome"] == "第一次"
    assert AuditEvent.objects.count() == events
    assert api.post(f"/activities/{rep_activity.pk}/complete").status_code == 200


def test_create_returns_201_and_fills_account(personas, api_for):
    account = make_account(personas.rep)
    contact = make_contact(account, "周总")
    lead = make_lead(personas.rep, company_name=account.name)
    response = api_for(personas.rep).post(
        "/activities",
        {
            "kind": "visit",
            "subject": "拜访周总",
            "contact_id": contact.pk,
            "lead_id": lead.pk,
            "done": True,
            "outcome": "确认预算",
            "next_follow_up": "2026-04-01",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["account_id"] == account.pk and body["contact_name"] == "周总"
    assert body["owner_id"] == personas.rep.pk and body["done"] is True and body["done_at"]
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONTACTED


def test_support_creates_on_team_account_and_edits_own_only(personas, api_for, rep_activity):
    api = api_for(personas.support)
    response = api.post("/activities/", {"kind": "demo", "subject": "演示", "account_id": rep_activity.account_id})
    assert response.status_code == 201
    own = response.json()["id"]
    assert response.json()["owner_id"] == personas.support.pk
    assert api.patch(f"/activities/{own}", {"outcome": "顺利"}).status_code == 200
    before = _row(rep_activity)
    assert api.patch(f"/activities/{rep_activity.pk}", {"outcome": "越权"}).status_code == 403
    assert _row(rep_activity) == before


@pytest.mark.parametrize("field", ["account_id", "lead_id", "contact_id", "opportunity_id"])
@pytest.mark.parametrize("who", ["teammate", "outsider", "other_manager"])
def test_create_on_unseen_records_is_404_and_writes_nothing(personas, api_for, field, who):
    account = make_account(personas.rep)
    ids = {
        "account_id": account.pk,
        "lead_id": make_lead(personas.rep).pk,
        "contact_id": make_contact(account).pk,
        "opportunity_id": make_opportunity(account).pk,
    }
    api = api_for(getattr(personas, who))
    before = _snapshot()
    response = api.post("/activities", {"kind": "call", "subject": "越权", field: ids[field]})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert _snapshot() == before


def test_bad_input_is_400_with_field_errors_and_writes_nothing(personas, api_for):
    account = make_account(personas.rep)
    other_contact = make_contact(make_account(personas.rep))
    api = api_for(personas.rep)
    before = _snapshot()
    cases = [
        ({"kind": "task", "subject": "任务"}, {"due_at"}),
        ({"kind": "fax", "subject": ""}, {"kind", "subject"}),
        ({"kind": "call", "subject": "x", "account_id": account.pk, "contact_id": other_contact.pk}, {"contact_id"}),
        ({"kind": "call", "subject": "x", "owner_id": personas.teammate.pk}, {"owner_id"}),
        ({"kind": "call", "subject": "x", "owner_id": 999999}, {"owner_id"}),
        ({"kind": "call", "subject": "x", "due_at": "not a date"}, {"due_at"}),
        ({"subject": "x"}, {"kind"}),
    ]
    for payload, fields in cases:
        response = api.post("/activities", payload)
        assert response.status_code == 400, payload
        assert response.json()["code"] == "validation_error"
        assert set(response.json()["errors"]) == fields, payload
    assert _snapshot() == before


def test_patch_validates_and_clears(personas, api_for, rep_activity):
    api = api_for(personas.rep)
    before = _row(rep_activity)
    response = api.patch(f"/activities/{rep_activity.pk}", {"due_at": None})
    assert response.status_code == 400 and set(response.json()["errors"]) == {"due_at"}
    response = api.patch(f"/activities/{rep_activity.pk}", {"owner_id": personas.teammate.pk})
    assert response.status_code == 400 and set(response.json()["errors"]) == {"owner_id"}
    assert _row(rep_activity) == before
    response = api.patch(f"/activities/{rep_activity.pk}", {"kind": "call", "due_at": None, "done": True})
    assert response.status_code == 200
    assert (response.json()["kind"], response.json()["due_at"], response.json()["done"]) == ("call", None, True)


def test_manager_reassigns_through_api(personas, api_for, rep_activity):
    response = api_for(personas.manager).patch(f"/activities/{rep_activity.pk}", {"owner_id": personas.teammate.pk})
    assert response.status_code == 200
    assert response.json()["owner_id"] == personas.teammate.pk


def test_list_is_visible_filtered_and_paged(personas, api_for):
    account = make_account(personas.rep)
    opp = make_opportunity(account)
    on_opp = make_activity(personas.rep, kind="meeting", subject="方案会", opportunity=opp)
    done = make_activity(personas.rep, kind="call", subject="电话", account=account, done=True)
    for i in range(5):
        make_activity(personas.rep, kind="note", subject=f"备注{i}")
    make_activity(personas.outsider, kind="call", subject="外组")
    api = api_for(personas.rep)
    body = api.get("/activities").json()
    assert body["count"] == 7 and len(body["items"]) == 7
    assert "外组" not in {a["subject"] for a in body["items"]}
    page = api.get("/activities", limit=2, offset=2).json()
    assert page["count"] == 7 and [a["id"] for a in page["items"]] == [a["id"] for a in body["items"][2:4]]
    assert [a["id"] for a in api.get("/activities", opportunity_id=opp.pk).json()["items"]] == [on_opp.pk]
    assert {a["id"] for a in api.get("/activities", account_id=account.pk).json()["items"]} == {on_opp.pk, done.pk}
    assert [a["id"] for a in api.get("/activities", done="true").json()["items"]] == [done.pk]
    assert api.get("/activities", kind="note").json()["count"] == 5
    assert api.get("/activities", q="方案").json()["count"] == 1
    assert api.get("/activities", owner_id=personas.outsider.pk).json()["count"] == 0
    assert api_for(personas.outsider).get("/activities", account_id=account.pk).status_code == 404
    assert api.get("/activities", limit=500).status_code == 400


def test_my_day_endpoint(personas, api_for):
    today = date(2026, 3, 10)
    account = make_account(personas.rep)
    overdue = make_activity(
        personas.rep,
        kind="task",
        due_at=local_dt(today - timedelta(days=1)),
        created_at=local_dt(today - timedelta(days=5)),
    )
    due = make_activity(
        personas.rep, kind="task", due_at=local_dt(today, 16), created_at=local_dt(today - timedelta(days=5))
    )
    follow = make_activity(
        personas.rep, done=True, account=account, next_follow_up=today, created_at=local_dt(today - timedelta(days=2))
    )
    deal = make_opportunity(account, name="无下一步", next_step="", next_step_date=None)
    make_opportunity(make_account(personas.teammate), next_step="", next_step_date=None)
    body = api_for(personas.rep).get("/activities/my-day", date="2026-03-10").json()
    assert body["today"] == "2026-03-10"
    assert [a["id"] for a in body["overdue"]["items"]] == [overdue.pk] and body["overdue"]["total"] == 1
    assert [a["id"] for a in body["due_today"]["items"]] == [due.pk]
    assert [a["id"] for a in body["follow_ups"]["items"]] == [follow.pk]
    assert body["no_next_step"] == {
        "total": 1,
        "items": [
            {
                "id": deal.pk,
                "name": "无下一步",
                "account_id": account.pk,
                "account_name": account.name,
                "stage": deal.stage.name_en,
                "amount": "0.00",
                "currency": "CNY",
                "next_step": "",
                "next_step_date": None,
            }
        ],
    }
    assert api_for(personas.rep).get("/activities/my-day", date="2026-13-01").status_code == 400
