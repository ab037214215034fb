"""Issue 10: support sees no money on the attainment and leaderboard pages and API, nor on
the scorecard and funnel pages and API (the billing money rule, ``sees_no_money``): amounts
are hidden or null, counts and ratios stay; a reader who sees money gets the same figures with
their amounts. (Dashboards and reports: their apps' tests.)"""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from salesflow.core.periods import month_period
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Opportunity
from salesflow.sales.services import opportunity_close
from salesflow.sales.tests.factories import make_opportunity
from salesflow.users.testing import Personas

pytestmark = pytest.mark.django_db


@pytest.fixture
def support_won(personas: Personas) -> str:
    """A deal of 4,321.00 won today and given to support (who may not own deals through the
    services), and support's month."""
    p = personas
    opp = make_opportunity(p.rep, amount="4321.00", currency="CNY")
    opportunity_close(actor=p.rep, opportunity=opp, outcome=Outcome.WON, closed_on=timezone.localdate())
    Opportunity.objects.filter(pk=opp.pk).update(owner=p.support)
    today = timezone.localdate()
    return month_period(today.year, today.month).key


def _by_metric(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["metric"]: m for m in body["metrics"]}


def test_attainment_and_leaderboard(personas: Personas, support_won: str, api_for: Any, client_for: Any) -> None:
    p, period = personas, support_won
    params = {"period": period, "node": f"rep:{p.support.pk}"}
    seen = _by_metric(api_for(p.admin).get("/plans/attainment", **params).json())
    assert seen["won_revenue"]["actual"] == "4321.00"
    hidden = _by_metric(api_for(p.support).get("/plans/attainment", **params).json())
    assert hidden["won_revenue"]["actual"] is None and hidden["won_revenue"]["projection"] is None
    assert hidden["won_deals"]["actual"] == seen["won_deals"]["actual"] and float(hidden["won_deals"]["actual"]) == 1
    page = client_for(p.support).get("/plans/attainment/", params).content.decode()
    assert "4,321" not in page
    assert "4,321" in client_for(p.admin).get("/plans/attainment/", params).content.decode()
    board = api_for(p.support).get("/plans/leaderboard", period=period).json()
    assert board["team_id"] == p.team_a.pk and {r["user_id"] for r in board["rows"]} >= {p.rep.pk, p.teammate.pk}
    assert all(r["actual"] is None and r["target"] is None for r in board["rows"])
    counts = api_for(p.support).get("/plans/leaderboard", period=period, metric="won_deals").json()["rows"]
    assert all(r["actual"] is not None for r in counts)
    assert "4,321" not in client_for(p.support).get("/plans/leaderboard/", {"period": period}).content.decode()
    admin_board = api_for(p.admin).get("/plans/leaderboard", period=period, team_id=p.team_a.pk).json()["rows"]
    assert admin_board and all(r["actual"] is not None for r in admin_board)  # the same rows, with amounts


def test_scorecard_and_funnel(personas: Personas, support_won: str, api_for: Any, client_for: Any) -> None:
    p, period = personas, support_won
    params = {"period": period, "node": f"rep:{p.support.pk}"}
    seen = api_for(p.admin).get("/scorecards/scorecard", **params).json()
    hidden = api_for(p.support).get("/scorecards/scorecard", **params).json()
    assert [r["user_id"] for r in hidden["rows"]] == [r["user_id"] for r in seen["rows"]] == [p.support.pk]
    assert seen["rows"][0]["won_amount"] == "4321.00"
    row = hidden["rows"][0]
    assert (row["won_amount"], row["avg_deal_size"], row["target"]) == (None, None, None)
    assert row["won_count"] == seen["rows"][0]["won_count"] == 1
    assert hidden["medians"]["won_amount"] is None and hidden["medians"]["avg_deal_size"] is None
    assert hidden["medians"]["won_count"] == seen["medians"]["won_count"]
    gap = {**params, "gap": "100000"}
    funnel_seen = api_for(p.admin).get("/scorecards/funnel", **gap).json()["team"]
    funnel_hidden = api_for(p.support).get("/scorecards/funnel", **gap).json()["team"]
    assert funnel_seen["remaining"] is not None and funnel_seen["avg_won_amount"] == "4321.00"
    assert funnel_hidden["remaining"] is None and funnel_hidden["avg_won_amount"] is None
    assert funnel_hidden["deals_needed"] == funnel_seen["deals_needed"]
    support = client_for(p.support)
    for url in (f"/scorecards/rep/{p.support.pk}/", "/scorecards/funnel/"):
        html = support.get(url, gap if "funnel" in url else params).content.decode()
        assert "4,321" not in html, url
    assert "4,321" in client_for(p.admin).get(f"/scorecards/rep/{p.support.pk}/", params).content.decode()
