"""Issue 6 defect 5: the done default, links chosen by remote search, and next steps from follow-ups."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from salesflow.activities.models import Activity
from salesflow.activities.services import activity_complete, activity_create, activity_update, default_done
from salesflow.activities.tests.factories import local_dt, make_account, make_activity, make_contact, make_opportunity
from salesflow.core.errors import ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.sales.models import Opportunity

# issue 7: these tests log done calls without an outcome (the rules: test_follow_up_rules.py)
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_completion_rules")]


# --- (a) done follows the due time -----------------------------------------------------------


def test_default_done_rule():
    now = timezone.now()
    assert default_done(kind="visit", due_at=now + timedelta(days=365), now=now) is False
    assert default_done(kind="visit", due_at=now - timedelta(hours=1), now=now) is True
    assert default_done(kind="call", due_at=None, now=now) is True
    assert default_done(kind="task", due_at=now - timedelta(days=1), now=now) is False


def test_a_visit_due_next_year_is_planned_not_done(personas):
    visit = activity_create(
        actor=personas.rep, kind="visit", subject="明年拜访", due_at=timezone.now() + timedelta(days=365)
    )
    assert (visit.done, visit.done_at) == (False, None)
    call = activity_create(actor=personas.rep, kind="call", subject="刚打的电话")
    assert call.done is True and call.done_at is not None
    # an explicit value still wins
    assert activity_create(actor=personas.rep, kind="call", subject="x", done=False).done is False


def test_api_done_omitted_follows_the_due_time(personas, api_for):
    api = api_for(personas.rep)
    due = (timezone.now() + timedelta(days=365)).isoformat()
    body = api.post("/activities", {"kind": "visit", "subject": "明年拜访", "due_at": due}).json()
    assert body["done"] is False
    body = api.post("/activities", {"kind": "call", "subject": "已打电话"}).json()
    assert body["done"] is True
    body = api.post("/activities", {"kind": "visit", "subject": "补记", "due_at": due, "done": True}).json()
    assert body["done"] is True


def test_new_task_and_new_activity_forms_start_not_done_log_starts_done(personas, client_for):
    client = client_for(personas.rep)
    for query in ({"kind": "task"}, {}):
        html = client.get("/activities/create/", query).content.decode()
        assert 'name="done"' in html and 'name="done" checked' not in html.replace('id="id_done" ', "")
        assert "data-done-from-due" not in html
    html = client.get("/activities/create/", {"log": "1"}).content.decode()
    assert "checked" in html.split('name="done"')[1].split(">")[0] and "data-done-from-due" in html


# --- (b) links: remote search, create and edit -----------------------------------------------


def test_link_search_lists_only_visible_records(personas, client_for):
    mine = make_opportunity(make_account(personas.rep, "华东制造"), name="华东产线")
    make_opportunity(make_account(personas.outsider, "岭南电子"), name="华东产线（华南）")
    client = client_for(personas.rep)
    results = client.get("/activities/link-search/", {"kind": "opportunity", "q": "产线"}).json()["results"]
    assert results == [{"value": mine.pk, "text": "华东产线 · 华东制造"}]
    for _ in range(12):
        make_account(personas.rep)
    assert len(client.get("/activities/link-search/", {"kind": "account", "q": ""}).json()["results"]) == 10
    assert client.get("/activities/link-search/", {"kind": "user"}).status_code == 404
    # hostile terms: never a 500 (the project's middleware may refuse them first)
    assert client.get("/activities/link-search/", {"kind": "lead", "q": "x" * 50000}).status_code in (200, 400)
    assert client.get("/activities/link-search/", {"kind": "lead", "q": "x" * 90}).json() == {"results": []}
    assert client.get("/activities/link-search/", {"kind": "lead", "q": "x\x00y"}).status_code in (200, 400)


def test_new_task_linked_to_a_deal_through_the_form(personas, client_for):
    account = make_account(personas.rep, "华东制造")
    opp = make_opportunity(account, name="产线改造")
    due = (timezone.localdate() + timedelta(days=5)).strftime("%Y-%m-%dT10:00")
    response = client_for(personas.rep).post(
        "/activities/create/", {"kind": "task", "subject": "发送报价", "due_at": due, "opportunity": opp.pk}
    )
    assert response.status_code == 302
    task = Activity.objects.get(subject="发送报价")
    assert (task.opportunity_id, task.account_id, task.done) == (opp.pk, account.pk, False)


def test_create_refuses_an_unseen_deal(personas, client_for):
    opp = make_opportunity(make_account(personas.outsider))
    response = client_for(personas.rep).post(
        "/activities/create/", {"kind": "call", "subject": "x", "opportunity": opp.pk}
    )
    assert response.status_code == 404 and not Activity.objects.exists()


def test_edit_adds_changes_and_removes_links(personas, client_for):
    account = make_account(personas.rep, "华东制造")
    other = make_account(personas.rep, "江南纺织")
    contact = make_contact(other, "周总")
    opp = make_opportunity(account, name="产线改造")
    task = make_activity(personas.rep, kind="task", subject="回电", due_at=local_dt(date(2099, 1, 1)))
    client = client_for(personas.rep)
    edit = {"kind": "task", "subject": "回电", "due_at": "2099-01-01T10:00"}
    assert client.post(f"/activities/{task.pk}/edit/", {**edit, "opportunity": opp.pk}).status_code == 302
    task.refresh_from_db()
    assert (task.opportunity_id, task.account_id) == (opp.pk, account.pk)
    event = AuditEvent.objects.filter(verb="activities.activity.updated").latest("id")
    assert event.data["changes"]["opportunity"] == [None, opp.pk]
    # a contact of another account while the deal stays: the account would follow the contact,
    # and the deal belongs to another one; refused, nothing changes
    response = client.post(
        f"/activities/{task.pk}/edit/", {**edit, "opportunity": opp.pk, "account": account.pk, "contact": contact.pk}
    )
    assert response.status_code == 200 and "belongs to another account" in response.content.decode()
    task.refresh_from_db()
    assert (task.contact_id, task.account_id) == (None, account.pk)
    # switch to the contact (deal and account cleared): the account follows the contact
    response = client.post(
        f"/activities/{task.pk}/edit/", {**edit, "opportunity": "", "account": "", "contact": contact.pk}
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.opportunity_id, task.contact_id, task.account_id) == (None, contact.pk, other.pk)


def test_edit_to_an_unseen_record_is_refused(personas, client_for):
    task = make_activity(personas.rep, kind="call", subject="回电")
    foreign = make_opportunity(make_account(personas.outsider))
    response = client_for(personas.rep).post(
        f"/activities/{task.pk}/edit/", {"kind": "call", "subject": "回电", "opportunity": foreign.pk}
    )
    assert response.status_code == 404
    task.refresh_from_db()
    assert task.opportunity_id is None


def test_service_update_validates_links(personas):
    account = make_account(personas.rep)
    opp = make_opportunity(make_account(personas.rep))
    task = make_activity(personas.rep, kind="call", subject="回电", account=account)
    with pytest.raises(ValidationFailed) as exc:
        activity_update(actor=personas.rep, activity=task, opportunity=opp, account=account)
    assert set(exc.value.field_errors) == {"opportunity"}
    assert Activity.objects.get(pk=task.pk).opportunity_id is None


def test_api_patch_changes_links(personas, api_for):
    account = make_account(personas.rep)
    opp = make_opportunity(account)
    task = make_activity(personas.rep, kind="call", subject="回电")
    api = api_for(personas.rep)
    body = api.patch(f"/activities/{task.pk}", {"opportunity_id": opp.pk}).json()
    assert (body["opportunity_id"], body["account_id"]) == (opp.pk, account.pk)
    body = api.patch(f"/activities/{task.pk}", {"opportunity_id": None}).json()
    assert (body["opportunity_id"], body["account_id"]) == (None, account.pk)
    foreign = make_opportunity(make_account(personas.outsider))
    assert api.patch(f"/activities/{task.pk}", {"opportunity_id": foreign.pk}).status_code == 404


# --- (c) a planned follow-up becomes the deal's next step ------------------------------------


def _deal(personas, **fields):
    fields.setdefault("next_step", "")
    fields.setdefault("next_step_date", None)
    return make_opportunity(make_account(personas.rep, "华东制造"), name="产线改造", **fields)


def test_planned_follow_up_sets_the_next_step(personas):
    opp = _deal(personas)
    due = timezone.now() + timedelta(days=7)
    activity_create(actor=personas.rep, kind="visit", subject="现场演示", due_at=due, opportunity=opp)
    opp.refresh_from_db()
    assert (opp.next_step_date, opp.next_step) == (timezone.localdate(due), "现场演示")
    assert AuditEvent.objects.filter(verb="sales.opportunity.updated", target_id=opp.pk).exists()


def test_logged_activity_with_next_follow_up_sets_the_date_but_keeps_the_text(personas):
    opp = _deal(personas, next_step="等待预算审批", next_step_date=timezone.localdate() - timedelta(days=3))
    follow = timezone.localdate() + timedelta(days=10)
    activity_create(actor=personas.rep, kind="call", subject="电话", done=True, next_follow_up=follow, opportunity=opp)
    opp.refresh_from_db()
    assert (opp.next_step_date, opp.next_step) == (follow, "等待预算审批")


def test_a_later_follow_up_does_not_push_back_a_nearer_step(personas):
    near = timezone.localdate() + timedelta(days=2)
    opp = _deal(personas, next_step="报价", next_step_date=near)
    activity_create(
        actor=personas.rep, kind="visit", subject="拜访", due_at=timezone.now() + timedelta(days=30), opportunity=opp
    )
    opp.refresh_from_db()
    assert opp.next_step_date == near


def test_completing_the_follow_up_keeps_the_date(personas):
    opp = _deal(personas)
    due = timezone.now() + timedelta(days=7)
    task = activity_create(actor=personas.rep, kind="task", subject="回访", due_at=due, opportunity=opp)
    activity_complete(actor=personas.rep, activity=task)
    opp.refresh_from_db()
    assert opp.next_step_date == timezone.localdate(due)


def test_support_logs_the_follow_up_but_the_deal_is_untouched(personas):
    opp = _deal(personas)
    before = Opportunity.objects.filter(pk=opp.pk).values("next_step", "next_step_date", "updated_at").get()
    activity = activity_create(
        actor=personas.support,
        kind="visit",
        subject="支持拜访",
        due_at=timezone.now() + timedelta(days=3),
        opportunity=opp,
    )
    assert activity.pk is not None
    assert Opportunity.objects.filter(pk=opp.pk).values("next_step", "next_step_date", "updated_at").get() == before


def test_the_deal_leaves_deals_without_a_next_step(personas):
    from salesflow.activities.selectors import my_day

    opp = _deal(personas)
    assert opp in my_day(personas.manager, timezone.localdate()).team.no_next_step.items  # type: ignore[union-attr]
    activity_create(
        actor=personas.rep, kind="task", subject="回访", due_at=timezone.now() + timedelta(days=1), opportunity=opp
    )
    assert opp not in my_day(personas.manager, timezone.localdate()).team.no_next_step.items  # type: ignore[union-attr]
    assert opp not in my_day(personas.rep, timezone.localdate()).no_next_step.items
