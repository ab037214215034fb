"""Process intelligence (issue 11 item 4): the fact tables, the figures against independent
computations (numpy on the database rows, hand-worked Little's law), visibility, strict
query schemas and the pages' constant query count."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.conf import settings
from django.utils import timezone

from salesflow.analytics.selectors import Node
from salesflow.core.metrics import MetricFilters
from salesflow.core.periods import month_period
from salesflow.process.facts import monday, refresh_facts
from salesflow.process.models import DealFact, ExitKind, StageVisit
from salesflow.process.observations import Segment, observe
from salesflow.process.selectors import MIN_EXITS, control_chart, process_summary
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Opportunity, OpportunityFieldChange, Pipeline, Stage, StageChange
from salesflow.sales.tests.factories import make_opportunity, stage
from salesflow.users.models import User
from salesflow.users.testing import Personas

pytestmark = pytest.mark.django_db
ZONE = ZoneInfo(settings.TIME_ZONE)
DAY = 86400


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZONE)


def _past_month(months_back: int = 3) -> tuple[date, date]:
    today = timezone.localdate()
    first = today.replace(day=1)
    for _ in range(months_back):
        first = (first - timedelta(days=1)).replace(day=1)
    p = month_period(first.year, first.month)
    return p.start, p.end


def _deal(owner: User, created: date, pipeline: Pipeline | None = None) -> Opportunity:
    opp = make_opportunity(owner)
    if pipeline is not None:
        first = pipeline.stages.order_by("position").first()
        assert first is not None
        Opportunity.objects.filter(pk=opp.pk).update(pipeline=pipeline, stage=first)
    Opportunity.objects.filter(pk=opp.pk).update(created_at=_at(created, 9), stage_entered_at=_at(created, 9))
    opp.refresh_from_db()
    return opp


def _path(opp: Opportunity, steps: list[tuple[str, float]], *, start: datetime, owner: User | None = None) -> datetime:
    """Write the stage changes of ``opp`` along ``steps`` (stage code, days in the previous
    stage) from ``start``; the last code may be ``won``/``lost`` (closes the deal)."""
    pipeline = Pipeline.objects.get(pk=opp.pipeline_id)
    current = Stage.objects.get(pk=opp.stage_id)
    at = start
    owner = owner or opp.owner
    for code, days in steps:
        nxt = stage(code, pipeline)
        at = at + timedelta(seconds=round(days * DAY))
        StageChange.objects.create(
            opportunity=opp,
            from_stage=current,
            to_stage=nxt,
            changed_at=at,
            duration_seconds=round(days * DAY),
            from_position=current.position,
            to_position=nxt.position,
            owner=owner,
            owner_team=owner.team,
            is_regression=nxt.position < current.position and nxt.kind == "open",
        )
        current = nxt
    update: dict[str, object] = {"stage": current, "stage_entered_at": at}
    if current.kind in ("won", "lost"):
        update.update(outcome=current.kind, closed_on=at.astimezone(ZONE).date(), closed_at=at)
    Opportunity.objects.filter(pk=opp.pk).update(**update)
    return at


def _company(pipeline: Pipeline | None = None) -> Segment:
    return Segment(filters=MetricFilters(pipeline_ids=(pipeline.pk,) if pipeline else ()))


# ------------------------------------------------------------------ percentiles vs numpy


def test_time_in_stage_percentiles_match_numpy_on_db_rows(personas: Personas) -> None:
    start, end = _past_month(2)
    rng = np.random.default_rng(7)
    for i in range(30):
        owner = (personas.rep, personas.teammate, personas.outsider)[i % 3]
        opp = _deal(owner, start)
        a, b, c = (float(x) for x in rng.uniform(0.2, 6.0, size=3))
        _path(opp, [("qualification", a), ("needs", b), ("qualification", c / 2), ("needs", c)], start=_at(start))
    refresh_facts(full=True)
    pipeline = Pipeline.objects.get(is_default=True)
    s = process_summary(_company(), start, end, pipeline=pipeline)
    by_stage = {f.stage_id: f for f in s.stages}
    for st in Stage.objects.filter(pipeline=pipeline, code__in=["prospect", "qualification", "needs"]):
        rows = list(
            StageChange.objects.filter(
                from_stage=st, changed_at__gte=_at(start, 0), changed_at__lt=_at(end + timedelta(days=1), 0)
            ).values_list("duration_seconds", flat=True)
        )
        assert rows, st.code
        got = by_stage[st.pk]
        assert got.exits == len(rows)
        for q, value in ((50, got.p50), (80, got.p80), (95, got.p95)):
            assert value == pytest.approx(float(np.percentile(np.array(rows, dtype=float), q)) / DAY, rel=1e-12)
    # by team (team at the time) and rep
    qual = stage("qualification")
    team_a_rows = list(
        StageChange.objects.filter(from_stage=qual, owner_team=personas.team_a).values_list(
            "duration_seconds", flat=True
        )
    )
    team_row = next(g for g in s.groups["team"] if g.key == str(personas.team_a.pk) and g.stage_id == qual.pk)
    assert team_row.n == len(team_a_rows) == 40
    assert team_row.p80 == pytest.approx(float(np.percentile(np.array(team_a_rows, dtype=float), 80)) / DAY)
    rep_rows = list(
        StageChange.objects.filter(from_stage=qual, owner=personas.rep).values_list("duration_seconds", flat=True)
    )
    rep_row = next(g for g in s.groups["rep"] if g.key == str(personas.rep.pk) and g.stage_id == qual.pk)
    assert rep_row.p95 == pytest.approx(float(np.percentile(np.array(rep_rows, dtype=float), 95)) / DAY)
    # regression: every deal moved needs → qualification once
    needs = by_stage[stage("needs").pk]
    assert needs.exits == 30 and needs.back == 30 and needs.regression_rate == 1.0 and needs.conversion == 0.0
    assert by_stage[qual.pk].conversion == 1.0 and by_stage[qual.pk].regression_rate == 0.0
    # a rep's segment: only the rep's exits
    rep_seg = Segment(node=Node("rep", personas.rep.pk))
    rs = process_summary(rep_seg, start, end, pipeline=pipeline)
    assert {f.stage_id: f.exits for f in rs.stages}[qual.pk] == len(rep_rows)


# ------------------------------------------------------------------ Little's law


def test_littles_law_holds_when_every_stay_lies_in_the_period(personas: Personas) -> None:
    start, end = _past_month(3)
    t0 = _at(start + timedelta(days=1), 8)
    spans = [(1.0, 2.0, 3.0), (0.5, 4.0, 1.5), (2.0, 2.0, 2.0), (3.0, 1.0, 0.25), (1.25, 0.75, 5.0)]
    for i, (a, b, c) in enumerate(spans):
        opp = _deal(personas.rep, start + timedelta(days=1))
        Opportunity.objects.filter(pk=opp.pk).update(stage_entered_at=t0 + timedelta(days=i))
        opp.refresh_from_db()
        _path(opp, [("qualification", a), ("needs", b), ("won", c)], start=t0 + timedelta(days=i))
    refresh_facts(full=True)
    pipeline = Pipeline.objects.get(is_default=True)
    s = process_summary(_company(), start, end, pipeline=pipeline)
    span = (end - start).days + 1
    for f in s.stages:
        if not f.exits:
            continue
        assert f.little_ratio == pytest.approx(1.0, rel=1e-12), f.name
        assert f.wip_avg == pytest.approx(f.little_rhs, rel=1e-12)
        assert f.throughput_per_week == pytest.approx(f.exits / span * 7)
        assert f.wip_avg == pytest.approx(f.throughput_per_week / 7 / DAY * (f.mean_days or 0) * DAY)
    prospect = next(f for f in s.stages if f.stage_id == stage("prospect").pk)
    assert prospect.wip_avg == pytest.approx(sum(a for a, _b, _c in spans) / span)
    assert s.closed == 5 and s.won == 5 and s.first_pass == 5 and s.first_pass_yield == 1.0
    # a period that cuts the stays: the check no longer holds exactly (and says so by its ratio)
    half = process_summary(_company(), start, start + timedelta(days=3), pipeline=pipeline)
    assert any(f.little_ratio is not None and not math.isclose(f.little_ratio, 1.0) for f in half.stages)


# ------------------------------------------------------------------ FPY, bottleneck, WIP now


def test_first_pass_yield_wip_now_and_bottleneck(personas: Personas) -> None:
    start, end = _past_month(1)
    t = _at(start + timedelta(days=1))
    # 3 won straight, 1 won after a regression, 2 lost → FPY 3/6
    for _i in range(3):
        _path(_deal(personas.rep, start), [("qualification", 1), ("needs", 1), ("won", 1)], start=t)
    _path(
        _deal(personas.rep, start), [("qualification", 1), ("prospect", 1), ("qualification", 1), ("won", 1)], start=t
    )
    for _i in range(2):
        _path(_deal(personas.teammate, start), [("qualification", 2), ("lost", 1)], start=t)
    # needs: 6 exits of 10 days (qualified for the bottleneck); proposal: 2 exits of 20 days (too few)
    for _i in range(6):
        _path(_deal(personas.teammate, start), [("qualification", 1), ("needs", 1), ("proposal", 10)], start=t)
    for _i in range(2):
        opp = _deal(personas.teammate, start)
        _path(opp, [("qualification", 0.5), ("needs", 0.5), ("proposal", 0.5), ("negotiation", 20)], start=t)
    _deal(personas.rep, start)  # open in prospect
    refresh_facts(full=True)
    pipeline = Pipeline.objects.get(is_default=True)
    s = process_summary(_company(), start, end, pipeline=pipeline)
    assert (s.closed, s.won, s.first_pass) == (6, 4, 3)
    assert s.first_pass_yield == pytest.approx(0.5)
    needs = stage("needs")
    assert s.bottleneck_stage_id == needs.pk, s.rule
    proposal = next(f for f in s.stages if f.stage_id == stage("proposal").pk)
    assert proposal.exits == 2 < MIN_EXITS and proposal.p80 == pytest.approx(20.0)
    wip = {f.stage_id: f.wip_now for f in s.stages}
    assert (
        wip[stage("prospect").pk] == Opportunity.objects.filter(outcome=Outcome.OPEN, stage=stage("prospect")).count()
    )
    assert wip[stage("negotiation").pk] == 2
    # per segment: the teammate's team (team_a) has the same bottleneck
    team_row = next(b for b in s.bottlenecks if b.dimension == "team" and b.key == str(personas.team_a.pk))
    assert team_row.stage_id == needs.pk


# ------------------------------------------------------------------ incremental = full


def test_incremental_refresh_equals_full_rebuild(personas: Personas) -> None:
    start, _end = _past_month(1)
    t = _at(start + timedelta(days=1))
    a = _deal(personas.rep, start)
    _path(a, [("qualification", 1)], start=t)
    refresh_facts(full=True)
    b = _deal(personas.teammate, start)
    _path(b, [("qualification", 2), ("needs", 1), ("won", 1)], start=t)
    _path(Opportunity.objects.get(pk=a.pk), [("needs", 3)], start=t + timedelta(days=1))
    refresh_facts()

    def snapshot() -> tuple[list[Any], list[Any]]:
        visits = sorted(
            StageVisit.objects.values_list(
                "opportunity_id", "stage_id", "kind", "entered_s", "exited_s", "duration_seconds", "owner_id"
            )
        )
        deals = sorted(DealFact.objects.values_list("opportunity_id", "won", "regressed", "cycle_days", "closed_on"))
        return visits, deals

    incremental = snapshot()
    refresh_facts(full=True)
    assert snapshot() == incremental
    assert StageVisit.objects.filter(kind=ExitKind.OPEN, opportunity_id=a.pk).count() == 1
    assert DealFact.objects.get(opportunity_id=b.pk).won is True


def test_incremental_refresh_rewrites_only_changed_deals(personas: Personas) -> None:
    """The 10-minute refresh leaves an unchanged deal's rows alone (same row id) and rewrites
    the deals with a new stage change or a new field-history row since the last run."""
    start, _end = _past_month(1)
    t = _at(start + timedelta(days=1))
    still, moved, reassigned = (_deal(personas.rep, start) for _i in range(3))
    for opp in (still, moved, reassigned):
        _path(opp, [("qualification", 1)], start=t)
    closed = _deal(personas.rep, start)
    _path(closed, [("qualification", 1), ("won", 1)], start=t)
    refresh_facts(full=True)

    def open_row(opp: Opportunity) -> tuple[int, int, int | None]:
        row = StageVisit.objects.get(kind=ExitKind.OPEN, opportunity_id=opp.pk)
        return row.pk, row.stage_id, row.owner_id

    before = {o.pk: open_row(o) for o in (still, moved, reassigned)}
    fact_before = DealFact.objects.get(opportunity_id=closed.pk).pk
    refresh_facts()  # nothing changed: nothing rewritten
    assert {o.pk: open_row(o) for o in (still, moved, reassigned)} == before
    assert DealFact.objects.get(opportunity_id=closed.pk).pk == fact_before

    _path(Opportunity.objects.get(pk=moved.pk), [("needs", 2)], start=t + timedelta(days=1))
    # an owner change recorded in the field history only (a bulk update leaves updated_at)
    Opportunity.objects.filter(pk=reassigned.pk).update(owner=personas.teammate)
    OpportunityFieldChange.objects.create(
        opportunity=reassigned,
        field="owner",
        old_value=str(personas.rep.pk),
        new_value=str(personas.teammate.pk),
        old_number=personas.rep.pk,
        new_number=personas.teammate.pk,
    )
    refresh_facts()
    assert open_row(still) == before[still.pk]
    assert DealFact.objects.get(opportunity_id=closed.pk).pk == fact_before
    pk, stage_id, _owner = open_row(moved)
    assert pk != before[moved.pk][0] and stage_id == stage("needs").pk
    pk, _stage, owner = open_row(reassigned)
    assert pk != before[reassigned.pk][0] and owner == personas.teammate.pk
    assert StageVisit.objects.filter(kind=ExitKind.OPEN).count() == 3


# ------------------------------------------------------------------ control charts vs numpy


def _xmr_numpy(values: list[float]) -> tuple[float, float, float]:
    x = np.array(values, dtype=float)
    centre = float(x.mean())
    mr = float(np.abs(np.diff(x)).mean())
    return centre, centre + (3 / 1.128) * mr, centre - (3 / 1.128) * mr


def test_control_chart_weekly_points_and_limits_match_numpy(personas: Personas) -> None:
    today = timezone.localdate()
    first_monday = monday(today) - timedelta(weeks=14)
    rng = np.random.default_rng(3)
    for week in range(12):
        for k in range(3):
            close_day = first_monday + timedelta(weeks=week, days=k)
            cycle = 200 if week == 9 else int(rng.integers(5, 15))
            opp = _deal(personas.rep, close_day - timedelta(days=cycle))
            days = float(rng.uniform(1, 4))
            close_at = _at(close_day)
            _path(opp, [("won" if k < 2 else "lost", days)], start=close_at - timedelta(days=days))
    refresh_facts(full=True)
    seg = Segment()
    start, end = first_monday, today
    chart = control_chart("cycle_time", seg, start, end)
    # independent: the observations grouped by Monday, mean per week, numpy XmR
    obs = observe("cycle_time", seg, start, end)
    weeks: dict[date, list[float]] = {}
    for o in obs:
        weeks.setdefault(monday(o.day), []).append(o.value)
    expected = [float(np.mean(v)) for _w, v in sorted(weeks.items())]
    assert [p.value for p in chart.points] == pytest.approx(expected)
    assert [p.week for p in chart.points] == sorted(weeks)
    centre, ucl, lcl = _xmr_numpy(expected)
    assert chart.limits is not None
    assert chart.limits.centre == pytest.approx(centre)
    assert chart.limits.ucl == pytest.approx(ucl)
    assert chart.limits.lcl == pytest.approx(lcl)
    flagged = [p.week for p in chart.points if p.rules]
    assert first_monday + timedelta(weeks=9) in flagged
    assert chart.signals and all(
        1 in s.rules for s in chart.signals if chart.points[s.index].week == first_monday + timedelta(weeks=9)
    )
    # win rate: 2 of 3 each week
    wr = control_chart("win_rate", seg, start, end)
    assert [p.value for p in wr.points] == pytest.approx([2 / 3] * 12)
    assert wr.signals == []
    # limits from a baseline phase: the first 8 weeks
    base = (first_monday, first_monday + timedelta(weeks=7))
    phased = control_chart("cycle_time", seg, start, end, limits_from=base)
    _c2, u2, _l2 = _xmr_numpy(expected[:8])
    assert phased.limits is not None and phased.limits.ucl == pytest.approx(u2) and phased.limits.n == 8
    with pytest.raises(ValueError):
        control_chart("time_in_stage", seg, start, end)
    with pytest.raises(KeyError):
        control_chart("nope", seg, start, end)


def test_time_in_stage_control_chart_on_the_personal_loan_pipeline(personas: Personas) -> None:
    loan = Pipeline.objects.get(code="personal-loan")
    today = timezone.localdate()
    first_monday = monday(today) - timedelta(weeks=6)
    for week in range(5):
        for k in range(2):
            opp = _deal(personas.rep, first_monday + timedelta(weeks=week), loan)
            _path(
                opp, [("review", 1 + week), ("contract", 2.0 + k)], start=_at(first_monday + timedelta(weeks=week), 8)
            )
    refresh_facts(full=True)
    review = stage("review", loan)
    seg = _company(loan)
    chart = control_chart("time_in_stage", seg, first_monday, today, stage_id=review.pk)
    obs = observe("time_in_stage", seg, first_monday, today, stage_id=review.pk)
    weeks: dict[date, list[float]] = {}
    for o in obs:
        weeks.setdefault(monday(o.day), []).append(o.value / DAY)
    assert [p.value for p in chart.points] == pytest.approx([float(np.mean(v)) for _w, v in sorted(weeks.items())])
    s = process_summary(seg, first_monday, today, pipeline=loan)
    got = {f.stage_id: f for f in s.stages}
    values = list(StageChange.objects.filter(from_stage=review).values_list("duration_seconds", flat=True))
    assert got[review.pk].p80 == pytest.approx(float(np.percentile(np.array(values, dtype=float), 80)) / DAY)


# ------------------------------------------------------------------ pages and API


def test_default_period_is_the_last_90_days_and_an_explicit_period_is_kept(
    personas: Personas, client_for, api_for
) -> None:  # type: ignore[no-untyped-def]
    """Without a period the page and the API cover the last 90 days (so an exit 60 days ago
    counts even early in a month) and the page says so; an explicit period is kept."""
    today = timezone.localdate()
    old = today - timedelta(days=60)
    _path(_deal(personas.rep, old), [("qualification", 0.5)], start=_at(old, 9))
    too_old = today - timedelta(days=120)
    _path(_deal(personas.rep, too_old), [("qualification", 0.5)], start=_at(too_old, 9))
    refresh_facts(full=True)
    api = api_for(personas.manager)

    def prospect_exits(body: dict[str, Any]) -> int:
        return int(next(s["exits"] for s in body["stages"] if s["stage_id"] == stage("prospect").pk))

    body = api.get("/process/summary").json()
    assert body["period"] == "last-90-days" and prospect_exits(body) == 1
    month = month_period(today.year, today.month)
    body = api.get(f"/process/summary?period={month.key}").json()
    assert body["period"] == month.key and prospect_exits(body) == 0
    body = api.get(f"/process/summary?period={today.year - 1}").json()
    assert body["period"] == str(today.year - 1)
    page = client_for(personas.manager).get("/process/")
    assert page.status_code == 200 and b'data-testid="process-rolling"' in page.content
    assert (today - timedelta(days=89)).isoformat().encode() in page.content
    explicit = client_for(personas.manager).get(f"/process/?period={month.key}")
    assert explicit.status_code == 200 and b"process-rolling" not in explicit.content
    zh = client_for(personas.manager, "zh-hans").get("/process/")
    assert "最近 90 天".encode() in zh.content


def test_pages_visibility_and_constant_queries(
    personas: Personas, client_for, api_for, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    start, _end = _past_month(0)
    t = _at(start, 9)
    for _i in range(4):
        _path(_deal(personas.rep, start), [("qualification", 0.2), ("needs", 0.1)], start=t)
    refresh_facts(full=True)
    admin = client_for(personas.admin)
    r = admin.get("/process/")
    assert r.status_code == 200
    assert b"process-chart-stage_time" in r.content and b"process-signals-cycle_time" in r.content
    r = admin.get("/process/control/")
    assert r.status_code == 200 and b"process-control-win_rate" in r.content
    zh = client_for(personas.manager, "zh-hans").get("/process/")
    assert zh.status_code == 200 and "流程分析".encode() in zh.content
    # a rep may not see the team or another rep: 404 on the page and in the API
    rep = client_for(personas.rep)
    assert rep.get(f"/process/?node=team:{personas.team_a.pk}").status_code == 404
    assert rep.get(f"/process/control/?node=rep:{personas.teammate.pk}").status_code == 404
    api = api_for(personas.rep)
    assert api.get(f"/process/summary?node=team:{personas.team_a.pk}").status_code == 404
    assert api.get(f"/process/control?node=rep:{personas.outsider.pk}").status_code == 404
    ok = api.get("/process/summary")
    assert ok.status_code == 200 and ok.json()["node"] == f"rep:{personas.rep.pk}"
    # hostile / bad filters: 400 naming the field, never a 500
    mgr = api_for(personas.manager)
    for query, field in (
        ("period=NaN", "period"),
        ("period=" + "9" * 30, "period"),
        ("pipeline=abc", "pipeline"),
        ("industry=%00", "industry"),
        ("size=" + "x" * 50_000, "size"),
        ("metric=nope", "metric"),
        ("metric=time_in_stage", "stage"),
        ("stage=99999999", "stage"),
    ):
        path = "/process/control?" if field in ("metric", "stage") else "/process/summary?"
        resp = mgr.get(path + query)
        assert resp.status_code == 400, (query, resp.status_code)
        assert field in resp.content.decode(), (query, resp.content[:300])
    body = mgr.get(
        f"/process/control?node=team:{personas.team_a.pk}&metric=time_in_stage&stage={stage('prospect').pk}"
    ).json()
    assert [c["metric"] for c in body["controls"]] == ["time_in_stage", "cycle_time", "win_rate"]
    # constant query count: a fresh computation (no snapshot) costs the same with more data
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from salesflow.process.models import ProcessSnapshot

    manager = client_for(personas.manager)

    def counts() -> tuple[int, int]:
        ProcessSnapshot.objects.all().delete()
        with CaptureQueriesContext(connection) as page:
            assert admin.get("/process/?by=rep").status_code == 200
        with CaptureQueriesContext(connection) as control:
            assert manager.get("/process/control/").status_code == 200
        return len(page.captured_queries), len(control.captured_queries)

    before = counts()
    for _i in range(10):
        _path(_deal(personas.teammate, start), [("qualification", 0.3), ("needs", 0.2), ("won", 0.1)], start=t)
    refresh_facts()
    assert counts() == before
    ProcessSnapshot.objects.all().delete()
    with django_assert_max_num_queries(40):
        assert admin.get("/process/?by=rep").status_code == 200
    with django_assert_max_num_queries(70):
        assert manager.get("/process/control/").status_code == 200
    with django_assert_max_num_queries(35):  # from the snapshot
        assert manager.get("/process/control/").status_code == 200


def test_an_old_snapshot_is_served_while_one_background_refresh_recomputes_it(
    personas: Personas, client_for, django_assert_max_num_queries, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """A reader never waits for a computation when a snapshot exists: an expired one is served
    as it is (the page shows its computed time) and ONE refresh is enqueued for all readers;
    the worker's run stores figures equal to a computation in the request. Only a missing
    snapshot is computed in the request."""
    from django_tasks_db.models import DBTaskResult

    from salesflow.core.testing import run_worker
    from salesflow.process.models import ProcessSnapshot
    from salesflow.process.pages import SNAPSHOT_MAX_AGE, is_fresh
    from salesflow.process.tasks import refresh_view

    def refreshes() -> int:
        return DBTaskResult.objects.filter(task_path="salesflow.process.tasks.refresh_view").count()

    start, _end = _past_month(0)
    for _i in range(3):
        _path(_deal(personas.rep, start), [("qualification", 0.2), ("needs", 0.1)], start=_at(start, 9))
    refresh_facts(full=True)
    first, second = client_for(personas.manager), client_for(personas.manager)
    query = f"/process/?node=team:{personas.team_a.pk}"
    assert first.get(query).status_code == 200  # none: computed in the request
    assert ProcessSnapshot.objects.count() == 1 and refreshes() == 0
    snap = ProcessSnapshot.objects.get()
    computed = dict(snap.data)
    old = timezone.now() - SNAPSHOT_MAX_AGE - timedelta(minutes=5)
    assert is_fresh(snap.computed_at) and not is_fresh(old)
    # expired, and the figures changed since: readers get the stored figures, not new ones
    snap.computed_at, snap.data = old, {**computed, "computed_at": old.isoformat(), "marker": "old"}
    snap.save()
    _path(_deal(personas.rep, start), [("qualification", 0.2)], start=_at(start, 10))
    refresh_facts(full=True)
    at = timezone.localtime(old).strftime("%Y-%m-%d %H:%M")
    for client in (first, second):
        with django_assert_max_num_queries(30):  # the page from its snapshot, the enqueue (or its refusal)
            response = client.get(query)
        assert response.status_code == 200 and at in response.content.decode()
    snap.refresh_from_db()
    assert snap.computed_at == old and snap.data["marker"] == "old"
    assert refreshes() == 1  # one for both readers
    # the period runs to now (its length in weeks): the worker's and the request's computations
    # below see the same instant, so they can be compared exactly
    fixed = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: fixed)
    assert run_worker() == 1
    snap.refresh_from_db()
    assert snap.computed_at > old + SNAPSHOT_MAX_AGE and "marker" not in snap.data
    stored = {k: v for k, v in snap.data.items() if k != "computed_at"}
    ProcessSnapshot.objects.all().delete()
    assert first.get(query).status_code == 200  # computed in the request, as the worker did
    live = {k: v for k, v in ProcessSnapshot.objects.get().data.items() if k != "computed_at"}
    assert stored == live and stored["summary"] != computed["summary"]
    assert refreshes() == 1
    # the task itself: idempotent; a filter that no longer parses (a team gone) is skipped
    params = {"node": "team:999999", "period": "", "by": "team"}
    assert refresh_view.call(kind="summary", params=params, language="en") is False
    assert refresh_view.call(kind="bogus", params={}, language="") is False


def test_the_ten_minute_job_keeps_the_default_views_warm(personas: Personas, client_for) -> None:  # type: ignore[no-untyped-def]
    """``process.refresh_facts`` recomputes the company's and every team's default page and
    control page in both languages when not fresh; a reader whose widest node that is then reads
    the stored views (no computation in the request), and a second run computes nothing."""
    from salesflow.process.models import ProcessSnapshot
    from salesflow.process.pages import SNAPSHOT_MAX_AGE
    from salesflow.process.tasks import refresh_process_facts
    from salesflow.users.models import Team

    start, _end = _past_month(0)
    _path(_deal(personas.rep, start), [("qualification", 0.2), ("needs", 0.1)], start=_at(start, 9))
    views = 2 * 2 * (1 + Team.objects.count())  # languages × pages × (company + teams)
    assert refresh_process_facts.call()["views"] == views
    assert ProcessSnapshot.objects.count() == views
    stored = dict(ProcessSnapshot.objects.values_list("key", "computed_at"))
    for language in ("en", "zh-hans"):
        admin = client_for(personas.admin, language)
        assert admin.get("/process/").status_code == 200
        assert admin.get("/process/control/").status_code == 200
    assert dict(ProcessSnapshot.objects.values_list("key", "computed_at")) == stored  # read, not computed
    assert refresh_process_facts.call()["views"] == 0  # all fresh
    ProcessSnapshot.objects.update(computed_at=timezone.now() - SNAPSHOT_MAX_AGE - timedelta(minutes=1))
    assert refresh_process_facts.call()["views"] == views
