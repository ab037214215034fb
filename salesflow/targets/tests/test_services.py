"""Plans, versions and the approval flow; decomposition through the services; denied
personas change nothing; people who change teams keep their targets and history."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.http import Http404

from salesflow.analytics.selectors import Node
from salesflow.core.audit import AuditEvent
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.periods import children, month_period, parse_period, year_period
from salesflow.sales.choices import Outcome
from salesflow.sales.models import Opportunity
from salesflow.sales.services import opportunity_close
from salesflow.sales.tests.factories import make_opportunity
from salesflow.targets import services
from salesflow.targets.models import PlanVersion, Target, VersionStatus
from salesflow.targets.selectors import attainment, target_of
from salesflow.users.services import user_change_team

pytestmark = pytest.mark.django_db
YEAR = 2025


def _snapshot() -> list[object]:
    return [
        sorted(PlanVersion.objects.values_list("pk", "status", "number", "product_strategy", "seasonality")),
        sorted(Target.objects.values_list("version_id", "metric_key", "node_key", "period_key", "value")),
    ]


def _plan(p, goal: str = "1200000.00") -> PlanVersion:  # type: ignore[no-untyped-def]
    plan = services.plan_create(actor=p.admin, year=YEAR)
    version = plan.versions.get()
    services.targets_set(actor=p.admin, version=version, metric_key="won_revenue", cells=[("company", "2025", goal)])
    return version


def _locked(p) -> PlanVersion:  # type: ignore[no-untyped-def]
    version = _plan(p)
    return services.plan_version_submit(actor=p.admin, version=version)


def test_decompose_company_to_reps_and_months_sums_exactly(personas) -> None:  # type: ignore[no-untyped-def]
    p = personas
    version = _plan(p, "1000000.01")
    services.targets_allocate(
        actor=p.admin,
        version=version,
        metric_key="won_revenue",
        node_key="company",
        period_key="2025",
        along="org",
        basis="equal",
        cascade=True,
    )
    rows = {(t.node_key, t.period_key): t.value for t in Target.objects.filter(version=version)}
    teams = [f"team:{p.department.pk}", f"team:{p.team_b.pk}"]
    assert sum(rows[(k, "2025")] for k in teams) == Decimal("1000000.01")
    dept_kids = [f"team:{p.team_a.pk}"]
    assert sum(rows[(k, "2025")] for k in dept_kids) == rows[(teams[0], "2025")]
    reps_a = [f"rep:{p.rep.pk}", f"rep:{p.teammate.pk}"]  # the assistant and support are no reps
    assert sum(rows[(k, "2025")] for k in reps_a) == rows[(dept_kids[0], "2025")]
    assert (f"rep:{p.assistant.pk}", "2025") not in rows
    # every node down to months
    for node_key in ["company", *teams, *dept_kids, *reps_a, f"rep:{p.outsider.pk}"]:
        services.targets_allocate(
            actor=p.admin,
            version=version,
            metric_key="won_revenue",
            node_key=node_key,
            period_key="2025",
            along="periods",
            cascade=True,
        )
    rows = {(t.node_key, t.period_key): t.value for t in Target.objects.filter(version=version)}
    for node_key in reps_a:
        year = year_period(YEAR)
        for q in children(year):
            assert sum(rows[(node_key, m.key)] for m in children(q)) == rows[(node_key, q.key)]
        assert sum(rows[(node_key, q.key)] for q in children(year)) == rows[(node_key, "2025")]
        assert not any(k[1].count("-W") for k in rows)  # cascade stops at months
    assert all(v >= 0 for v in rows.values())


def test_seasonality_from_last_year_and_by_hand(personas) -> None:  # type: ignore[no-untyped-def]
    p = personas
    for day, amount in ((date(2024, 3, 10), "300.00"), (date(2024, 11, 2), "100.00")):
        opp = make_opportunity(p.rep, amount=amount, currency="CNY")
        opportunity_close(actor=p.rep, opportunity=opp, outcome=Outcome.WON, closed_on=day)
    version = _plan(p)
    weights = services.seasonality_set(actor=p.admin, version=version, node_key="company")
    expected = [0] * 12
    for opp in Opportunity.objects.filter(outcome=Outcome.WON):
        expected[opp.closed_on.month - 1] += int(opp.amount)
    assert weights == expected
    services.targets_allocate(
        actor=p.admin,
        version=version,
        metric_key="won_revenue",
        node_key="company",
        period_key="2025",
        along="periods",
        cascade=True,
    )
    rows = {t.period_key: t.value for t in Target.objects.filter(version=version, node_key="company")}
    assert rows["2025-03"] == Decimal("900000.00") and rows["2025-11"] == Decimal("300000.00")
    assert rows["2025-01"] == 0
    with pytest.raises(ValidationFailed):
        services.seasonality_set(actor=p.admin, version=version, node_key="company", weights=[0] * 12)
    with pytest.raises(ValidationFailed):
        services.seasonality_set(actor=p.admin, version=version, node_key="company", weights=[1] * 11)
    assert services.seasonality_set(actor=p.admin, version=version, node_key="company", weights=[1] * 12) == [1] * 12


def test_admin_submission_without_rules_locks_and_revision_copies(personas) -> None:  # type: ignore[no-untyped-def]
    p = personas
    version = _locked(p)
    assert version.status == VersionStatus.LOCKED and version.approved_by == p.admin
    with pytest.raises(Conflict):
        services.targets_set(actor=p.admin, version=version, metric_key="won_revenue", cells=[("company", "2025", "1")])
    draft = services.plan_version_revise(actor=p.admin, plan=version.plan)
    assert draft.number == 2 and draft.status == VersionStatus.DRAFT
    assert Target.objects.get(version=draft).value == Decimal("1200000.00")
    services.targets_set(actor=p.admin, version=draft, metric_key="won_revenue", cells=[("company", "2025", "5.00")])
    # the locked version keeps counting until the revision is locked
    assert target_of(node=Node("company"), metric_key="won_revenue", period=year_period(YEAR)) == Decimal("1200000.00")
    with pytest.raises(Conflict):
        services.plan_version_revise(actor=p.admin, plan=version.plan)
    services.plan_version_submit(actor=p.admin, version=draft)
    assert target_of(node=Node("company"), metric_key="won_revenue", period=year_period(YEAR)) == Decimal("5.00")
    verbs = list(AuditEvent.objects.filter(verb__startswith="targets.").values_list("verb", flat=True))
    for verb in (
        "targets.plan.created",
        "targets.version.submitted",
        "targets.version.approved",
        "targets.version.revised",
    ):
        assert verb in verbs


def test_manager_submission_waits_for_an_approver(personas) -> None:  # type: ignore[no-untyped-def]
    p = personas
    version = _plan(p)
    version = services.plan_version_submit(actor=p.manager, version=version)
    assert version.status == VersionStatus.SUBMITTED and version.approval_request_id is None
    assert target_of(node=Node("company"), metric_key="won_revenue", period=year_period(YEAR)) is None
    before = _snapshot()
    for who in (p.rep, p.assistant, p.support, p.manager, p.other_manager, p.outsider):
        with pytest.raises(Forbidden):
            services.plan_version_approve(actor=who, version=version)
    with pytest.raises(Forbidden):
        services.plan_version_return(actor=p.rep, version=version)
    with pytest.raises(Conflict):
        services.targets_set(
            actor=p.manager, version=version, metric_key="won_revenue", cells=[(f"team:{p.team_a.pk}", "2025", "1")]
        )
    assert _snapshot() == before
    version = services.plan_version_return(actor=p.admin, version=version, comment="季度节奏再细化")
    assert version.status == VersionStatus.DRAFT
    services.plan_version_submit(actor=p.manager, version=version)
    version = services.plan_version_approve(actor=p.admin, version=version)
    assert version.status == VersionStatus.LOCKED and version.locked_at is not None


def test_top_team_manager_approves_but_not_their_own(personas) -> None:  # type: ignore[no-untyped-def]
    p = personas
    p.team_b.parent = p.department
    p.team_b.save()  # the department is now the only top team, managed by p.manager
    version = _plan(p)
    services.plan_version_submit(actor=p.manager, version=version)
    with pytest.raises(Forbidden):
        services.plan_version_approve(actor=p.manager, version=version)
    services.plan_version_return(actor=p.manager, version=version)  # the submitter takes it back
    version.refresh_from_db()
    services.plan_version_submit(actor=p.admin, version=version)  # locked at once
    version.refresh_from_db()
    assert version.status == VersionStatus.LOCKED
    draft = services.plan_version_revise(actor=p.other_manager, plan=version.plan)
    services.plan_version_submit(actor=p.other_manager, version=draft)
    assert services.plan_version_approve(actor=p.manager, version=draft).status == VersionStatus.LOCKED


def test_engine_pending_then_callbacks(personas, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from salesflow.core.approvals import Submission

    p = personas
    version = _plan(p)
    monkeypatch.setattr(services, "submit_for_approval", lambda **kw: Submission(status="pending", request_id=77))
    version = services.plan_version_submit(actor=p.admin, version=version)
    assert version.status == VersionStatus.SUBMITTED and version.approval_request_id == 77
    with pytest.raises(Conflict):
        services.plan_version_approve(actor=p.admin, version=version)
    services.on_rejected(version, p.admin, "再议")
    version.refresh_from_db()
    assert version.status == VersionStatus.DRAFT and version.approval_request_id is None
    services.plan_version_submit(actor=p.admin, version=version)
    services.on_approved(version, p.admin)
    version.refresh_from_db()
    assert version.status == VersionStatus.LOCKED
    services.on_withdrawn(version, p.admin)  # idempotent: a locked version stays locked
    version.refresh_from_db()
    assert version.status == VersionStatus.LOCKED


def test_denied_personas_and_bad_input_change_nothing(personas) -> None:  # type: ignore[no-untyped-def]
    p = personas
    version = _plan(p)
    before = _snapshot()
    for who in (p.rep, p.assistant, p.support):
        with pytest.raises(Forbidden):
            services.targets_set(
                actor=who, version=version, metric_key="won_revenue", cells=[(f"rep:{who.pk}", "2025", "1")]
            )
        with pytest.raises(Forbidden):
            services.plan_version_submit(actor=who, version=version)
        with pytest.raises(Forbidden):
            services.plan_create(actor=who, year=2030)
    # a manager may not write the company node or another manager's team
    for node in ("company", f"team:{p.team_b.pk}", f"rep:{p.outsider.pk}"):
        with pytest.raises(ValidationFailed):
            services.targets_set(
                actor=p.manager, version=version, metric_key="won_revenue", cells=[(node, "2025", "1")]
            )
    for cell in (
        ("company", "2024", "1"),  # another year
        ("company", "2025-13", "1"),
        ("company", "2025", "-1"),
        ("company", "2025", "NaN"),
        ("company", "2025", "1e30"),
        ("company", "2025", "1.234"),
        ("team:999999", "2025", "1"),
        ("bogus", "2025", "1"),
    ):
        with pytest.raises(ValidationFailed):
            services.targets_set(actor=p.admin, version=version, metric_key="won_revenue", cells=[cell])
    with pytest.raises(ValidationFailed):
        services.targets_set(actor=p.admin, version=version, metric_key="won_deals", cells=[("company", "2025", "1.5")])
    with pytest.raises(ValidationFailed):
        services.targets_set(actor=p.admin, version=version, metric_key="lost_deals", cells=[("company", "2025", "1")])
    with pytest.raises(ValidationFailed):
        services.targets_allocate(
            actor=p.admin, version=version, metric_key="won_revenue", node_key="company", period_key="2025-Q1"
        )
    assert _snapshot() == before


def test_team_change_keeps_targets_and_history(personas) -> None:  # type: ignore[no-untyped-def]
    p = personas
    version = _plan(p)
    cells = [
        (f"rep:{p.rep.pk}", "2025-03", "100.00"),
        (f"rep:{p.rep.pk}", "2025-09", "100.00"),
        (f"team:{p.team_a.pk}", "2025-03", "500.00"),
        (f"team:{p.team_b.pk}", "2025-09", "700.00"),
    ]
    services.targets_set(actor=p.admin, version=version, metric_key="won_revenue", cells=cells)
    services.plan_version_submit(actor=p.admin, version=version)
    for day in (date(2025, 3, 10), date(2025, 9, 10)):
        opp = make_opportunity(p.rep, amount="40.00", currency="CNY")
        opportunity_close(actor=p.rep, opportunity=opp, outcome=Outcome.WON, closed_on=day)
    user_change_team(actor=p.admin, user=p.rep, team=p.team_b, effective=date(2025, 7, 1))
    rep = Node("rep", p.rep.pk)
    march, sept = month_period(2025, 3), month_period(2025, 9)
    assert target_of(node=rep, metric_key="won_revenue", period=march) == Decimal("100.00")
    a_team = attainment(
        node=Node("team", p.team_a.pk), metric_key="won_revenue", period=march, today=date(2025, 12, 31)
    )
    b_team = attainment(node=Node("team", p.team_b.pk), metric_key="won_revenue", period=sept, today=date(2025, 12, 31))
    assert a_team.actual == Decimal("40.00") and a_team.target == Decimal("500.00")
    assert b_team.actual == Decimal("40.00") and b_team.target == Decimal("700.00")
    a_sept = attainment(node=Node("team", p.team_a.pk), metric_key="won_revenue", period=sept, today=date(2025, 12, 31))
    assert a_sept.actual == 0
    assert attainment(
        node=rep, metric_key="won_revenue", period=parse_period("2025"), today=date(2025, 12, 31)
    ).actual == Decimal("80.00")


def test_unseen_version_is_404(personas) -> None:  # type: ignore[no-untyped-def]
    from salesflow.targets.selectors import version_for_user

    with pytest.raises(Http404):
        version_for_user(personas.rep, 999999)
