import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
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


@pytest.fixture
def rep_activity(personas):
    account = make_account(personas.rep, "华东制造")
    return make_activity(
        personas.rep, kind="task", subject="发送报价单", account=account, due_at=timezone.now() + timedelta(days=1)
    )


# --- persona matrix --------------------------------------------------------------------------


@pytest.mark.parametrize("who", ALL)
def test_detail_page_visibility(personas, client_for, rep_activity, who):
    response = client_for(getattr(personas, who)).get(f"/activities/{rep_activity.pk}/")
    assert response.status_code == (_expected(who, write=False) or 200)
    if response.status_code == 200:
        assert "发送报价单" in response.content.decode()
        assert "华东制造" in response.content.decode()


@pytest.mark.parametrize("who", ALL)
def test_edit_by_persona(personas, client_for, rep_activity, who):
    client = client_for(getattr(personas, who))
    before = _row(rep_activity)
    assert client.get(f"/activities/{rep_activity.pk}/edit/").status_code == (_expected(who, write=True) or 200)
    response = client.post(
        f"/activities/{rep_activity.pk}/edit/",
        {"kind": "call", "subject": "改为电话", "owner": personas.rep.pk, "outcome": ""},
    )
    expected = _expected(who, write=True)
    if expected:
        assert response.status_code == expected
        assert _row(rep_activity) == before
    else:
        assert response.status_code == 302
        assert response["Location"] == f"/activities/{rep_activity.pk}/"
        row = Activity.objects.get(pk=rep_activity.pk)
        assert (row.kind, row.subject, row.owner_id) == ("call", "改为电话", personas.rep.pk)


@pytest.mark.parametrize("who", ALL)
def test_complete_by_persona(personas, client_for, rep_activity, who):
    before = _row(rep_activity)
    response = client_for(getattr(personas, who)).post(
        f"/activities/{rep_activity.pk}/complete/", {"outcome": "已发送", "next_follow_up": "2026-04-01"}
    )
    expected = _expected(who, write=True)
    if expected:
        assert response.status_code == expected
        assert _row(rep_activity) == before
    else:
        assert response.status_code == 302
        row = Activity.objects.get(pk=rep_activity.pk)
        assert (row.done, row.outcome, row.next_follow_up) == (True, "已发送", date(2026, 4, 1))


@pytest.mark.parametrize("who", ALL)
def test_delete_by_persona(personas, client_for, rep_activity, who):
    client = client_for(getattr(personas, who))
    expected = _expected(who, write=True)
    assert client.get(f"/activities/{rep_activity.pk}/delete/").status_code == (expected or 200)
    response = client.post(f"/activities/{rep_activity.pk}/delete/")
    if expected:
        assert response.status_code == expected
        assert Activity.objects.filter(pk=rep_activity.pk).exists()
    else:
        assert response.status_code == 302
        assert response["Location"] == "/activities/"
        assert not Activity.objects.filter(pk=rep_activity.pk).exists()


def test_support_logs_on_team_account_and_edits_only_their_own(personas, client_for, rep_activity):
    client = client_for(personas.support)
    account = rep_activity.account
    response = client.post(
        "/activities/create/",
        {"account": account.pk, "kind": "demo", "subject": "远程演示", "done": "on", "outcome": "客户满意"},
    )
    assert response.status_code == 302
    own = Activity.objects.get(subject="远程演示")
    assert (own.owner, own.account, own.done) == (personas.support, account, True)
    assert response["Location"] == f"/activities/{own.pk}/"
    response = client.post(f"/activities/{own.pk}/edit/", {"kind": "demo", "subject": "远程演示（第二次）"})
    assert response.status_code == 302
    assert Activity.objects.get(pk=own.pk).subject == "远程演示（第二次）"
    before = _row(rep_activity)
    assert client.post(f"/activities/{rep_activity.pk}/edit/", {"kind": "call", "subject": "x"}).status_code == 403
    assert _row(rep_activity) == before
    # the rep sees support's activity on their account
    assert client_for(personas.rep).get(f"/activities/{own.pk}/").status_code == 200


@pytest.mark.parametrize("who", ["outsider", "other_manager", "teammate"])
def test_logging_on_an_invisible_record_is_404_and_writes_nothing(personas, client_for, who):
    account = make_account(personas.rep)
    lead = make_lead(personas.rep)
    client = client_for(getattr(personas, who))
    before = (Activity.objects.count(), AuditEvent.objects.count())
    for params in ({"account": account.pk}, {"lead": lead.pk}):
        assert client.get("/activities/create/", params).status_code == 404
        response = client.post("/activities/create/", {**params, "kind": "call", "subject": "越权记录", "done": "on"})
        assert response.status_code == 404
        response = client.post(
            "/activities/create/",
            {**params, "panel": next(iter(params)), "kind": "call", "subject": "越权记录"},
            headers={"hx-request": "true"},
        )
        assert response.status_code == 404
    assert (Activity.objects.count(), AuditEvent.objects.count()) == before


# --- create / edit forms -------------------------------------------------------------------


def test_create_form_prefills_links_and_shows_their_names(personas, client_for):
    account = make_account(personas.rep, "苏州精密")
    contact = make_contact(account, "周总")
    opp = make_opportunity(account, name="产线升级")
    response = client_for(personas.rep).get(
        "/activities/create/", {"account": account.pk, "contact": contact.pk, "opportunity": opp.pk}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="activity-form"' in html
    for name in ("苏州精密", "周总", "产线升级"):
        assert name in html
    # the link fields (remote search selects) start with the records chosen
    for field, value in (("account", account.pk), ("contact", contact.pk), ("opportunity", opp.pk)):
        assert re.search(
            rf'<select name="{field}"[^>]*data-record-search[^>]*>.*?<option value="{value}" selected>', html, re.S
        )


def test_create_form_rejects_unknown_or_garbage_ids(personas, client_for):
    client = client_for(personas.rep)
    assert client.get("/activities/create/", {"account": "abc"}).status_code == 404
    assert client.get("/activities/create/", {"opportunity": 999999}).status_code == 404


def test_create_on_lead_marks_it_contacted_and_redirects_to_next(personas, client_for):
    lead = make_lead(personas.rep)
    response = client_for(personas.rep).post(
        "/activities/create/",
        {"lead": lead.pk, "kind": "call", "subject": "首次联系", "done": "on", "next": f"/leads/{lead.pk}/"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/leads/{lead.pk}/"
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONTACTED


def test_create_ignores_offsite_next(personas, client_for):
    response = client_for(personas.rep).post(
        "/activities/create/", {"kind": "note", "subject": "备注", "next": "https://evil.example.com/"}
    )
    activity = Activity.objects.get(subject="备注")
    assert response["Location"] == f"/activities/{activity.pk}/"


def test_invalid_create_shows_errors_and_writes_nothing(personas, client_for):
    account = make_account(personas.rep)
    other_contact = make_contact(make_account(personas.rep))
    client = client_for(personas.rep)
    response = client.post("/activities/create/", {"account": account.pk, "kind": "task", "subject": "无截止日期任务"})
    assert response.status_code == 200
    assert "A task needs a due date." in response.content.decode()
    response = client.post(
        "/activities/create/", {"account": account.pk, "contact": other_contact.pk, "kind": "call", "subject": "x"}
    )
    assert response.status_code == 200
    assert "The contact does not belong to the account." in response.content.decode()
    response = client.post("/activities/create/", {"kind": "call", "subject": "x", "owner": personas.teammate.pk})
    assert response.status_code == 200
    assert not Activity.objects.exists()
    assert not AuditEvent.objects.filter(verb__startswith="activities.").exists()


def test_create_form_in_chinese(personas, client_for):
    html = client_for(personas.rep, "zh-hans").get("/activities/create/").content.decode()
    assert "新建跟进" in html and "下次跟进" in html


def test_support_form_has_no_owner_choice(personas, client_for):
    html = client_for(personas.support).get("/activities/create/").content.decode()
    assert 'name="owner"' not in html
    html = client_for(personas.manager).get("/activities/create/").content.decode()
    assert 'name="owner"' in html


# --- complete via htmx ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variant", "marker"),
    [("row", "<tr"), ("myday", 'id="my-day-activity-'), ("panel", 'id="panel-activity-')],
)
def test_complete_with_htmx_returns_the_updated_fragment(personas, client_for, rep_activity, variant, marker):
    response = client_for(personas.rep).post(
        f"/activities/{rep_activity.pk}/complete/", {"variant": variant}, headers={"hx-request": "true"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(marker) or marker in html.split(">", 1)[0] + ">"
    assert 'data-testid="activity-state-done"' in html
    assert 'data-testid="activity-complete"' not in html
    assert "<html" not in html
    assert Activity.objects.get(pk=rep_activity.pk).done


def test_complete_requires_post(personas, client_for, rep_activity):
    # a GET (a reload, a shared link) completes nothing and lands on the activity
    response = client_for(personas.rep).get(f"/activities/{rep_activity.pk}/complete/")
    assert response.status_code == 302 and response["Location"] == f"/activities/{rep_activity.pk}/"
    rep_activity.refresh_from_db()
    assert not rep_activity.done


# --- list ----------------------------------------------------------------------------------


def test_list_shows_only_visible_rows_and_filters(personas, client_for):
    account = make_account(personas.rep, "华东制造")
    make_activity(personas.rep, kind="call", subject="报价电话", account=account)
    make_activity(personas.rep, kind="task", subject="准备合同", due_at=timezone.now(), account=account)
    make_activity(personas.outsider, kind="call", subject="外组电话")
    client = client_for(personas.rep)
    html = client.get("/activities/").content.decode()
    assert "报价电话" in html and "准备合同" in html and "外组电话" not in html
    html = client.get("/activities/", {"q": "报价"}).content.decode()
    assert "报价电话" in html and "准备合同" not in html
    html = client.get("/activities/", {"kind": "task"}).content.decode()
    assert "报价电话" not in html and "准备合同" in html
    html = client.get("/activities/", {"done": "done"}).content.decode()
    assert 'data-testid="activity-list-empty"' in html
    html = client.get("/activities/", {"account": account.pk}).content.decode()
    assert 'data-testid="activity-list-record-filter"' in html and "华东制造" in html
    assert client_for(personas.outsider).get("/activities/", {"account": account.pk}).status_code == 404
    assert "外组电话" in client_for(personas.outsider).get("/activities/").content.decode()


def test_list_sorting_and_pagination(personas, client_for):
    base = timezone.now()
    for i in range(30):
        make_activity(personas.rep, subject=f"活动{i:02d}", due_at=base + timedelta(hours=i))
    client = client_for(personas.rep)
    html = client.get("/activities/", {"sort": "due"}).content.decode()
    assert html.index("活动00") < html.index("活动01")
    assert "活动29" not in html  # 25 per page
    html = client.get("/activities/", {"sort": "due", "page": 2}).content.decode()
    assert "活动29" in html and "活动00" not in html
    html = client.get("/activities/", {"sort": "-due"}).content.decode()
    assert html.index("活动29") < html.index("活动28")
    assert client.get("/activities/", {"sort": "owner__password"}).status_code == 200


# --- record panel --------------------------------------------------------------------------


def test_panel_lists_record_activities_newest_first_with_quick_log(personas, client_for):
    account = make_account(personas.rep)
    contact = make_contact(account)
    make_activity(personas.rep, subject="较早的电话", account=account, created_at=local_dt(date(2026, 3, 1)))
    make_activity(personas.rep, subject="最近的拜访", contact=contact, created_at=local_dt(date(2026, 3, 5)))
    make_activity(personas.rep, subject="别的客户")
    response = client_for(personas.rep).get(
        "/activities/panel/", {"account": account.pk}, headers={"hx-request": "true"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="activity-panel"' in html and 'data-testid="quick-log-form"' in html
    assert html.index("最近的拜访") < html.index("较早的电话")
    assert "别的客户" not in html
    assert f'href="/activities/?account={account.pk}"' in html
    assert f'name="account" value="{account.pk}"' in html and 'name="panel" value="account"' in html
    assert "<html" not in html


@pytest.mark.parametrize("who", ["teammate", "outsider", "other_manager"])
def test_panel_is_404_for_unseen_records(personas, client_for, who):
    account = make_account(personas.rep)
    opp = make_opportunity(account)
    lead = make_lead(personas.rep)
    contact = make_contact(account)
    client = client_for(getattr(personas, who))
    for params in ({"account": account.pk}, {"opportunity": opp.pk}, {"lead": lead.pk}, {"contact": contact.pk}):
        assert client.get("/activities/panel/", params).status_code == 404


def test_panel_needs_exactly_one_record(personas, client_for):
    account = make_account(personas.rep)
    client = client_for(personas.rep)
    assert client.get("/activities/panel/").status_code == 404
    assert client.get("/activities/panel/", {"account": "x"}).status_code == 404
    lead = make_lead(personas.rep)
    assert client.get("/activities/panel/", {"account": account.pk, "lead": lead.pk}).status_code == 404


def test_quick_log_via_htmx_swaps_the_panel(personas, client_for):
    account = make_account(personas.rep)
    opp = make_opportunity(account)
    client = client_for(personas.support)
    response = client.post(
        "/activities/create/",
        {
            "opportunity": opp.pk,
            "panel": "opportunity",
            "kind": "demo",
            "subject": "现场演示",
            "done": "on",
            "outcome": "技术部认可",
            "next_follow_up": "2026-04-02",
        },
        headers={"hx-request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert response["HX-Trigger"] == "activity-logged"
    assert 'data-testid="activity-panel"' in html and "现场演示" in html
    activity = Activity.objects.get(subject="现场演示")
    assert (activity.owner, activity.opportunity, activity.account, activity.done) == (
        personas.support,
        opp,
        account,
        True,
    )
    assert activity.next_follow_up == date(2026, 4, 2)


def test_quick_log_errors_stay_in_the_panel(personas, client_for):
    account = make_account(personas.rep)
    response = client_for(personas.rep).post(
        "/activities/create/",
        {"account": account.pk, "panel": "account", "kind": "task", "subject": "缺日期"},
        headers={"hx-request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="quick-log-form"' in html and "A task needs a due date." in html
    assert "HX-Trigger" not in response
    assert not Activity.objects.exists()


# --- My day --------------------------------------------------------------------------------


def test_my_day_page_shows_the_four_cards(personas, client_for):
    today = timezone.localdate()
    account = make_account(personas.rep, "华东制造")
    make_activity(
        personas.rep,
        kind="task",
        subject="逾期的任务",
        due_at=local_dt(today - timedelta(days=2)),
        account=account,
        created_at=local_dt(today - timedelta(days=9)),
    )
    make_activity(
        personas.rep,
        kind="task",
        subject="今天的任务",
        due_at=local_dt(today, 23, 0),
        created_at=local_dt(today - timedelta(days=9)),
    )
    make_activity(
        personas.rep,
        subject="待跟进的电话",
        done=True,
        opportunity=make_opportunity(account, name="某商机"),
        next_follow_up=today,
        created_at=local_dt(today - timedelta(days=3)),
    )
    make_opportunity(account, name="没有下一步的商机", next_step="", next_step_date=None)
    make_opportunity(make_account(personas.teammate), name="同事的商机", next_step="", next_step_date=None)
    make_activity(personas.teammate, kind="task", subject="同事的任务", due_at=local_dt(today))
    response = client_for(personas.rep).get("/")
    html = response.content.decode()
    assert response.status_code == 200
    cards = {}
    for testid in ("my-day-overdue", "my-day-today", "my-day-followups", "my-day-no-next-step"):
        start = html.index(f'data-testid="{testid}"')
        cards[testid] = html[
            start : html.find('<div class="col-lg-6">', start) if '<div class="col-lg-6">' in html[start:] else None
        ]
    assert "逾期的任务" in cards["my-day-overdue"] and 'data-testid="activity-complete"' in cards["my-day-overdue"]
    assert "今天的任务" in cards["my-day-today"]
    assert "待跟进的电话" in cards["my-day-followups"] and "my-day-log-follow-up" in cards["my-day-followups"]
    assert "没有下一步的商机" in cards["my-day-no-next-step"]
    assert "同事的商机" not in html and "同事的任务" not in html


def test_my_day_empty_states_in_chinese(personas, client_for):
    html = client_for(personas.assistant, "zh-hans").get("/").content.decode()
    for testid in ("my-day-overdue-empty", "my-day-today-empty", "my-day-followups-empty", "my-day-no-next-step-empty"):
        assert f'data-testid="{testid}"' in html
    assert "没有逾期事项" in html


# --- query counts --------------------------------------------------------------------------


def _count_queries(client, url, params=None):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _add_rows(personas, account, n):
    for i in range(n):
        contact = make_contact(account)
        opp = make_opportunity(account, next_step="")
        lead = make_lead(personas.rep)
        today = timezone.localdate()
        make_activity(
            personas.rep, kind="task", due_at=local_dt(today - timedelta(days=1)), contact=contact, opportunity=opp
        )
        make_activity(personas.rep, kind="call", due_at=local_dt(today, 20), lead=lead, account=account)
        make_activity(personas.support, kind="demo", done=True, next_follow_up=today, opportunity=opp)
        make_activity(
            personas.rep,
            kind="visit",
            done=True,
            next_follow_up=today - timedelta(days=i),
            contact=contact,
            created_at=local_dt(today - timedelta(days=40)),
        )


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_query_counts_do_not_grow_with_rows(personas, client_for, who):
    account = make_account(personas.rep)
    _add_rows(personas, account, 3)
    client = client_for(getattr(personas, who))
    pages = [("/activities/", None), ("/activities/panel/", {"account": account.pk}), ("/", None)]
    for url, params in pages:  # warm the per-process caches (content types) first: they are not rows
        _count_queries(client, url, params)
    small = [_count_queries(client, url, params) for url, params in pages]
    _add_rows(personas, account, 20)
    large = [_count_queries(client, url, params) for url, params in pages]
    assert small == large
    list_q, panel_q, my_day_q = large
    # a manager's My day adds the team sections (ten queries, see ``team_day``)
    # issue 7: the panel reads the activity-type rules (+1), My day the customers due (+2) and,
    # for a manager, the team's customers at risk (+1)
    assert list_q <= 10 and panel_q <= 9 and my_day_q <= (27 if who == "manager" else 16)


def test_detail_query_count_is_bounded(personas, client_for, django_assert_max_num_queries, rep_activity):
    client = client_for(personas.rep)
    client.get(f"/activities/{rep_activity.pk}/")  # warm the per-process caches (content types): not rows
    with django_assert_max_num_queries(8):
        assert client.get(f"/activities/{rep_activity.pk}/").status_code == 200
