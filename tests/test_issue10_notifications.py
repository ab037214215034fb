"""Issue 10: a sales plan submitted, approved or returned, and a commission statement
submitted or approved, notify the right people (the notifications app sits above targets and
commissions, so this cross-app check lives here)."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from salesflow.commissions import selectors as commission_selectors
from salesflow.commissions.choices import Basis
from salesflow.commissions.selectors import TargetInfo
from salesflow.commissions.services import statement_approve, statement_generate, statement_submit
from salesflow.commissions.tests.util import plan, rule, won
from salesflow.core.models import AuditEvent
from salesflow.notifications.models import Notification
from salesflow.notifications.tasks import notify_for_event
from salesflow.targets import services as targets
from salesflow.targets.models import PlanVersion
from salesflow.users.testing import Personas

pytestmark = pytest.mark.django_db
YEAR = timezone.localdate().year - 1


def _notify(verb: str) -> None:
    """What the subscribed task does after the commit, for the latest event of ``verb``."""
    notify_for_event.call(AuditEvent.objects.filter(verb=verb).latest("pk").pk)


def _sent(kind: str) -> list[tuple[str, str, str, str]]:
    return [
        (n.recipient.username, n.url, n.summary["en"], n.summary["zh-hans"])
        for n in Notification.objects.filter(kind=kind).select_related("recipient").order_by("recipient__username")
    ]


def _draft(p: Personas) -> PlanVersion:
    version = targets.plan_create(actor=p.admin, year=YEAR).versions.get()
    targets.targets_set(actor=p.admin, version=version, metric_key="won_revenue", cells=[("company", str(YEAR), "1")])
    return version


def test_plan_submitted_approved_and_returned(personas: Personas) -> None:
    p = personas
    version = _draft(p)
    url = f"/plans/{YEAR}/"
    targets.plan_version_submit(actor=p.manager, version=version)
    _notify("targets.version.submitted")
    # two top teams: no single top manager, so the administrators are asked
    assert _sent("targets.plan.submitted") == [
        (
            "admin",
            url,
            f"王经理 submitted “Sales plan {YEAR}, version 1” for your approval.",
            f"王经理 提交了“{YEAR} 年销售计划，第 1 版”，请你审批。",
        )
    ]
    targets.plan_version_return(actor=p.admin, version=version, comment="细化季度")
    _notify("targets.version.returned")
    assert _sent("targets.plan.returned") == [
        (
            "manager",
            url,
            f"系统管理员 returned “Sales plan {YEAR}, version 1” to draft: 细化季度",
            f"系统管理员 将“{YEAR} 年销售计划，第 1 版”退回为草稿：细化季度",
        )
    ]
    # the department becomes the only top team: its manager is asked, not the administrators
    p.team_b.parent = p.department
    p.team_b.save()
    targets.plan_version_submit(actor=p.other_manager, version=version)
    _notify("targets.version.submitted")
    assert [row[0] for row in _sent("targets.plan.submitted")] == ["admin", "manager"]
    targets.plan_version_approve(actor=p.manager, version=version)
    _notify("targets.version.approved")
    assert _sent("targets.plan.approved") == [
        (
            "other_manager",
            url,
            f"王经理 approved “Sales plan {YEAR}, version 1”; it is locked.",
            f"王经理 批准了“{YEAR} 年销售计划，第 1 版”，该版本已锁定。",
        )
    ]
    # the submitter taking their own version back is told nothing
    draft = targets.plan_version_revise(actor=p.manager, plan=version.plan)
    targets.plan_version_submit(actor=p.other_manager, version=draft)
    targets.plan_version_return(actor=p.other_manager, version=draft)
    _notify("targets.version.returned")
    assert len(_sent("targets.plan.returned")) == 1


def test_an_administrators_submission_locks_at_once_and_tells_nobody(personas: Personas) -> None:
    version = _draft(personas)
    targets.plan_version_submit(actor=personas.admin, version=version)
    _notify("targets.version.submitted")
    _notify("targets.version.approved")
    assert Notification.objects.filter(kind__startswith="targets.").count() == 0


def test_statement_submitted_and_approved(personas: Personas, monkeypatch: pytest.MonkeyPatch) -> None:
    p = personas
    monkeypatch.setattr(commission_selectors, "rep_target", lambda rep, metric, period: TargetInfo(None, None, None))
    rule(plan(YEAR), Basis.WON, "3.00")
    won(p.rep, "1000.00", date(YEAR, 3, 5))
    statement = statement_generate(actor=p.manager, rep=p.rep, period_key=f"{YEAR}-03")
    url = f"/commissions/statements/{statement.pk}/"
    statement_submit(actor=p.rep, statement=statement)
    _notify("commissions.statement.submitted")
    assert _sent("commissions.statement.submitted") == [
        (
            "manager",
            url,
            f"张伟 submitted the commission statement of 张伟 for {YEAR}-03 for your approval.",
            f"张伟 提交了张伟 {YEAR}-03 的提成结算单，请你审批。",
        )
    ]
    statement_approve(actor=p.manager, statement=statement)
    _notify("commissions.statement.approved")
    assert _sent("commissions.statement.approved") == [
        (
            "rep",
            url,
            f"王经理 approved the commission statement of 张伟 for {YEAR}-03.",
            f"王经理 批准了张伟 {YEAR}-03 的提成结算单。",
        )
    ]


def test_a_manager_submitting_for_the_rep_asks_the_administrators(personas: Personas, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    p = personas
    monkeypatch.setattr(commission_selectors, "rep_target", lambda rep, metric, period: TargetInfo(None, None, None))
    rule(plan(YEAR), Basis.WON, "3.00")
    statement = statement_generate(actor=p.manager, rep=p.rep, period_key=f"{YEAR}-03")
    statement_submit(actor=p.manager, statement=statement)
    _notify("commissions.statement.submitted")
    assert [row[0] for row in _sent("commissions.statement.submitted")] == ["admin"]
    statement_approve(actor=p.admin, statement=statement)
    _notify("commissions.statement.approved")
    assert [row[0] for row in _sent("commissions.statement.approved")] == ["manager", "rep"]
