"""Funnel math from the stored months (``scorecards.facts``) equals the live computation, also
after the deals changed behind the facts' back: reopened, reassigned (by the service and by a
raw update), closed into a stored month, reopened and closed again, deleted; and the pages of
every persona read byte for byte the same with and without the facts."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from salesflow.activities.services import activity_create
from salesflow.analytics.forms import AnalysisFilters
from salesflow.analytics.selectors import Node, stage_conversion
from salesflow.core.metrics import MetricFilters
from salesflow.core.periods import month_period, period_containing
from salesflow.leads.models import DisqualifyReason, Lead
from salesflow.leads.services import lead_disqualify
from salesflow.sales.choices import Outcome
from salesflow.sales.models import LostReason, Opportunity, StageChange
from salesflow.sales.services import opportunity_close, opportunity_delete, opportunity_reopen, opportunity_update
from salesflow.scorecards.facts import live_stage_passes, refresh_funnel_facts, stage_passes, stored_stage_conversion
from salesflow.scorecards.models import ClosedMonthFact, FunnelFactsState, StagePassFact, StageStepFact
from salesflow.scorecards.selectors import _query, funnel, trailing_range
from salesflow.scorecards.tests.test_figures import ZONE, _deal, _loop_cards
from salesflow.users.testing import Personas, make_personas

pytestmark = pytest.mark.django_db


def _world(p: Personas, today: date) -> list[Opportunity]:
    """Closed deals in several ended months of the trailing year (and edge days), three owners."""
    deals = []
    for i in range(14):
        owner = (p.rep, p.teammate, p.outsider)[i % 3]
        deals.append(
            _deal(
                owner,
                f"{1000 + 100 * i}.00",
                "qualification",
                created=today - timedelta(days=300 - 15 * i),
                closed=today - timedelta(days=250 - 15 * i),
                outcome=Outcome.LOST if i % 4 == 3 else Outcome.WON,
                via=("proposal",) if i % 2 else (),
            )
        )
    # the first (partial) month of the trailing year and today: always live
    _deal(p.rep, "700.00", "qualification", created=today - timedelta(days=400), closed=today - timedelta(days=362))
    _deal(p.rep, "900.00", "proposal", created=today - timedelta(days=9), closed=today)
    for i in range(6):
        lead = Lead.objects.create(name=f"线索{i}", owner=p.rep, status="converted" if i < 4 else "new")
        Lead.objects.filter(pk=lead.pk).update(created_at=timezone.now() - timedelta(days=60))
    return [Opportunity.objects.get(pk=d.pk) for d in deals]


def _nodes(p: Personas) -> list[Node]:
    return [
        Node("company"),
        Node("team", p.department.pk, ""),
        Node("team", p.team_a.pk, ""),
        Node("rep", p.rep.pk, ""),
    ]


def _live(fn: Any) -> Any:
    """``fn()`` with the facts out of the way (every figure live), then the facts back."""
    state = FunnelFactsState.objects.get()
    FunnelFactsState.objects.all().delete()
    try:
        return fn()
    finally:
        state.save(force_insert=True)


def _assert_same(p: Personas, today: date) -> None:
    start, end = trailing_range(today)
    for node in _nodes(p):
        query = _query(node, start, end, MetricFilters())
        assert sorted(stage_passes(query, today)) == sorted(live_stage_passes(query)), node
        period = period_containing("quarter", today)
        stored = funnel(node, period, today=today)
        live = _live(lambda node=node, period=period: funnel(node, period, today=today))
        assert stored == live, node
    # and against the plain loop over the rows
    owners = {p.rep.pk, p.teammate.pk, p.outsider.pk}
    loop = _loop_cards(owners, start, end)
    company = stage_passes(_query(Node("company"), start, end, MetricFilters()), today)
    for owner in owners:
        got: dict[int, int] = {}
        won: dict[int, int] = {}
        for o, s, out, n in company:
            if o == owner:
                got[s] = got.get(s, 0) + n
                if out == Outcome.WON:
                    won[s] = won.get(s, 0) + n
        assert got == {s: n for s, n in loop[owner]["sc"].items() if n}, owner
        assert won == {s: n for s, n in loop[owner]["sw"].items() if n}, owner


def _reset_facts(today: date) -> None:
    written = refresh_funnel_facts(today)
    assert written["closed_months"] > 0 and written["stage_passes"] > 0


def test_stored_months_equal_the_live_figures_after_every_change() -> None:
    p = make_personas()
    today = timezone.localdate()
    deals = _world(p, today)
    _reset_facts(today)
    assert ClosedMonthFact.objects.exists() and StagePassFact.objects.exists()
    _assert_same(p, today)
    # a stored month's deal reopened (it leaves its group)
    opportunity_reopen(actor=p.admin, opportunity=deals[2])
    _assert_same(p, today)
    # reassigned by the service (field history) and by a raw update (only the fingerprint)
    opportunity_update(actor=p.admin, opportunity=Opportunity.objects.get(pk=deals[4].pk), owner=p.outsider)
    _assert_same(p, today)
    Opportunity.objects.filter(pk=deals[5].pk).update(owner=p.rep)
    _assert_same(p, today)
    # a deal reopened then closed again in the same group, through another stage
    deal = Opportunity.objects.get(pk=deals[7].pk)
    closed_on, outcome = deal.closed_on, deal.outcome
    deal = opportunity_reopen(actor=p.admin, opportunity=deal)
    from salesflow.sales.services import opportunity_move_stage
    from salesflow.sales.tests.factories import stage

    deal = opportunity_move_stage(actor=p.admin, opportunity=deal, stage=stage("negotiation"))
    reason = LostReason.objects.first() if outcome == Outcome.LOST else None
    opportunity_close(actor=p.admin, opportunity=deal, outcome=outcome, closed_on=closed_on, lost_reason=reason)
    _assert_same(p, today)
    # a new deal closed into a stored month (backdated close day), and a deal deleted
    _deal(
        p.teammate, "1234.00", "qualification", created=today - timedelta(days=200), closed=today - timedelta(days=95)
    )
    opportunity_delete(actor=p.admin, opportunity=Opportunity.objects.get(pk=deals[9].pk))
    _assert_same(p, today)
    # a lead's status changed, an activity logged on a past day: funnel math still agrees
    why = DisqualifyReason.objects.filter(is_active=True).exclude(code="other").first()
    if why is not None:
        lead = Lead.objects.filter(owner=p.rep, status="new").first()
        assert lead is not None
        lead_disqualify(actor=p.rep, lead=lead, reason=why)
    act = activity_create(
        actor=p.rep,
        kind="call",
        subject="回访",
        done=True,
        outcome="已接通",
        next_follow_up=today + timedelta(days=7),
        lead=Lead.objects.filter(owner=p.rep).first(),
    )
    act.__class__.objects.filter(pk=act.pk).update(done_at=datetime.combine(today - timedelta(days=70), time(9), ZONE))
    _assert_same(p, today)
    # the next refresh takes every change in: the facts alone serve the stored months again
    _reset_facts(today)
    _assert_same(p, today)


def test_pages_of_every_persona_read_the_same_with_and_without_the_facts(client_for) -> None:  # type: ignore[no-untyped-def]
    p = make_personas()
    today = timezone.localdate()
    deals = _world(p, today)
    call_command("funnel_facts", stdout=open("/dev/null", "w"))  # noqa: SIM115 (the rebuild command)
    assert FunnelFactsState.objects.get().through == (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    opportunity_reopen(actor=p.admin, opportunity=deals[1])
    Opportunity.objects.filter(pk=deals[3].pk).update(owner=p.teammate)
    for who in (p.rep, p.manager, p.admin):
        client = client_for(who)
        urls = ["/scorecards/funnel/"]
        if who != p.rep:  # a rep reads their own funnel only
            urls.append(f"/scorecards/funnel/?node=team:{p.team_a.pk}&gap=50000")
        for url in urls:
            stored = client.get(url)
            live = _live(lambda client=client, url=url: client.get(url))
            assert stored.status_code == live.status_code == 200, (who, url)
            assert _figures(stored.content) == _figures(live.content), (who, url)


def _figures(page: bytes) -> bytes:
    """The page without its per-request tokens (CSRF, CSP nonce): everything else byte for byte."""
    return re.sub(rb"[A-Za-z0-9_\-+/=]{32,}", b"<token>", page)


def _months(today: date) -> list[date]:
    """The first days of the last eleven ended months."""
    found, month = [], today.replace(day=1)
    for _ in range(11):
        month = (month - timedelta(days=1)).replace(day=1)
        found.append(month)
    return found


def _assert_same_steps(today: date) -> None:
    for month in _months(today):
        analysis = AnalysisFilters(
            period=month_period(month.year, month.month), node=Node("company"), filters=MetricFilters(), params={}
        )
        live = stage_conversion(analysis=analysis)
        assert stored_stage_conversion(analysis=analysis) == live, month
        # the dashboard's funnel chart: the same totals, no per-owner aggregate
        assert stored_stage_conversion(analysis=analysis, per_owner=False) == (live[0], {}), month
        assert stage_conversion(analysis=analysis, per_owner=False) == (live[0], {}), month


def test_stored_stage_conversion_equals_the_live_report_after_every_change(client_for) -> None:  # type: ignore[no-untyped-def]
    p = make_personas()
    today = timezone.localdate()
    deals = _world(p, today)
    _reset_facts(today)
    assert StageStepFact.objects.filter(is_total=True).exists()
    _assert_same_steps(today)
    opportunity_reopen(actor=p.admin, opportunity=deals[0])  # "advanced" by the win no more
    _assert_same_steps(today)
    opportunity_update(actor=p.admin, opportunity=Opportunity.objects.get(pk=deals[6].pk), owner=p.outsider)
    Opportunity.objects.filter(pk=deals[8].pk).update(outcome=Outcome.WON)  # raw: no history, same entries
    StageChange.objects.filter(opportunity_id=deals[10].pk).order_by("pk").first().delete()  # type: ignore[union-attr]
    _assert_same_steps(today)
    opportunity_delete(actor=p.admin, opportunity=Opportunity.objects.get(pk=deals[11].pk))
    _deal(p.teammate, "1234.00", "qualification", created=today - timedelta(days=100), closed=None, via=("proposal",))
    _assert_same_steps(today)
    # the team scorecard of a past month reads the same for every persona
    month = _months(today)[2]
    for who in (p.rep, p.manager, p.admin):
        client = client_for(who)
        url = f"/scorecards/?period={month:%Y-%m}"
        stored = client.get(url)
        live = _live(lambda client=client, url=url: client.get(url))
        assert stored.status_code == live.status_code == 200, who
        assert _figures(stored.content) == _figures(live.content), who


def test_a_filter_or_no_refresh_reads_live() -> None:
    p = make_personas()
    today = timezone.localdate()
    _world(p, today)
    start, end = trailing_range(today)
    query = _query(Node("company"), start, end, MetricFilters())
    before = sorted(stage_passes(query, today))  # never refreshed: live
    refresh_funnel_facts(today)
    assert sorted(stage_passes(query, today)) == before
    filtered = _query(Node("company"), start, end, MetricFilters(sources=("web",)))
    assert sorted(stage_passes(filtered, today)) == sorted(live_stage_passes(filtered))


def test_the_job_rebuilds_the_stored_months() -> None:
    from salesflow.scorecards.tasks import refresh_funnel_facts_task

    p = make_personas()
    today = timezone.localdate()
    _world(p, today)
    written = refresh_funnel_facts_task.call()
    assert written == {
        "closed_months": ClosedMonthFact.objects.count(),
        "stage_passes": StagePassFact.objects.count(),
        "stage_steps": StageStepFact.objects.count(),
    }
    assert written["closed_months"] > 0
    assert refresh_funnel_facts_task.call() == written  # idempotent
