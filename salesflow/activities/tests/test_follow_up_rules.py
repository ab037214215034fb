"""Issue 7, follow-up discipline (跟进): due dates derived from done activities, the
activity-type completion rules, the planned follow-up, the escalation ladder, reassigning
a neglected account, visit check-ins and the private calendar feed (ICS)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from icalendar import Calendar

from salesflow.activities.models import Activity, ActivityKindConfig, FollowUpEscalation
from salesflow.activities.services import (
    activity_check_in,
    activity_complete,
    activity_create,
    activity_delete,
    activity_kind_config_save,
    activity_update,
    follow_up_escalate,
    follow_up_recompute,
)
from salesflow.activities.tasks import follow_up_escalation
from salesflow.activities.tests.factories import local_dt, make_account, make_opportunity
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.parties.models import Account, FollowUpPolicy
from salesflow.parties.services import (
    account_reassign_for_neglect,
    account_update,
    follow_up_local_date,
    follow_up_policy_save,
)
from salesflow.sales.models import Opportunity
from salesflow.users.models import CalendarToken
from salesflow.users.services import calendar_token_create, calendar_token_revoke

pytestmark = pytest.mark.django_db


def graded(owner, grade: str = "A", name: str | None = None) -> Account:  # type: ignore[no-untyped-def]
    account = make_account(owner, name)
    return account_update(actor=owner, account=account, grade=grade)


def log_visit(actor, account, **kw):  # type: ignore[no-untyped-def]
    kw.setdefault("outcome", "谈了续约")
    kw.setdefault("next_follow_up", timezone.localdate() + timedelta(days=7))
    return activity_create(actor=actor, kind="visit", subject="拜访", account=account, done=True, **kw)


# --- derivation of the due date ----------------------------------------------------------------


def test_seeded_tiers_and_rules() -> None:
    assert dict(FollowUpPolicy.objects.values_list("grade", "every_days")) == {"A": 7, "B": 14, "C": 30, "D": 90}
    rules = {
        c.kind: (c.needs_outcome, c.needs_next_follow_up, c.counts_as_follow_up)
        for c in ActivityKindConfig.objects.all()
    }
    assert rules["visit"] == (True, True, True) and rules["call"] == (True, True, True)
    assert rules["note"] == (False, False, False)


def test_new_account_is_due_one_period_after_creation_and_grade_change_redates(personas) -> None:  # type: ignore[no-untyped-def]
    account = make_account(personas.rep)
    assert account.next_follow_up_due is None  # no grade, no policy
    account = account_update(actor=personas.rep, account=account, grade="B")
    assert account.next_follow_up_due == follow_up_local_date(account.created_at) + timedelta(days=14)
    account = account_update(actor=personas.rep, account=account, grade="A")
    assert account.next_follow_up_due == follow_up_local_date(account.created_at) + timedelta(days=7)


def test_each_service_path_keeps_last_follow_up_and_due(personas) -> None:  # type: ignore[no-untyped-def]
    account = graded(personas.rep, "A")
    # create (done)
    visit = log_visit(personas.rep, account)
    account.refresh_from_db()
    assert account.last_follow_up_at == visit.done_at
    assert account.next_follow_up_due == follow_up_local_date(visit.done_at) + timedelta(days=7)
    # a planned activity and a done note do not count
    note = activity_create(actor=personas.rep, kind="note", subject="备注", account=account, done=True)
    account.refresh_from_db()
    assert account.last_follow_up_at == visit.done_at
    # complete
    call = activity_create(
        actor=personas.rep, kind="call", subject="回访", account=account, due_at=timezone.now() + timedelta(hours=1)
    )
    call = activity_complete(actor=personas.rep, activity=call, outcome="确认需求", next_follow_up=date(2099, 1, 1))
    account.refresh_from_db()
    assert account.last_follow_up_at == call.done_at
    # update: un-done → back to the visit
    activity_update(actor=personas.rep, activity=call, done=False)
    account.refresh_from_db()
    assert account.last_follow_up_at == visit.done_at
    # update: moved to another account → both recomputed
    other = graded(personas.rep, "C")
    activity_update(actor=personas.rep, activity=visit, account=other)
    account.refresh_from_db()
    other.refresh_from_db()
    assert account.last_follow_up_at is None
    assert account.next_follow_up_due == follow_up_local_date(account.created_at) + timedelta(days=7)
    assert other.last_follow_up_at == visit.done_at
    assert other.next_follow_up_due == follow_up_local_date(visit.done_at) + timedelta(days=30)
    # delete
    activity_delete(actor=personas.rep, activity=visit)
    other.refresh_from_db()
    assert other.last_follow_up_at is None
    assert note.pk


def test_policy_change_redates_and_recompute_command_repairs(personas) -> None:  # type: ignore[no-untyped-def]
    account = graded(personas.rep, "B")
    visit = log_visit(personas.rep, account)
    follow_up_policy_save(actor=personas.admin, grade="B", every_days=10, grace_days=1)
    account.refresh_from_db()
    assert account.next_follow_up_due == follow_up_local_date(visit.done_at) + timedelta(days=10)
    Account.objects.filter(pk=account.pk).update(last_follow_up_at=None, next_follow_up_due=None)
    follow_up_recompute()
    account.refresh_from_db()
    assert account.last_follow_up_at == visit.done_at
    with pytest.raises(Forbidden):
        follow_up_policy_save(actor=personas.manager, grade="B", every_days=3, grace_days=0)
    with pytest.raises(ValidationFailed) as exc:
        follow_up_policy_save(actor=personas.admin, grade="B", every_days=0, grace_days=-1)
    assert set(exc.value.field_errors) == {"every_days", "grace_days"}


# --- completion rules per activity type -------------------------------------------------------


def test_a_done_visit_needs_outcome_and_next_follow_up_on_every_path(personas) -> None:  # type: ignore[no-untyped-def]
    account = graded(personas.rep)
    before = Activity.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        activity_create(actor=personas.rep, kind="visit", subject="拜访", account=account, done=True)
    assert set(exc.value.field_errors) == {"outcome", "next_follow_up"}
    assert Activity.objects.count() == before
    planned = activity_create(
        actor=personas.rep, kind="visit", subject="拜访", account=account, due_at=timezone.now() + timedelta(days=1)
    )
    with pytest.raises(ValidationFailed) as exc:
        activity_complete(actor=personas.rep, activity=planned, outcome="见了采购")
    assert set(exc.value.field_errors) == {"next_follow_up"}
    with pytest.raises(ValidationFailed) as exc:
        activity_update(actor=personas.rep, activity=planned, done=True)
    assert set(exc.value.field_errors) == {"outcome", "next_follow_up"}
    planned.refresh_from_db()
    assert not planned.done
    # a note needs nothing
    activity_create(actor=personas.rep, kind="note", subject="备注", account=account, done=True)
    # the rule is data: an administrator relaxes it
    activity_kind_config_save(
        actor=personas.admin, kind="visit", needs_outcome=False, needs_next_follow_up=False, counts_as_follow_up=True
    )
    activity_update(actor=personas.rep, activity=planned, done=True)
    with pytest.raises(Forbidden):
        activity_kind_config_save(
            actor=personas.rep, kind="visit", needs_outcome=True, needs_next_follow_up=True, counts_as_follow_up=True
        )


def test_api_names_the_missing_fields(personas, api_for) -> None:  # type: ignore[no-untyped-def]
    account = graded(personas.rep)
    api = api_for(personas.rep)
    response = api.post("/activities", {"kind": "meeting", "subject": "会议", "account_id": account.pk, "done": True})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"outcome", "next_follow_up"}


def test_next_follow_up_plans_the_next_activity_once(personas) -> None:  # type: ignore[no-untyped-def]
    account = graded(personas.rep)
    on = timezone.localdate() + timedelta(days=5)
    visit = log_visit(personas.rep, account, next_follow_up=on)
    planned = Activity.objects.exclude(pk=visit.pk).get()
    assert (planned.kind, planned.done, planned.account_id, planned.owner_id) == (
        "visit",
        False,
        account.pk,
        personas.rep.pk,
    )
    assert timezone.localtime(planned.due_at, personas.rep.zone).date() == on
    assert timezone.localtime(planned.due_at, personas.rep.zone).hour == 9
    # another log with the same date on the same account plans nothing more
    log_visit(personas.rep, account, next_follow_up=on)
    assert Activity.objects.filter(done=False).count() == 1


# --- the escalation ladder ---------------------------------------------------------------------


def _due(account: Account, due: date) -> None:
    Account.objects.filter(pk=account.pk).update(next_follow_up_due=due)


def test_ladder_steps_on_their_days_and_twice_is_idempotent(personas) -> None:  # type: ignore[no-untyped-def]
    account = graded(personas.rep, "A")  # every 7, grace 2; steps +0 remind, +3 manager, +7 at risk
    fresh = graded(personas.rep, "A")
    due = date(2026, 3, 1)
    _due(account, due)
    _due(fresh, date(2026, 3, 20))

    def steps() -> list[str]:
        return list(
            AuditEvent.objects.filter(verb="activities.follow_up.escalated", target_id=account.pk)
            .order_by("id")
            .values_list("data__action", flat=True)
        )

    assert follow_up_escalate(today=due + timedelta(days=2)) == 0  # within the grace period
    assert follow_up_escalate(today=due + timedelta(days=3)) == 1
    assert steps() == ["remind_owner"]
    assert follow_up_escalate(today=due + timedelta(days=5)) == 0
    assert follow_up_escalate(today=due + timedelta(days=6)) == 1
    assert steps() == ["remind_owner", "notify_manager"]
    account.refresh_from_db()
    assert account.at_risk_since is None
    follow_up_escalation.call(slot=(due + timedelta(days=10)).isoformat())
    follow_up_escalation.call(slot=(due + timedelta(days=10)).isoformat())  # the job twice: nothing new
    assert steps() == ["remind_owner", "notify_manager", "mark_at_risk"]
    assert FollowUpEscalation.objects.filter(account=account).count() == 3
    assert not AuditEvent.objects.filter(verb="activities.follow_up.escalated", target_id=fresh.pk).exists()
    account.refresh_from_db()
    assert account.at_risk_since is not None
    event = AuditEvent.objects.filter(verb="activities.follow_up.escalated", target_id=account.pk).order_by("id").last()
    assert event is not None and event.data["days_over"] == 8 and event.data["owner"] == personas.rep.pk

    # the next done follow-up clears the flag and starts a new episode
    log_visit(personas.rep, account)
    account.refresh_from_db()
    assert account.at_risk_since is None and account.next_follow_up_due > due


def test_open_deal_without_follow_up_is_escalated_too(personas) -> None:  # type: ignore[no-untyped-def]
    account = graded(personas.rep, "A")
    deal = make_opportunity(account)
    Opportunity.objects.filter(pk=deal.pk).update(created_at=timezone.now() - timedelta(days=40))
    _due(account, timezone.localdate() + timedelta(days=3))  # the account itself is fine
    today = timezone.localdate()
    assert follow_up_escalate(today=today) == 1
    assert follow_up_escalate(today=today) == 0
    # first seen 31 days past due and grace: only the furthest step (at risk) is taken, the
    # two before it are recorded as skipped without events
    deal_events = AuditEvent.objects.filter(verb="activities.follow_up.escalated", target_id=deal.pk)
    assert list(deal_events.values_list("data__action", flat=True)) == ["mark_at_risk"]
    assert sorted(FollowUpEscalation.objects.filter(opportunity=deal).values_list("step__action", "skipped")) == [
        ("mark_at_risk", False),
        ("notify_manager", True),
        ("remind_owner", True),
    ]
    account.refresh_from_db()
    assert account.at_risk_since is not None
    # a deal with a recent done follow-up is left alone
    other = make_opportunity(account)
    Opportunity.objects.filter(pk=other.pk).update(created_at=timezone.now() - timedelta(days=40))
    log_visit(personas.rep, account, opportunity=other)
    follow_up_escalate(today=today)
    assert not AuditEvent.objects.filter(verb="activities.follow_up.escalated", target_id=other.pk).exists()


def test_catch_up_skips_earlier_steps_but_still_marks_at_risk(personas) -> None:  # type: ignore[no-untyped-def]
    """A ladder where "at risk" comes before the last step: a record first seen past the
    last step gets only that step's notification, but is still marked at risk."""
    from salesflow.activities.models import FollowUpEscalationStep

    FollowUpEscalationStep.objects.filter(action="notify_manager").update(after_days_over=12)  # +0, +7 risk, +12
    account = graded(personas.rep, "A")
    _due(account, date(2026, 3, 1))
    assert follow_up_escalate(today=date(2026, 3, 20)) == 1  # 17 days over: +12 reached
    assert sorted(FollowUpEscalation.objects.filter(account=account).values_list("step__action", "skipped")) == [
        ("mark_at_risk", True),
        ("notify_manager", False),
        ("remind_owner", True),
    ]
    account.refresh_from_db()
    assert account.at_risk_since is not None
    assert follow_up_escalate(today=date(2026, 3, 21)) == 0


# --- reassigning a neglected account ----------------------------------------------------------


def test_only_the_manager_reassigns_for_neglect_with_a_reason_audited(personas) -> None:  # type: ignore[no-untyped-def]
    account = graded(personas.rep, "A")
    for actor in (personas.rep, personas.teammate, personas.support, personas.other_manager):
        with pytest.raises(Forbidden):
            account_reassign_for_neglect(actor=actor, account=account, owner=personas.teammate, reason="久未跟进")
    with pytest.raises(ValidationFailed) as exc:
        account_reassign_for_neglect(actor=personas.manager, account=account, owner=personas.teammate, reason="  ")
    assert set(exc.value.field_errors) == {"reason"}
    account_reassign_for_neglect(actor=personas.manager, account=account, owner=personas.teammate, reason="三周未拜访")
    account.refresh_from_db()
    assert account.owner == personas.teammate
    event = AuditEvent.objects.get(verb="parties.account.reassigned_for_neglect")
    assert event.actor == personas.manager
    assert (event.data["from_owner"], event.data["to_owner"], event.data["reason"]) == (
        personas.rep.pk,
        personas.teammate.pk,
        "三周未拜访",
    )


def test_reassign_api_and_page(personas, api_for, client_for) -> None:  # type: ignore[no-untyped-def]
    account = graded(personas.rep, "A")
    assert (
        api_for(personas.rep)
        .post(f"/accounts/{account.pk}/reassign-for-neglect", {"owner_id": personas.teammate.pk, "reason": "x"})
        .status_code
        == 403
    )
    bad = api_for(personas.manager).post(
        f"/accounts/{account.pk}/reassign-for-neglect", {"owner_id": personas.teammate.pk, "reason": "x" * 501}
    )
    assert bad.status_code == 400 and "reason" in bad.json()["errors"]
    _due(account, date(2020, 1, 1))
    page = client_for(personas.manager).get(f"/accounts/{account.pk}/")
    assert b'data-testid="account-reassign-neglected"' in page.content
    assert b'data-testid="account-follow-up-overdue"' in page.content
    assert (
        b'data-testid="account-reassign-neglected"'
        not in client_for(personas.rep).get(f"/accounts/{account.pk}/").content
    )
    ok = api_for(personas.manager).post(
        f"/accounts/{account.pk}/reassign-for-neglect", {"owner_id": personas.teammate.pk, "reason": "久未跟进"}
    )
    assert ok.status_code == 200 and ok.json()["owner_id"] == personas.teammate.pk


def test_follow_up_overdue_list_filter(personas, client_for, api_for) -> None:  # type: ignore[no-untyped-def]
    late = graded(personas.rep, "A", "逾期客户")
    fine = graded(personas.rep, "A", "按时客户")
    _due(late, timezone.localdate() - timedelta(days=1))
    _due(fine, timezone.localdate() + timedelta(days=1))
    page = client_for(personas.rep).get("/accounts/", {"follow_up": "overdue"})
    assert "逾期客户" in page.content.decode() and "按时客户" not in page.content.decode()
    rows = api_for(personas.rep).get("/accounts", follow_up="overdue").json()["items"]
    assert [r["id"] for r in rows] == [late.pk]
    assert rows[0]["next_follow_up_due"] == str(timezone.localdate() - timedelta(days=1))


def test_my_day_lists_customers_due(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    late = graded(personas.rep, "A", "该跟进的客户")
    _due(late, timezone.localdate() - timedelta(days=3))
    content = client_for(personas.rep).get("/").content.decode()
    assert 'data-testid="my-day-accounts-due"' in content and "该跟进的客户" in content


# --- visit check-in ---------------------------------------------------------------------------


def test_check_in_owner_only_visits_only_once(personas) -> None:  # type: ignore[no-untyped-def]
    account = graded(personas.rep)
    visit = activity_create(
        actor=personas.rep, kind="visit", subject="拜访", account=account, due_at=timezone.now() + timedelta(hours=2)
    )
    with pytest.raises(Forbidden):
        activity_check_in(actor=personas.manager, activity=visit, lat=31.2, lng=121.5)
    call = activity_create(actor=personas.rep, kind="task", subject="打电话", account=account, due_at=timezone.now())
    with pytest.raises(Conflict):
        activity_check_in(actor=personas.rep, activity=call, address="上海")
    activity_check_in(actor=personas.rep, activity=visit, lat="31.2304167", lng=121.4737, address="上海市黄浦区")
    visit.refresh_from_db()
    assert visit.check_in_lat == Decimal("31.230417") and visit.check_in_lng == Decimal("121.473700")
    assert visit.check_in_at is not None and visit.check_in_address == "上海市黄浦区"
    assert AuditEvent.objects.filter(verb="activities.activity.checked_in", target_id=visit.pk).count() == 1
    with pytest.raises(Conflict):
        activity_check_in(actor=personas.rep, activity=visit, address="again")


@pytest.mark.parametrize(
    ("lat", "lng", "address", "field"),
    [
        (float("nan"), 121.0, "", "lat"),
        (31.0, float("inf"), "", "lng"),
        (91, 0, "", "lat"),
        (0, -180.5, "", "lng"),
        ("abc", 0, "", "lat"),
        (31.0, None, "", "lng"),
        (None, None, "", "address"),
        (None, None, "x" * 301, "address"),
        (None, None, "上海\x00", "address"),
    ],
    ids=["nan", "inf", "lat-range", "lng-range", "text", "half", "nothing", "long", "nul"],
)
def test_check_in_refuses_hostile_input(personas, lat, lng, address, field) -> None:  # type: ignore[no-untyped-def]
    visit = activity_create(
        actor=personas.rep,
        kind="visit",
        subject="拜访",
        due_at=timezone.now() + timedelta(hours=2),
        account=graded(personas.rep),
    )
    with pytest.raises(ValidationFailed) as exc:
        activity_check_in(actor=personas.rep, activity=visit, lat=lat, lng=lng, address=address)
    assert field in exc.value.field_errors
    visit.refresh_from_db()
    assert visit.check_in_at is None


def test_check_in_api_and_page(personas, api_for, client_for) -> None:  # type: ignore[no-untyped-def]
    visit = activity_create(
        actor=personas.rep,
        kind="visit",
        subject="拜访",
        due_at=timezone.now() + timedelta(hours=2),
        account=graded(personas.rep),
    )
    page = client_for(personas.rep).get(f"/activities/{visit.pk}/")
    assert b'data-testid="activity-check-in-form"' in page.content
    api = api_for(personas.rep)
    assert (
        api.client.post(
            f"/api/v1/activities/{visit.pk}/check-in", '{"lat": NaN, "lng": 1}', content_type="application/json"
        ).status_code
        == 400
    )
    response = api.post(f"/activities/{visit.pk}/check-in", {"lat": 39.9042, "lng": 116.4074})
    assert response.status_code == 200
    assert response.json()["check_in_lat"] == "39.904200"
    assert api.post(f"/activities/{visit.pk}/check-in", {"address": "北京"}).status_code == 409
    shown = client_for(personas.rep).get(f"/activities/{visit.pk}/")
    assert b'data-testid="activity-check-in"' in shown.content


# --- the calendar feed (ICS) -------------------------------------------------------------------


def _events(body: bytes) -> dict[str, object]:
    cal = Calendar.from_ical(body)
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def test_calendar_feed_holds_own_planned_work_and_due_dates(personas, client) -> None:  # type: ignore[no-untyped-def]
    account = graded(personas.rep, "B", "华东电气")
    _due(account, timezone.localdate() + timedelta(days=10))
    due_at = local_dt(timezone.localdate() + timedelta(days=2), 14, 30)
    task = activity_create(actor=personas.rep, kind="task", subject="寄样品", account=account, due_at=due_at)
    activity_create(actor=personas.rep, kind="task", subject="很久以后", due_at=timezone.now() + timedelta(days=400))
    theirs = activity_create(actor=personas.teammate, kind="task", subject="别人的任务", due_at=due_at)
    done = activity_create(actor=personas.rep, kind="task", subject="已完成", due_at=due_at)
    activity_complete(actor=personas.rep, activity=done)
    _token, raw = calendar_token_create(actor=personas.rep)
    assert CalendarToken.objects.get().token_hash != raw  # stored hashed
    response = client.get(f"/calendar/{raw}.ics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    events = _events(response.content)
    assert set(events) == {f"activity-{task.pk}@salesflow", f"account-{account.pk}-follow-up@salesflow"}
    event = events[f"activity-{task.pk}@salesflow"]
    # in the installation's language: calendar clients send no language
    assert str(event["SUMMARY"]) == "任务: 寄样品"  # type: ignore[index]
    start = event["DTSTART"].dt  # type: ignore[index]
    assert isinstance(start, datetime) and start.utcoffset() == timedelta(0) and start == due_at
    assert b"DTSTART:" in response.content and b"Z\r\n" in response.content
    day = events[f"account-{account.pk}-follow-up@salesflow"]
    assert day["DTSTART"].dt == timezone.localdate() + timedelta(days=10)  # type: ignore[index]
    assert "华东电气" in str(day["SUMMARY"])  # type: ignore[index]
    assert theirs.subject.encode() not in response.content


def test_calendar_token_rotate_and_revoke(personas, client, client_for) -> None:  # type: ignore[no-untyped-def]
    _t, first = calendar_token_create(actor=personas.rep)
    _t, second = calendar_token_create(actor=personas.rep)  # rotate
    assert client.get(f"/calendar/{first}.ics").status_code == 404
    assert client.get(f"/calendar/{second}.ics").status_code == 200
    with pytest.raises(Forbidden):
        calendar_token_revoke(actor=personas.teammate, user=personas.rep)
    calendar_token_revoke(actor=personas.rep)
    assert client.get(f"/calendar/{second}.ics").status_code == 404
    assert client.get("/calendar/cal_nonsense.ics").status_code == 404
    page = client_for(personas.rep).post("/settings/calendar/", {"action": "create"})
    assert page.status_code == 200 and b'data-testid="calendar-url"' in page.content


# --- settings page and API --------------------------------------------------------------------


def test_settings_page_is_admin_only_and_saves(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    assert client_for(personas.manager).get("/settings/follow-up/").status_code == 403
    admin = client_for(personas.admin)
    assert admin.get("/settings/follow-up/").status_code == 200
    data = {"section": "policies"}
    for grade, (every, grace) in {"A": (5, 1), "B": (14, 3), "C": (30, 7), "D": (90, 14)}.items():
        data[f"grade-{grade}-every_days"] = str(every)
        data[f"grade-{grade}-grace_days"] = str(grace)
    assert admin.post("/settings/follow-up/", data).status_code == 302
    assert FollowUpPolicy.objects.get(grade="A").every_days == 5
    data["grade-A-every_days"] = "NaN"
    assert admin.post("/settings/follow-up/", data).status_code == 200
    assert FollowUpPolicy.objects.get(grade="A").every_days == 5


def test_settings_api(personas, api_for) -> None:  # type: ignore[no-untyped-def]
    assert (
        api_for(personas.rep).post("/activities/follow-up/policies", {"grade": "A", "every_days": 3}).status_code == 403
    )
    admin = api_for(personas.admin)
    assert admin.post("/activities/follow-up/policies", {"grade": "Z", "every_days": 3}).status_code == 400
    assert admin.post("/activities/follow-up/policies", {"grade": "A", "every_days": 10**9}).status_code == 400
    body = admin.post(
        "/activities/follow-up/steps", {"position": 4, "after_days_over": 14, "action": "notify_manager"}
    ).json()
    assert [s["position"] for s in body["steps"]] == [1, 2, 3, 4]
    assert admin.delete("/activities/follow-up/steps/4").status_code == 200
    body = admin.post(
        "/activities/follow-up/kinds", {"kind": "email", "needs_outcome": True, "needs_next_follow_up": False}
    ).json()
    assert {k["kind"]: k["needs_outcome"] for k in body["kinds"]}["email"] is True
    created = api_for(personas.rep).post("/activities/calendar-feed")
    assert created.status_code == 201 and "/calendar/cal_" in created.json()["url"]
