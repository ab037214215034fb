"""The demo's forecast data: written through the services for the demo people, believable
(past commits near what each person won), enough for the accuracy page, and idempotent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from salesflow.analytics.selectors import Node
from salesflow.demo.issue11_forecasts import delete_forecasts, write_forecasts
from salesflow.forecasts.models import ForecastEntry
from salesflow.forecasts.selectors import accuracy, past_periods
from salesflow.sales.choices import Outcome
from salesflow.sales.services import opportunity_close
from salesflow.sales.tests.factories import make_opportunity

pytestmark = pytest.mark.django_db


def test_demo_forecasts(personas) -> None:  # type: ignore[no-untyped-def]
    p = personas
    today = timezone.localdate()
    last = past_periods("month", today, 1)[0]
    opp = make_opportunity(p.rep, amount="100000.00", expected_close_date=last.start + timedelta(days=3))
    opportunity_close(actor=p.rep, opportunity=opp, outcome=Outcome.WON, closed_on=last.start + timedelta(days=3))
    users = {
        u.username: u
        for u in (p.admin, p.manager, p.rep, p.teammate, p.assistant, p.support, p.outsider, p.other_manager)
    }
    counts = write_forecasts(users, today)
    # rep, teammate, manager, outsider and other manager sell: 4 months each, some revised
    assert counts["forecast submissions"] >= 20
    assert counts["forecast adjustments"] >= 4
    entries = ForecastEntry.objects.filter(node_key=f"rep:{p.rep.pk}", period_key=last.key).order_by("revision")
    first = entries.first()
    assert first is not None and Decimal("80000") <= first.commit <= Decimal("120000")
    assert first.created_at.date() <= last.end
    assert ForecastEntry.objects.filter(node_key="company", author=p.admin).exists()
    acc = accuracy(Node("team", p.department.pk, p.department.name), past_periods("month", today, 3))
    assert any(c.forecast is not None for r in acc.rows for c in r.cells)
    assert write_forecasts(users, today) == {"forecast submissions": 0, "forecast adjustments": 0}
    total = counts["forecast submissions"] + counts["forecast adjustments"]
    assert delete_forecasts([u.pk for u in users.values()]) == total
    assert ForecastEntry.objects.count() == 0
