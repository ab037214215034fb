from datetime import date, datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone, translation

from salesflow.activities.models import Activity
from salesflow.activities.services import activity_complete, activity_create, activity_delete, activity_update
from salesflow.activities.tests.factories import (
    local_dt,
    make_account,
    make_activity,
    make_contact,
    make_lead,
    make_opportunity,
)
from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent, AuditLink
from salesflow.leads.choices import LeadStatus

# issue 7: these tests log done calls without an outcome (the rules: test_follow_up_rules.py)
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_completion_rules")]


def _timeline_verbs(obj):
    ct = ContentType.objects.get_for_model(obj)
    return list(
        AuditEvent.objects.filter(links__content_type=ct, links__object_id=obj.pk)
        .order_by("id")
        .values_list("verb", flat=True)
    )


def _snapshot():
    return (Activity.objects.count(), AuditEvent.objects.count(), AuditLink.objects.count())


def test_create_defaults_owner_to_actor_and_audits_on_every_linked_timeline(personas):
    account = make_account(personas.rep)
    contact = make_contact(account)
    opp = make_opportunity(account)
    activity = activity_create(
        actor=personas.rep,
        kind="visit",
        subject="  上门拜访  ",
        contact=contact,
        opportunity=opp,
        done=True,
        outcome="客户认可方案",
    )
    activity.refresh_from_db()
    assert activity.owner == personas.rep
    assert activity.subject == "上门拜访"
    assert activity.account == account  # filled from the contact
    assert activity.done is True and activity.done_at is not None
    event = AuditEvent.objects.get(verb="activities.activity.created")
    assert event.actor == personas.rep
    assert event.data == {"kind": "visit", "done": True, "owner": personas.rep.pk, "summary": "客户认可方案"}
    for record in (activity, account, contact, opp):
        assert "activities.activity.created" in _timeline_verbs(record)


def test_account_is_taken_from_the_opportunity(personas):
    account = make_account(personas.rep)
    opp = make_opportunity(account)
    activity = activity_create(actor=personas.rep, kind="call", subject="电话", opportunity=opp)
    assert activity.account_id == account.pk
    # ``done`` left out: a call without a due time is logged as done
    assert activity.done is True and activity.done_at is not None


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("contact_of_other_account", "contact"),
        ("opportunity_of_other_account", "opportunity"),
        ("contact_and_opportunity_disagree", "opportunity"),
        ("task_without_due", "due_at"),
        ("blank_subject", "subject"),
        ("long_subject", "subject"),
        ("unknown_kind", "kind"),
    ],
)
def test_inconsistent_input_is_refused_and_nothing_written(personas, case, field):
    account = make_account(personas.rep)
    other = make_account(personas.rep)
    kwargs = {"actor": personas.rep, "kind": "call", "subject": "电话"}
    if case == "contact_of_other_account":
        kwargs.update(account=account, contact=make_contact(other))
    elif case == "opportunity_of_other_account":
        kwargs.update(account=account, opportunity=make_opportunity(other))
    elif case == "contact_and_opportunity_disagree":
        kwargs.update(contact=make_contact(account), opportunity=make_opportunity(other))
    elif case == "task_without_due":
        kwargs.update(kind="task", account=account)
    elif case == "blank_subject":
        kwargs.update(subject="   ")
    elif case == "long_subject":
        kwargs.update(subject="长" * 201)
    elif case == "unknown_kind":
        kwargs.update(kind="fax")
    before = _snapshot()
    with pytest.raises(ValidationFailed) as exc:
        activity_create(**kwargs)
    assert list(exc.value.field_errors) == [field]
    assert _snapshot() == before


def test_task_with_due_date_is_accepted_and_naive_times_are_local(personas):
    activity = activity_create(actor=personas.rep, kind="task", subject="准备报价", due_at=datetime(2026, 3, 10, 9, 30))
    assert activity.due_at is not None and timezone.is_aware(activity.due_at)
    assert timezone.localtime(activity.due_at).replace(tzinfo=None) == datetime(2026, 3, 10, 9, 30)


def test_owner_must_be_assignable_by_the_actor(personas):
    before = _snapshot()
    with translation.override("en"), pytest.raises(ValidationFailed) as exc:
        activity_create(actor=personas.rep, kind="call", subject="x", owner=personas.teammate)
    assert exc.value.field_errors == {"owner": ["You may not assign activities to this user."]}
    with translation.override("zh-hans"), pytest.raises(ValidationFailed) as exc:
        activity_create(actor=personas.rep, kind="call", subject="x", owner=personas.teammate)
    assert exc.value.field_errors == {"owner": ["您不能把跟进分配给该用户。"]}
    with pytest.raises(ValidationFailed):
        activity_create(actor=personas.support, kind="call", subject="x", owner=personas.rep)
    assert _snapshot() == before
    by_manager = activity_create(
        actor=personas.manager, kind="task", subject="x", owner=personas.rep, due_at=timezone.now()
    )
    assert by_manager.owner == personas.rep


def test_support_logs_on_a_team_account_as_owner(personas):
    account = make_account(personas.rep)
    activity = activity_create(actor=personas.support, kind="demo", subject="产品演示", account=account, done=True)
    assert activity.owner == personas.support
    assert "activities.activity.created" in _timeline_verbs(account)


def test_done_activity_on_new_lead_marks_it_contacted(personas):
    lead = make_lead(personas.rep)
    activity_create(actor=personas.rep, kind="call", subject="首次电话", lead=lead, done=False)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW
    activity_create(actor=personas.rep, kind="call", subject="首次电话", lead=lead, done=True)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONTACTED
    assert _timeline_verbs(lead).count("leads.lead.status_changed") == 1


def test_done_activity_leaves_other_lead_statuses_alone(personas):
    lead = make_lead(personas.rep, status=LeadStatus.QUALIFIED)
    activity_create(actor=personas.rep, kind="call", subject="回访", lead=lead, done=True)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.QUALIFIED
    assert "leads.lead.status_changed" not in _timeline_verbs(lead)


def test_complete_sets_done_and_is_idempotent(personas):
    lead = make_lead(personas.rep)
    task = activity_create(
        actor=personas.rep, kind="task", subject="回电", lead=lead, due_at=local_dt(date(2026, 3, 10))
    )
    done = activity_complete(actor=personas.rep, activity=task, outcome="约了演示", next_follow_up=date(2026, 3, 17))
    row = Activity.objects.get(pk=task.pk)
    assert (row.done, row.outcome, row.next_follow_up) == (True, "约了演示", date(2026, 3, 17))
    assert row.done_at is not None and done.done_at == row.done_at
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONTACTED
    first_done_at = row.done_at
    events = AuditEvent.objects.count()

    again = activity_complete(actor=personas.rep, activity=Activity.objects.get(pk=task.pk), outcome="另一个结果")
    row.refresh_from_db()
    assert row.done_at == first_done_at and row.outcome == "约了演示"
    assert again.outcome == "约了演示"
    assert AuditEvent.objects.count() == events
    assert AuditEvent.objects.filter(verb="activities.activity.completed").count() == 1
    # issue 7: the next follow-up date plans the follow-up (once, not again on the repeat)
    planned = Activity.objects.exclude(pk=task.pk).get()
    assert (planned.kind, planned.done, planned.lead_id, planned.owner_id) == ("task", False, lead.pk, personas.rep.pk)
    assert timezone.localdate(planned.due_at, personas.rep.zone) == date(2026, 3, 17)


def test_complete_keeps_stored_outcome_when_none_given(personas):
    task = make_activity(personas.rep, kind="task", due_at=timezone.now(), outcome="已准备材料")
    activity_complete(actor=personas.rep, activity=task)
    task.refresh_from_db()
    assert task.done and task.outcome == "已准备材料" and task.next_follow_up is None


@pytest.mark.parametrize("who", ["support", "teammate", "outsider"])
def test_writes_by_non_writers_are_forbidden_and_change_nothing(personas, who):
    task = make_activity(personas.rep, kind="task", due_at=timezone.now(), subject="原标题")
    actor = getattr(personas, who)
    before = _snapshot()
    with pytest.raises(Forbidden):
        activity_complete(actor=actor, activity=task)
    with pytest.raises(Forbidden):
        activity_update(actor=actor, activity=task, subject="改了")
    with pytest.raises(Forbidden):
        activity_delete(actor=actor, activity=task)
    row = Activity.objects.get(pk=task.pk)
    assert (row.subject, row.done) == ("原标题", False)
    assert _snapshot() == before


def test_update_audits_changed_fields_and_toggles_done_at(personas):
    account = make_account(personas.rep)
    activity = make_activity(personas.rep, account=account, subject="电话")
    activity_update(actor=personas.rep, activity=activity, subject="电话沟通", done=True, outcome="有兴趣")
    row = Activity.objects.get(pk=activity.pk)
    assert (row.subject, row.done, row.outcome) == ("电话沟通", True, "有兴趣")
    assert row.done_at is not None
    event = AuditEvent.objects.get(verb="activities.activity.updated")
    assert event.data["changes"] == {
        "subject": ["电话", "电话沟通"],
        "done": [False, True],
        "outcome": ["", "有兴趣"],
    }
    assert "activities.activity.updated" in _timeline_verbs(account)

    activity_update(actor=personas.rep, activity=row, done=False)
    row.refresh_from_db()
    assert row.done is False and row.done_at is None


def test_update_without_changes_writes_no_event(personas):
    activity = make_activity(personas.rep, subject="电话")
    activity_update(actor=personas.rep, activity=activity, subject="电话 ")
    assert not AuditEvent.objects.filter(verb="activities.activity.updated").exists()


def test_update_validates_like_create_and_writes_nothing(personas):
    activity = make_activity(personas.rep, subject="电话")
    with pytest.raises(ValidationFailed) as exc:
        activity_update(actor=personas.rep, activity=activity, kind="task", subject="")
    assert set(exc.value.field_errors) == {"subject", "due_at"}
    with pytest.raises(ValidationFailed) as exc:
        activity_update(actor=personas.rep, activity=activity, owner=personas.teammate)
    assert set(exc.value.field_errors) == {"owner"}
    row = Activity.objects.get(pk=activity.pk)
    assert (row.kind, row.subject, row.owner_id) == ("call", "电话", personas.rep.pk)
    assert not AuditEvent.objects.exists()


def test_update_refuses_fields_it_does_not_change(personas):
    """The partial-update convention: unknown keys are a field error, nothing is written."""
    activity = make_activity(personas.rep, subject="电话")
    with translation.override("en"), pytest.raises(ValidationFailed) as exc:
        activity_update(actor=personas.rep, activity=activity, subject="新", created_at=None)  # type: ignore[call-arg]
    assert exc.value.field_errors == {"created_at": ["This field cannot be changed here."]}
    assert Activity.objects.get(pk=activity.pk).subject == "电话"
    assert not AuditEvent.objects.exists()


def test_manager_may_reassign_and_support_may_edit_own(personas):
    activity = make_activity(personas.rep)
    activity_update(actor=personas.manager, activity=activity, owner=personas.teammate)
    assert Activity.objects.get(pk=activity.pk).owner == personas.teammate
    own = make_activity(personas.support, subject="演示准备")
    activity_update(actor=personas.support, activity=own, subject="演示准备完成")
    assert Activity.objects.get(pk=own.pk).subject == "演示准备完成"


def test_update_to_done_marks_new_lead_contacted(personas):
    lead = make_lead(personas.rep)
    activity = make_activity(personas.rep, lead=lead)
    activity_update(actor=personas.rep, activity=activity, done=True)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONTACTED


def test_delete_removes_row_and_keeps_event_on_record_timeline(personas):
    account = make_account(personas.rep)
    activity = make_activity(personas.rep, account=account)
    pk = activity.pk
    activity_delete(actor=personas.rep, activity=activity)
    assert not Activity.objects.filter(pk=pk).exists()
    assert _timeline_verbs(account)[-1] == "activities.activity.deleted"
