from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from salesflow.activities.selectors import activities_for_record, activity_list, my_day
from salesflow.activities.tests.factories import (
    local_dt,
    make_account,
    make_activity,
    make_contact,
    make_opportunity,
)
from salesflow.sales.models import Opportunity

# issue 7: these tests log done calls without an outcome (the rules: test_follow_up_rules.py)
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_completion_rules")]

TODAY = date(2026, 3, 10)


def _ids(section):
    return [obj.pk for obj in section.items]


def _scenario(personas):
    rep, teammate, manager = personas.rep, personas.teammate, personas.manager
    acc_a = make_account(rep, "甲公司")
    acc_b = make_account(rep, "乙公司")
    acc_c = make_account(rep, "丙公司")
    opp_a = make_opportunity(acc_a, name="甲公司 ERP")
    s: dict[str, Any] = {}
    # overdue: open and due before today
    # (planned before the follow-ups below were logged, so they do not count as following them up)
    s["overdue_old"] = make_activity(
        rep,
        kind="task",
        subject="发合同",
        due_at=local_dt(TODAY - timedelta(days=3)),
        account=acc_a,
        created_at=local_dt(TODAY - timedelta(days=20)),
    )
    s["overdue_late"] = make_activity(
        rep, kind="call", subject="回电", due_at=local_dt(TODAY - timedelta(days=1), 23, 59)
    )
    make_activity(rep, kind="task", subject="已完成的逾期任务", due_at=local_dt(TODAY - timedelta(days=2)), done=True)
    make_activity(teammate, kind="task", subject="同事的逾期任务", due_at=local_dt(TODAY - timedelta(days=2)))
    # due today, including the first minute of the day; tomorrow's first minute is not today
    s["today_midnight"] = make_activity(rep, kind="task", subject="晨会", due_at=local_dt(TODAY, 0, 0))
    s["today_afternoon"] = make_activity(
        rep,
        kind="meeting",
        subject="方案会",
        due_at=local_dt(TODAY, 15),
        opportunity=opp_a,
        created_at=local_dt(TODAY - timedelta(days=20)),
    )
    make_activity(rep, kind="task", subject="明天的任务", due_at=local_dt(TODAY + timedelta(days=1), 0, 0))
    make_activity(rep, kind="task", subject="今天已完成", due_at=local_dt(TODAY, 11), done=True)
    make_activity(rep, kind="note", subject="没有截止日期")
    # follow-ups
    s["follow_account"] = make_activity(
        rep,
        subject="甲公司电话",
        done=True,
        account=acc_a,
        next_follow_up=TODAY,
        created_at=local_dt(TODAY - timedelta(days=3)),
    )
    make_activity(  # followed up by the newer activity on the same account below
        rep,
        subject="乙公司电话",
        done=True,
        account=acc_b,
        next_follow_up=TODAY - timedelta(days=2),
        created_at=local_dt(TODAY - timedelta(days=9)),
    )
    make_activity(
        rep, subject="乙公司再次联系", done=True, account=acc_b, created_at=local_dt(TODAY - timedelta(days=8))
    )
    s["follow_opp"] = make_activity(
        rep,
        subject="ERP 需求",
        done=True,
        opportunity=opp_a,
        next_follow_up=TODAY - timedelta(days=1),
        created_at=local_dt(TODAY - timedelta(days=6)),
    )
    # a newer activity on the account only does not follow up the deal-level activity
    make_activity(rep, subject="甲公司问候", done=True, account=acc_a, created_at=local_dt(TODAY - timedelta(days=4)))
    # a newer activity by someone else does not count either
    s["follow_contact"] = make_activity(
        rep,
        subject="联系人沟通",
        done=True,
        contact=make_contact(acc_c),
        next_follow_up=TODAY - timedelta(days=7),
        created_at=local_dt(TODAY - timedelta(days=8)),
    )
    make_activity(
        manager,
        subject="经理拜访",
        done=True,
        contact=s["follow_contact"].contact,
        created_at=local_dt(TODAY - timedelta(days=1)),
    )
    make_activity(rep, subject="下周跟进", done=True, account=acc_c, next_follow_up=TODAY + timedelta(days=1))
    make_activity(teammate, subject="同事跟进", done=True, next_follow_up=TODAY - timedelta(days=1))
    # deals
    s["deal_no_step"] = make_opportunity(acc_b, name="乙公司 无下一步", next_step="", next_step_date=None)
    s["deal_past"] = make_opportunity(
        acc_c, name="丙公司 过期", next_step="发报价", next_step_date=TODAY - timedelta(days=1)
    )
    make_opportunity(acc_c, name="丙公司 今天", next_step="电话", next_step_date=TODAY)
    make_opportunity(acc_c, name="丙公司 有日期无描述", next_step="", next_step_date=TODAY + timedelta(days=3))
    won = make_opportunity(acc_b, name="乙公司 已赢单", next_step="", next_step_date=None)
    Opportunity.objects.filter(pk=won.pk).update(outcome="won")
    make_opportunity(acc_a, owner=teammate, name="同事的商机", next_step="", next_step_date=None)
    make_opportunity(make_account(teammate), name="同事客户商机", next_step="", next_step_date=None)
    s["deal_no_step_with_date"] = Opportunity.objects.get(name="丙公司 有日期无描述")
    return s


def test_my_day_contents_are_exact(personas):
    s = _scenario(personas)
    day = my_day(personas.rep, TODAY)
    assert day.today == TODAY
    assert _ids(day.overdue) == [s["overdue_old"].pk, s["overdue_late"].pk]
    assert day.overdue.total == 2
    assert _ids(day.due_today) == [s["today_midnight"].pk, s["today_afternoon"].pk]
    assert day.due_today.total == 2
    assert _ids(day.follow_ups) == [s["follow_contact"].pk, s["follow_opp"].pk, s["follow_account"].pk]
    assert day.follow_ups.total == 3
    assert _ids(day.no_next_step) == [s["deal_no_step"].pk, s["deal_past"].pk, s["deal_no_step_with_date"].pk]
    assert day.no_next_step.total == 3


def test_my_day_of_a_user_with_nothing_is_empty(personas):
    _scenario(personas)
    day = my_day(personas.assistant, TODAY)
    assert (day.overdue.items, day.due_today.items, day.follow_ups.items, day.no_next_step.items) == ([], [], [], [])
    assert (day.overdue.total, day.due_today.total, day.follow_ups.total, day.no_next_step.total) == (0, 0, 0, 0)


def test_my_day_is_bounded_and_counts_everything(personas):
    for i in range(23):
        make_activity(personas.rep, kind="task", subject=f"任务 {i}", due_at=local_dt(TODAY - timedelta(days=1), 8, i))
    day = my_day(personas.rep, TODAY)
    assert len(day.overdue.items) == 20
    assert day.overdue.total == 23
    assert day.overdue.more == 3


def test_my_day_query_count_is_constant(personas):
    _scenario(personas)
    with CaptureQueriesContext(connection) as small:
        my_day(personas.rep, TODAY)
    acc = make_account(personas.rep)
    for i in range(20):
        make_activity(personas.rep, kind="task", due_at=local_dt(TODAY, 9, i), account=acc)
        make_activity(
            personas.rep, kind="task", due_at=local_dt(TODAY - timedelta(days=2), 9, i), contact=make_contact(acc)
        )
        make_activity(personas.rep, done=True, next_follow_up=TODAY, opportunity=make_opportunity(acc))
        make_opportunity(acc, next_step="")
    with CaptureQueriesContext(connection) as large:
        day = my_day(personas.rep, TODAY)
        for section in (day.overdue, day.due_today, day.follow_ups):
            for a in section.items:
                str(a.owner), str(a.account), str(a.contact), str(a.opportunity), str(a.lead)
        for deal in day.no_next_step.items:
            str(deal.account), deal.stage.label
    # four lists and their counts, plus the past-close deals (list and count)
    # issue 7: + 2 for the customers due for follow-up (rows and total)
    assert len(small.captured_queries) == len(large.captured_queries) == 12


def test_activity_list_filters_visibility_and_sort(personas):
    acc = make_account(personas.rep, "可见客户")
    opp = make_opportunity(acc)
    a1 = make_activity(personas.rep, kind="call", subject="报价电话", account=acc, due_at=local_dt(TODAY, 9))
    a2 = make_activity(
        personas.rep, kind="task", subject="准备合同", opportunity=opp, due_at=local_dt(TODAY + timedelta(days=2))
    )
    a3 = make_activity(personas.rep, kind="note", subject="备注", done=True)
    hidden = make_activity(personas.outsider, kind="call", subject="报价电话 外组")
    # support's activity on the rep's account is visible to the rep through the account
    by_support = make_activity(personas.support, kind="demo", subject="演示", account=acc)

    def ids(**kw):
        return [a.pk for a in activity_list(personas.rep, **kw)]

    assert set(ids()) == {a1.pk, a2.pk, a3.pk, by_support.pk}
    assert hidden.pk not in ids()
    assert ids(q="报价") == [a1.pk]
    assert ids(kind="task") == [a2.pk]
    assert set(ids(done=True)) == {a3.pk}
    assert set(ids(done=False)) == {a1.pk, a2.pk, by_support.pk}
    assert set(ids(owner=personas.support.pk)) == {by_support.pk}
    assert ids(due_from=TODAY, due_to=TODAY) == [a1.pk]
    assert ids(due_from=TODAY + timedelta(days=1)) == [a2.pk]
    assert set(ids(account=acc.pk)) == {a1.pk, a2.pk, by_support.pk}
    assert ids(opportunity=opp.pk) == [a2.pk]
    # undated activities sort last in both directions
    assert ids(sort="due")[:2] == [a1.pk, a2.pk]
    assert ids(sort="-due")[:2] == [a2.pk, a1.pk]
    assert ids(sort="nonsense") == ids(sort="-created")
    assert [a.pk for a in activity_list(personas.outsider)] == [hidden.pk]
    assert set(ids()) == {a.pk for a in activity_list(personas.manager)} - {hidden.pk}


def test_activities_for_record(personas):
    acc = make_account(personas.rep)
    contact = make_contact(acc)
    opp = make_opportunity(acc)
    on_account = make_activity(personas.rep, account=acc, created_at=local_dt(TODAY, 8))
    on_contact = make_activity(personas.rep, contact=contact, created_at=local_dt(TODAY, 9))
    on_opp = make_activity(personas.rep, opportunity=opp, created_at=local_dt(TODAY, 10))
    make_activity(personas.rep)
    assert [a.pk for a in activities_for_record(personas.rep, account=acc)] == [on_opp.pk, on_contact.pk, on_account.pk]
    assert [a.pk for a in activities_for_record(personas.rep, contact=contact)] == [on_contact.pk]
    assert [a.pk for a in activities_for_record(personas.rep, opportunity=opp)] == [on_opp.pk]
    with pytest.raises(ValueError):
        activities_for_record(personas.rep)
