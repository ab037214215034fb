"""``opportunity_set_next_step``: the deal's next step from a planned follow-up."""

from datetime import timedelta

import pytest
from django.utils import timezone

from salesflow.core.errors import Forbidden
from salesflow.sales.models import Opportunity
from salesflow.sales.services import opportunity_set_next_step
from salesflow.sales.tests.factories import make_opportunity

pytestmark = pytest.mark.django_db


def _values(opp):
    return Opportunity.objects.filter(pk=opp.pk).values("next_step", "next_step_date", "updated_at").get()


def test_sets_date_and_fills_empty_text(personas):
    opp = make_opportunity(personas.rep)
    day = timezone.localdate() + timedelta(days=3)
    assert opportunity_set_next_step(actor=personas.rep, opportunity=opp, on=day, text="现场演示") is True
    opp.refresh_from_db()
    assert (opp.next_step_date, opp.next_step) == (day, "现场演示")


def test_nearest_step_wins_and_text_is_kept(personas):
    near = timezone.localdate() + timedelta(days=2)
    opp = make_opportunity(personas.rep, next_step="报价", next_step_date=near)
    before = _values(opp)
    assert (
        opportunity_set_next_step(actor=personas.rep, opportunity=opp, on=near + timedelta(days=9), text="x") is False
    )
    assert _values(opp) == before
    sooner = near - timedelta(days=1)
    assert opportunity_set_next_step(actor=personas.rep, opportunity=opp, on=sooner, text="x") is True
    opp.refresh_from_db()
    assert (opp.next_step_date, opp.next_step) == (sooner, "报价")


@pytest.mark.parametrize("who", ["support", "teammate", "outsider"])
def test_refused_for_those_who_may_not_change_the_deal(personas, who):
    opp = make_opportunity(personas.rep)
    before = _values(opp)
    with pytest.raises(Forbidden):
        opportunity_set_next_step(
            actor=getattr(personas, who), opportunity=opp, on=timezone.localdate() + timedelta(days=1), text="x"
        )
    assert _values(opp) == before
