"""The team view of My day: a manager sees the team subtree, an assistant the delegated reps."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from salesflow.activities.selectors import month_bounds, my_day, team_scope_ids
from salesflow.activities.tests.factories import local_dt, make_account, make_activity, make_opportunity
from salesflow.parties.models import Account
from salesflow.sales.models import Opportunity, Stage

# issue 7: these tests log done calls without an outcome (the rules: test_follow_up_rules.py)
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_completion_rules")]


def _stall(opp: Opportunity) -> None:
    """Put the deal in a stage with a stall threshold, entered long ago."""
    stage = Stage.objects.filter(pipeline=opp.pipeline, kind="open").order_by("position").first()
    assert stage is not None
    Stage.objects.filter(pk=stage.pk).update(rotting_days=14)
    Opportunity.objects.filter(pk=opp.pk).update(stage=stage, stage_entered_at=timezone.now() - timedelta(days=40))


@pytest.fixture
def team_world(personas):
    today = timezone.localdate()
    rep_account = make_account(personas.rep, "华东制造")
    mate_account = make_account(personas.teammate, "江南纺织")
    out_account = make_account(personas.outsider, "岭南电子")
    world = {
        "rep_task": make_activity(
            personas.rep,
            kind="task",
            subject="给华东制造回电",
            due_at=local_dt(today - timedelta(days=3)),
            account=rep_account,
        ),
        "mate_task": make_activity(
            personas.teammate, kind="task", subject="江南纺织报价", due_at=local_dt(today - timedelta(days=1))
        ),
        "out_task": make_activity(
            personas.outsider, kind="task", subject="岭南电子拜访", due_at=local_dt(today - timedelta(days=2))
        ),
        "stalled": make_opportunity(rep_account, name="华东制造产线改造"),
        "no_next": make_opportunity(mate_account, name="江南纺织ERP", next_step="", next_step_date=None),
        "closing": make_opportunity(rep_account, name="华东制造备件", expected_close_date=month_bounds(today)[1]),
        "past": make_opportunity(
            rep_account, name="华东制造续约", expected_close_date=today - timedelta(days=40 if today.day > 1 else 2)
        ),
        "out_deal": make_opportunity(out_account, name="岭南电子项目", next_step="", next_step_date=None),
        "done": make_activity(
            personas.rep, kind="call", subject="今天打过的电话", done=True, done_at=timezone.now(), account=rep_account
        ),
    }
    stalled = world["stalled"]
    assert isinstance(stalled, Opportunity)
    _stall(stalled)
    # issue 7: the follow-up ladder marked two of the team's customers and one elsewhere at risk
    now = timezone.now()
    Account.objects.filter(pk=mate_account.pk).update(at_risk_since=now - timedelta(days=9))
    Account.objects.filter(pk=rep_account.pk).update(at_risk_since=now - timedelta(days=2))
    Account.objects.filter(pk=out_account.pk).update(at_risk_since=now - timedelta(days=30))
    return world


def _html(client_for, user, language="en"):
    response = client_for(user, language).get("/")
    assert response.status_code == 200
    return response.content.decode()


def test_manager_sees_the_team(personas, client_for, team_world):
    html = _html(client_for, personas.manager)
    assert 'data-testid="my-day-team"' in html
    # overdue tasks per person, with the list
    assert "给华东制造回电" in html and "江南纺织报价" in html
    assert f'data-owner="{personas.rep.pk}"' in html and f'data-owner="{personas.teammate.pk}"' in html
    assert f'href="/activities/{team_world["rep_task"].pk}/"' in html
    for name in ("华东制造产线改造", "江南纺织ERP", "华东制造备件", "华东制造续约", "今天打过的电话"):
        assert name in html
    assert 'data-testid="my-day-team-at-risk-account"' in html and "岭南电子</a>" not in html
    assert f'href="/opportunities/{team_world["stalled"].pk}/"' in html
    # never the other team's work
    assert "岭南电子拜访" not in html and "岭南电子项目" not in html
    # the "well done" message does not appear while the team has overdue work
    assert "Nothing overdue. Well done." not in html and 'data-testid="my-day-all-clear"' not in html


def test_manager_sections_by_kind(personas, team_world):
    day = my_day(personas.manager, timezone.localdate())
    team = day.team
    assert team is not None
    assert {(r.owner_id, r.count) for r in team.overdue_by_rep} == {(personas.rep.pk, 1), (personas.teammate.pk, 1)}
    assert [d.name for d in team.stalled.items] == ["华东制造产线改造"]
    assert [d.name for d in team.no_next_step.items] == ["江南纺织ERP"]
    assert "华东制造备件" in [d.name for d in team.closing_this_month.items]
    assert [d.name for d in team.past_close.items] == ["华东制造续约"]
    assert [a.subject for a in team.done_today.items] == ["今天打过的电话"]
    # longest at risk first; never the other team's customer
    assert [a.name for a in team.at_risk.items] == ["江南纺织", "华东制造"] and team.at_risk.total == 2


def test_other_manager_does_not_see_the_rep(personas, client_for, team_world):
    html = _html(client_for, personas.other_manager)
    assert "岭南电子拜访" in html and "岭南电子项目" in html
    assert "给华东制造回电" not in html and "华东制造产线改造" not in html and "江南纺织报价" not in html


def test_assistant_sees_delegated_reps_only(personas, client_for, team_world):
    assert team_scope_ids(personas.assistant) == {personas.assistant.pk, personas.rep.pk}
    html = _html(client_for, personas.assistant)
    assert 'data-testid="my-day-team"' in html
    assert "给华东制造回电" in html and "华东制造产线改造" in html
    assert "江南纺织报价" not in html and "江南纺织ERP" not in html and "岭南电子拜访" not in html


def test_rep_sees_only_his_own(personas, client_for, team_world):
    html = _html(client_for, personas.rep)
    assert 'data-testid="my-day-team"' not in html
    assert "给华东制造回电" in html
    assert "江南纺织报价" not in html and "江南纺织ERP" not in html
    # his own deal whose expected close date has passed
    assert 'data-testid="my-day-past-close"' in html and "华东制造续约" in html
    assert team_scope_ids(personas.rep) is None and team_scope_ids(personas.support) is None


def test_all_clear_only_when_truly_nothing(personas, client_for):
    html = _html(client_for, personas.manager, "zh-hans")
    assert 'data-testid="my-day-all-clear"' in html
    make_activity(personas.rep, kind="task", subject="逾期", due_at=local_dt(timezone.localdate() - timedelta(days=1)))
    html = _html(client_for, personas.manager, "zh-hans")
    assert 'data-testid="my-day-all-clear"' not in html and "干得好" not in html


def _grow(personas, n):
    today = timezone.localdate()
    for i in range(n):
        for owner in (personas.rep, personas.teammate):
            account = make_account(owner)
            opp = make_opportunity(
                account, next_step="", next_step_date=None, expected_close_date=today - timedelta(days=5)
            )
            _stall(opp)
            make_activity(owner, kind="task", due_at=local_dt(today - timedelta(days=i + 1)), opportunity=opp)
            make_activity(owner, kind="call", done=True, done_at=timezone.now(), account=account)
            Account.objects.filter(pk=account.pk).update(at_risk_since=timezone.now() - timedelta(days=i + 1))


@pytest.mark.parametrize("who", ["manager", "assistant", "rep"])
def test_home_query_count_is_constant(personas, client_for, who):
    client = client_for(getattr(personas, who))

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/").status_code == 200
        return len(ctx.captured_queries)

    _grow(personas, 2)
    small = count()
    _grow(personas, 25)
    large = count()
    assert small == large
    assert large <= 30


def test_my_day_api_has_the_team_for_a_manager_only(personas, api_for, team_world):
    body = api_for(personas.manager).get("/activities/my-day").json()
    team = body["team"]
    assert {r["owner_id"]: r["count"] for r in team["overdue_by_rep"]} == {personas.rep.pk: 1, personas.teammate.pk: 1}
    assert [d["name"] for d in team["stalled"]["items"]] == ["华东制造产线改造"]
    assert team["stalled"]["items"][0]["owner_name"] == "张伟"
    assert [(a["name"], a["owner_name"]) for a in team["at_risk"]["items"]] == [
        ("江南纺织", "李娜"),
        ("华东制造", "张伟"),
    ]
    assert api_for(personas.rep).get("/activities/my-day").json()["team"] is None
    assert "岭南电子" not in str(body)
