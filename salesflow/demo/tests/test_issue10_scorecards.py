"""The scorecards demo: last quarter's appraisals by the demo managers, in Chinese."""

from __future__ import annotations

import pytest
from django.utils import timezone

from salesflow.demo.generate import generate_demo
from salesflow.demo.issue10_scorecards import delete_scorecards, last_quarter, write_scorecards
from salesflow.scorecards.models import Appraisal
from salesflow.scorecards.selectors import can_write_appraisal_of
from salesflow.users.models import User

pytestmark = pytest.mark.django_db


def test_write_scorecards_on_the_demo_company() -> None:
    generate_demo()
    users = {u.username: u for u in User.objects.filter(is_active=True)}
    today = timezone.localdate()
    counts = write_scorecards(users, today)
    period = last_quarter(today)
    rows = list(Appraisal.objects.select_related("rep", "author"))
    assert counts["appraisals"] == len(rows) > 0
    for a in rows:
        assert a.period_key == period.key
        assert a.rating in "ABCD"
        assert can_write_appraisal_of(a.author, a.rep)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in a.comment)
    assert write_scorecards(users, today)["appraisals"] == 0  # a second run adds nothing
    assert delete_scorecards([u.pk for u in users.values()]) == len(rows)
    assert not Appraisal.objects.exists()
