"""Team history (issue 10): moves between teams keep what came before with the old team."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from salesflow.core.errors import Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.users.choices import Role
from salesflow.users.models import TeamMembership
from salesflow.users.selectors import team_history
from salesflow.users.services import user_change_team, user_create

pytestmark = pytest.mark.django_db


def test_a_user_created_today_moved_from_an_earlier_day_keeps_the_old_team_before_it(personas) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    newcomer = user_create(
        actor=personas.admin, username="xin", password="x", role=Role.REP, team=personas.team_a, validate=False
    )
    move = today - timedelta(days=40)
    user_change_team(actor=personas.admin, user=newcomer, team=personas.team_b, effective=move)
    history = team_history([newcomer.pk])
    assert history.team_on(newcomer.pk, move - timedelta(days=1)) == personas.team_a.pk
    assert history.team_on(newcomer.pk, date(2001, 5, 1)) == personas.team_a.pk
    assert history.team_on(newcomer.pk, move) == personas.team_b.pk
    assert history.team_on(newcomer.pk, today) == personas.team_b.pk
    newcomer.refresh_from_db()
    assert newcomer.team_id == personas.team_b.pk
    assert AuditEvent.objects.filter(verb="users.user.team_changed", target_id=newcomer.pk).count() == 1


def test_second_move_splits_the_open_interval_and_refuses_overlaps(personas) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    rep = personas.rep  # no recorded history yet: the current team always
    user_change_team(actor=personas.admin, user=rep, team=personas.team_b, effective=today - timedelta(days=30))
    user_change_team(actor=personas.admin, user=rep, team=personas.team_a, effective=today - timedelta(days=10))
    rows = list(TeamMembership.objects.filter(user=rep).order_by("start").values_list("team_id", "end"))
    assert [t for t, _e in rows] == [personas.team_a.pk, personas.team_b.pk, personas.team_a.pk]
    assert rows[-1][1] is None
    with pytest.raises(ValidationFailed) as exc:
        user_change_team(actor=personas.admin, user=rep, team=personas.team_b, effective=today - timedelta(days=20))
    assert "effective" in exc.value.field_errors
    with pytest.raises(ValidationFailed):
        user_change_team(actor=personas.admin, user=rep, team=personas.team_b, effective=today + timedelta(days=1))
    assert TeamMembership.objects.filter(user=rep).count() == 3


@pytest.mark.parametrize("who", ["manager", "rep", "assistant"])
def test_only_administrators_move_people(personas, who) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Forbidden):
        user_change_team(actor=getattr(personas, who), user=personas.teammate, team=personas.team_b)
    personas.teammate.refresh_from_db()
    assert personas.teammate.team_id == personas.team_a.pk
    assert not TeamMembership.objects.filter(user=personas.teammate).exists()
