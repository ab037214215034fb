"""Likely revenue on real rows: the calibration from StageChange history (hand-worked
shrinkage), the slip from the expected-close history, the figures of a node (exact where the
outcome is certain, the analytic mean otherwise), visibility (unseen node 404, support 403),
the page, the API, hostile input and the query count."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from salesflow.achievable import montecarlo as mc
from salesflow.achievable.models import Calibration, RevenueSnapshot
from salesflow.achievable.services import (
    SNAPSHOT_MAX_AGE,
    calibration_compute,
    likely_revenue,
    period_of,
    refresh_snapshots,
)
from salesflow.achievable.tasks import compute_calibration
from salesflow.analytics.selectors import Node
from salesflow.core.testing import run_worker
from salesflow.sales.models import LostReason, Opportunity, Stage, StageChange
from salesflow.sales.services import opportunity_close
from salesflow.sales.tests.factories import make_opportunity, stage
from salesflow.users.testing import Personas

pytestmark = pytest.mark.django_db


def _aged(opp: Opportunity, days: int) -> Opportunity:
    Opportunity.objects.filter(pk=opp.pk).update(stage_entered_at=timezone.now() - timedelta(days=days))
    opp.refresh_from_db()
    return opp


def _history(personas: Personas, today: date) -> None:
    """Team A (rep): 10 stays of 10 days in prospect, 4 won (slip +5 days each: expected
    5 days before the close). Team B (outsider): 10 stays of 2 days, all lost."""
    reason = LostReason.objects.get(code="price")
    for i in range(10):
        opp = _aged(make_opportunity(personas.rep, amount=10000, expected_close_date=today - timedelta(days=5)), 10)
        if i < 4:
            opportunity_close(actor=personas.admin, opportunity=opp, outcome="won", closed_on=today)
        else:
            opportunity_close(
                actor=personas.admin, opportunity=opp, outcome="lost", closed_on=today, lost_reason=reason
            )
    for _i in range(10):
        opp = _aged(make_opportunity(personas.outsider, amount=10000), 2)
        opportunity_close(actor=personas.admin, opportunity=opp, outcome="lost", closed_on=today, lost_reason=reason)


@pytest.fixture
def world(personas: Personas) -> dict[str, Any]:
    today = timezone.localdate()
    _history(personas, today)
    period = period_of("month", today)
    in_time = _aged(make_opportunity(personas.rep, amount=10000, expected_close_date=today - timedelta(days=5)), 10)
    stale = _aged(
        make_opportunity(personas.rep, amount=50000, expected_close_date=period.start - timedelta(days=40)), 10
    )
    other = _aged(make_opportunity(personas.outsider, amount=70000, expected_close_date=today), 1)
    return {"today": today, "period": period, "in_time": in_time, "stale": stale, "other": other}


# hand-worked (montecarlo docstring): stage rate 4/20; bucket [7, 30): (4 + 20·0.2)/30;
# team A's cell: (4 + 20·bucket)/30
STAGE = 4 / 20
BUCKET = (4 + 20 * STAGE) / 30
CELL_A = (4 + 20 * BUCKET) / 30


def test_calibration_from_stage_history_is_hand_worked(personas: Personas, world: dict[str, Any]) -> None:
    prospect = stage("prospect")
    assert StageChange.objects.filter(from_stage=prospect, duration_seconds__gte=10 * 86400 - 60).count() == 10
    cal = calibration_compute(world["today"])
    d = cal.data
    s = d["stage_ids"].index(prospect.pk)
    a = d["team_ids"].index(personas.team_a.pk)
    b = d["team_ids"].index(personas.team_b.pk)
    assert d["stage_rate"][s] == pytest.approx(STAGE)
    assert d["stage_n"][s] == 20
    assert d["bucket_rate"][s][1] == pytest.approx(BUCKET)
    assert d["rates"][s][1][a] == pytest.approx(CELL_A)
    assert d["rates"][s][1][b] == pytest.approx(BUCKET)  # no case of team B that old: the bucket's rate
    assert d["rates"][s][0][b] == pytest.approx((0 + 20 * ((4 + 20 * STAGE) / 40)) / 30)
    # a stage without history keeps its configured probability
    needs = d["stage_ids"].index(stage("needs").pk)
    assert d["stage_rate"][needs] == pytest.approx(stage("needs").probability / 100)
    # four won deals, each closed 5 days after the date expected
    assert d["slips"]["all"] == [5, 5, 5, 5]
    assert d["slip_counts"]["all"] == 4
    # reliability bins count every checkpoint: 20 at bucket 0, 10 at bucket 1
    assert sum(x["n"] for x in d["reliability"]["configured"]) == 30
    assert sum(x["n"] for x in d["reliability"]["calibrated"]) == 30
    calibration_compute(world["today"])
    assert Calibration.objects.count() == 1


def test_node_figures(personas: Personas, world: dict[str, Any]) -> None:
    snap = likely_revenue(Node("rep", personas.rep.pk, "rep"), "month", world["today"])
    d = snap.data
    assert d["period"] == world["period"].key
    assert d["closed"] == pytest.approx(40000.0)
    assert d["closed_count"] == 4
    assert d["open_deals"] == 2  # the outsider's deal is not the rep's
    assert d["simulated"] == 1  # the stale deal is later than any history: no chance in the period
    assert d["analytic_mean"] == pytest.approx(40000 + 10000 * CELL_A)
    # a single deal: the total is 40,000 or 50,000; P10/P50 40,000 since CELL_A < 0.5
    assert d["p10"] == pytest.approx(40000.0) and d["p50"] == pytest.approx(40000.0)
    assert d["p90"] == pytest.approx(50000.0)
    assert abs(d["mean"] - (40000 + 10000 * CELL_A)) < 4 * 10000 * (CELL_A * (1 - CELL_A) / mc.N_SIMS) ** 0.5
    configured = Stage.objects.get(pk=stage("prospect").pk).probability / 100
    assert d["configured_ev"] == pytest.approx(40000 + 60000 * configured)
    # reproducible: same seed, same figures
    again = likely_revenue(Node("rep", personas.rep.pk, "rep"), "month", world["today"], fresh=True).data
    assert [again[k] for k in ("p10", "p50", "p90", "mean")] == [d[k] for k in ("p10", "p50", "p90", "mean")]
    # the company sees the outsider's deal too (expected today: slips ≥ 0 all land by +5 days
    # only when the month has 5 days left; counted in the open deals either way)
    company = likely_revenue(Node("company"), "quarter", world["today"]).data
    assert company["open_deals"] == 3


def test_task_writes_every_node(personas: Personas, world: dict[str, Any]) -> None:
    n = compute_calibration.call()
    assert n == RevenueSnapshot.objects.count()
    keys = set(RevenueSnapshot.objects.values_list("node_key", flat=True))
    assert {"company", f"team:{personas.team_a.pk}", f"rep:{personas.rep.pk}", f"rep:{personas.outsider.pk}"} <= keys
    rep = RevenueSnapshot.objects.get(node_key=f"rep:{personas.rep.pk}", period_key=world["period"].key)
    assert rep.data["analytic_mean"] == pytest.approx(40000 + 10000 * CELL_A)
    assert refresh_snapshots(world["today"]) == n


def test_page_and_api_visibility(personas: Personas, world: dict[str, Any], client_for, api_for) -> None:  # type: ignore[no-untyped-def]
    rep_node = f"rep:{personas.rep.pk}"
    for user in (personas.rep, personas.manager, personas.admin):
        api = api_for(user).get("/likely-revenue", node=rep_node)  # computes and stores when needed
        page = client_for(user).get("/likely-revenue/", {"node": rep_node})
        assert page.status_code == 200, user
        assert "¥40,000.00" in page.content.decode()
        assert api.status_code == 200
        body = api.json()
        assert body["closed"] == "40000.00" and body["p90"] == "50000.00" and body["simulated"] == 1
        assert body["stages"][0]["deals"] == 2
    for user in (personas.outsider, personas.other_manager, personas.teammate):
        assert client_for(user).get("/likely-revenue/", {"node": rep_node}).status_code == 404
        assert api_for(user).get("/likely-revenue", node=rep_node).status_code == 404
    assert client_for(personas.rep).get("/likely-revenue/", {"node": "company"}).status_code == 404
    assert client_for(personas.support).get("/likely-revenue/").status_code == 403
    assert api_for(personas.support).get("/likely-revenue").status_code == 403
    # the default node is the widest: the company for the admin
    assert api_for(personas.admin).get("/likely-revenue").json()["node"] == "company"
    zh = client_for(personas.manager, "zh-hans").get("/likely-revenue/", {"node": rep_node})
    assert "最可能实现的收入" in zh.content.decode()
    csv = client_for(personas.manager).get("/likely-revenue/export/reliability/", {"node": rep_node, "format": "csv"})
    assert csv.status_code == 200
    cal = api_for(personas.manager).get("/likely-revenue/calibration").json()
    assert cal["stays"] == 20 and cal["slip_cases"] == 4


def test_hostile_input_and_recompute(personas: Personas, world: dict[str, Any], client_for, api_for) -> None:  # type: ignore[no-untyped-def]
    api = api_for(personas.admin)
    for params in ({"span": "year"}, {"span": "x" * 50_000}, {"node": "team:abc"}, {"span": "\x00"}):
        r = api.get("/likely-revenue", **params)
        assert r.status_code in (400, 404), params
    assert api.get("/likely-revenue", bogus="1").status_code == 200  # unknown query parameters are ignored
    assert api.get("/likely-revenue", span="year").status_code == 400
    assert api.get("/likely-revenue", node="rep:999999").status_code == 404
    assert api.post("/likely-revenue/recompute", {"span": "month", "extra": 1}).status_code == 400
    assert api.post("/likely-revenue/recompute", {"node": "company", "span": "NaN"}).status_code == 400
    before = RevenueSnapshot.objects.count()
    ok = api.post("/likely-revenue/recompute", {"node": "company", "span": "quarter"})
    assert ok.status_code == 200 and ok.json()["span"] == "quarter"
    assert RevenueSnapshot.objects.count() == before + 1
    page = client_for(personas.admin).get("/likely-revenue/", {"span": "decade"})
    assert page.status_code == 400
    r = client_for(personas.admin).post("/likely-revenue/recompute/?node=company&span=month")
    assert r.status_code == 302


def test_page_query_count_is_constant(
    personas: Personas, world: dict[str, Any], client_for, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    client = client_for(personas.admin)
    client.get("/likely-revenue/", {"node": "company"})  # enqueues the first simulation
    assert run_worker() == 1  # stores the snapshot
    for _i in range(5):  # more deals do not add queries
        make_opportunity(personas.teammate, amount=Decimal(1000))
    with django_assert_max_num_queries(16):
        assert client.get("/likely-revenue/", {"node": "company"}).status_code == 200


def _node_refreshes() -> int:
    return DBTaskResult.objects.filter(task_path="salesflow.achievable.tasks.refresh_node").count()


def test_page_shows_computing_then_figures_then_stale_and_never_simulates_in_the_request(  # type: ignore[no-untyped-def]
    personas: Personas, world: dict[str, Any], client_for, django_assert_max_num_queries
) -> None:
    calibration_compute()
    query = {"node": "company"}
    first, second = client_for(personas.admin), client_for(personas.admin)
    status_query = {"node": "company", "span": "month"}
    # none stored: both readers get the "computing" card polling the status URL; ONE refresh is enqueued
    for client in (first, second):
        with django_assert_max_num_queries(16):
            page = client.get("/likely-revenue/", query)
        html = page.content.decode()
        assert page.status_code == 200 and 'data-testid="achievable-computing"' in html
        assert 'hx-trigger="every 3s"' in html and "/likely-revenue/status/?node=company" in html
        assert "achievable-figures" not in html
        assert client.get("/likely-revenue/status/", status_query).status_code == 204
    assert RevenueSnapshot.objects.count() == 0 and _node_refreshes() == 1
    assert run_worker() == 1
    ready = first.get("/likely-revenue/status/", status_query)
    assert ready.status_code == 200 and ready["HX-Refresh"] == "true"
    html = first.get("/likely-revenue/", query).content.decode()
    assert "achievable-figures" in html and "achievable-stale" not in html and "achievable-computing" not in html
    assert _node_refreshes() == 1
    # stale: shown, marked with its time; ONE more refresh for both readers
    old = timezone.now() - SNAPSHOT_MAX_AGE - timedelta(minutes=5)
    RevenueSnapshot.objects.update(computed_at=old)
    at = timezone.localtime(old).strftime("%Y-%m-%d %H:%M")
    for client in (first, second):
        with django_assert_max_num_queries(24):
            html = client.get("/likely-revenue/", query).content.decode()
        assert 'data-testid="achievable-stale"' in html and at in html and "achievable-figures" in html
    assert _node_refreshes() == 2
    assert run_worker() == 1
    assert RevenueSnapshot.objects.get().computed_at > old + SNAPSHOT_MAX_AGE
    assert "achievable-stale" not in first.get("/likely-revenue/", query).content.decode()
    # the status endpoint checks the reader like the page
    assert client_for(personas.rep).get("/likely-revenue/status/", status_query).status_code == 404
    assert client_for(personas.support).get("/likely-revenue/status/", status_query).status_code == 403


def test_refresh_node_task_runs_twice_and_skips_what_is_gone(personas: Personas, world: dict[str, Any]) -> None:
    from salesflow.achievable.tasks import refresh_node

    calibration_compute()
    today = world["today"].isoformat()
    node = f"rep:{personas.rep.pk}"
    assert refresh_node.call(node, "month", today) is True
    first = RevenueSnapshot.objects.get(node_key=node)
    assert refresh_node.call(node, "month", today) is True
    again = RevenueSnapshot.objects.get(node_key=node)
    assert again.pk == first.pk and again.data["p50"] == first.data["p50"] and again.computed_at >= first.computed_at
    assert refresh_node.call("team:99999999", "month", today) is False
    assert refresh_node.call(node, "decade", today) is False
    assert refresh_node.call("nonsense", "month", today) is False
    assert RevenueSnapshot.objects.count() == 1
