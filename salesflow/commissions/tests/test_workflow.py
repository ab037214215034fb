"""Statement states, who may do what (denials change nothing), corrections, exports, audit."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.http import Http404
from django.utils import timezone
from openpyxl import load_workbook

from salesflow.commissions import selectors
from salesflow.commissions.choices import Basis, LineKind, StatementStatus
from salesflow.commissions.models import CommissionPlan, CommissionRule, CommissionStatement, StatementLine
from salesflow.commissions.permissions import get_statement_for_user
from salesflow.commissions.selectors import TargetInfo
from salesflow.commissions.services import (
    TierInput,
    plan_create,
    plan_delete,
    rule_create,
    rule_update,
    statement_approve,
    statement_correct,
    statement_export,
    statement_generate,
    statement_lock,
    statement_return,
    statement_submit,
)
from salesflow.commissions.tests.util import plan, rule, won
from salesflow.core.errors import Conflict, Forbidden, ValidationFailed
from salesflow.core.models import AuditEvent
from salesflow.users.testing import make_personas

pytestmark = pytest.mark.django_db
YEAR = timezone.localdate().year - 1


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(selectors, "rep_target", lambda rep, metric, period: TargetInfo(None, None, None))
    p = make_personas()
    pl = plan(YEAR)
    rule(pl, Basis.WON, "3.00", name='=HYPERLINK("x")')
    won(p.rep, "1000.00", date(YEAR, 3, 5))
    return p, pl


def _snapshot() -> tuple[list[tuple[object, ...]], int, int]:
    return (
        list(CommissionStatement.objects.order_by("pk").values_list("pk", "status", "commission_total")),
        StatementLine.objects.count(),
        AuditEvent.objects.filter(verb__startswith="commissions.").count(),
    )


def test_flow_draft_submitted_approved_locked(world) -> None:  # type: ignore[no-untyped-def]
    p, _pl = world
    s = statement_generate(actor=p.manager, rep=p.rep, period_key=f"{YEAR}-03")
    assert s.status == StatementStatus.DRAFT and s.commission_total == Decimal("30.00")
    s = statement_submit(actor=p.rep, statement=s)
    s = statement_approve(actor=p.manager, statement=s)
    assert s.approved_by == p.manager
    s = statement_lock(actor=p.admin, statement=s)
    assert s.status == StatementStatus.LOCKED
    verbs = list(
        AuditEvent.objects.filter(verb__startswith="commissions.statement")
        .order_by("pk")
        .values_list("verb", flat=True)
    )
    assert verbs == [
        "commissions.statement.generated",
        "commissions.statement.submitted",
        "commissions.statement.approved",
        "commissions.statement.locked",
    ]
    # locked: no recompute, no second statement
    before = _snapshot()
    with pytest.raises(Conflict):
        statement_generate(actor=p.admin, rep=p.rep, period_key=f"{YEAR}-03")
    assert _snapshot() == before


@pytest.mark.parametrize("who", ["rep", "teammate", "assistant", "support", "outsider", "other_manager"])
def test_denied_approvals_change_nothing(world, who: str) -> None:  # type: ignore[no-untyped-def]
    p, _pl = world
    s = statement_submit(actor=p.rep, statement=statement_generate(actor=p.admin, rep=p.rep, period_key=f"{YEAR}-03"))
    before = _snapshot()
    with pytest.raises(Forbidden):
        statement_approve(actor=getattr(p, who), statement=s)
    with pytest.raises(Forbidden):
        statement_lock(actor=getattr(p, who), statement=s)
    assert _snapshot() == before


@pytest.mark.parametrize("who", ["rep", "teammate", "assistant", "support", "outsider", "other_manager"])
def test_denied_generation_changes_nothing(world, who: str) -> None:  # type: ignore[no-untyped-def]
    p, _pl = world
    before = _snapshot()
    with pytest.raises(Forbidden):
        statement_generate(actor=getattr(p, who), rep=p.rep, period_key=f"{YEAR}-03")
    assert _snapshot() == before


def test_a_manager_does_not_approve_their_own(world) -> None:  # type: ignore[no-untyped-def]
    p, _pl = world
    s = statement_generate(actor=p.manager, rep=p.manager, period_key=f"{YEAR}-03")
    statement_submit(actor=p.manager, statement=s)
    with pytest.raises(Forbidden):
        statement_approve(actor=p.manager, statement=s)
    assert statement_approve(actor=p.admin, statement=s).status == StatementStatus.APPROVED


def test_wrong_states_conflict(world) -> None:  # type: ignore[no-untyped-def]
    p, _pl = world
    s = statement_generate(actor=p.admin, rep=p.rep, period_key=f"{YEAR}-03")
    with pytest.raises(Conflict):
        statement_approve(actor=p.manager, statement=s)
    with pytest.raises(Conflict):
        statement_correct(actor=p.admin, statement=s)
    statement_submit(actor=p.rep, statement=s)
    with pytest.raises(Conflict):
        statement_generate(actor=p.admin, rep=p.rep, period_key=f"{YEAR}-03")
    s = statement_return(actor=p.manager, statement=s, reason="少算了一单")
    assert s.status == StatementStatus.DRAFT


def test_visibility(world) -> None:  # type: ignore[no-untyped-def]
    p, _pl = world
    s = statement_generate(actor=p.admin, rep=p.rep, period_key=f"{YEAR}-03")
    for who in ("rep", "manager", "admin", "assistant"):
        assert get_statement_for_user(getattr(p, who), s.pk) == s
    for who in ("teammate", "outsider", "other_manager", "support"):
        with pytest.raises(Http404):
            get_statement_for_user(getattr(p, who), s.pk)


def test_correction_reverses_the_locked_lines(world) -> None:  # type: ignore[no-untyped-def]
    p, _pl = world
    s = statement_generate(actor=p.admin, rep=p.rep, period_key=f"{YEAR}-03")
    statement_submit(actor=p.rep, statement=s)
    statement_approve(actor=p.manager, statement=s)
    statement_lock(actor=p.admin, statement=s)
    locked_lines = list(s.lines.values_list("commission", flat=True))
    won(p.rep, "500.00", date(YEAR, 3, 20))  # a late win
    c = statement_correct(actor=p.manager, statement=s)
    assert c.sequence == 2 and c.corrects_id == s.pk and c.status == StatementStatus.DRAFT
    reversals = c.lines.filter(kind=LineKind.REVERSAL)
    assert [-x for x in reversals.values_list("commission", flat=True)] == locked_lines
    assert c.commission_total == Decimal("15.00")  # 45.00 now − 30.00 paid
    # the locked statement did not change; recomputing the correction keeps its reversals
    assert list(s.lines.values_list("commission", flat=True)) == locked_lines
    c = statement_generate(actor=p.admin, rep=p.rep, period_key=f"{YEAR}-03")
    assert c.sequence == 2 and c.commission_total == Decimal("15.00")
    with pytest.raises(Conflict):
        statement_correct(actor=p.admin, statement=s)  # one open correction at a time


def test_exports_are_formula_safe_and_match(world) -> None:  # type: ignore[no-untyped-def]
    p, _pl = world
    s = statement_generate(actor=p.admin, rep=p.rep, period_key=f"{YEAR}-03")
    content, _name, _ct = statement_export(actor=p.rep, statement=s, fmt="csv")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[1][5].startswith("'=")  # the rule name is neutralised
    assert Decimal(rows[-1][11]) == s.commission_total == Decimal("30.00")
    content, _name, _ct = statement_export(actor=p.rep, statement=s, fmt="xlsx")
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    values: list[Any] = list(sheet.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert str(values[1][5]).startswith("'=") and Decimal(str(values[-1][11])) == Decimal("30")
    with pytest.raises(ValidationFailed):
        statement_export(actor=p.rep, statement=s, fmt="pdf")


def test_rules_are_written_by_administrators_only(world) -> None:  # type: ignore[no-untyped-def]
    p, pl = world
    before = (CommissionPlan.objects.count(), CommissionRule.objects.count())
    for who in ("manager", "rep", "support"):
        with pytest.raises(Forbidden):
            plan_create(
                actor=getattr(p, who), name="x", valid_from=date(YEAR + 5, 1, 1), valid_to=date(YEAR + 5, 12, 31)
            )
        with pytest.raises(Forbidden):
            rule_create(actor=getattr(p, who), plan=pl, name="x", basis="collected", rate="1")
    assert (CommissionPlan.objects.count(), CommissionRule.objects.count()) == before
    with pytest.raises(ValidationFailed) as exc:
        plan_create(actor=p.admin, name="overlap", valid_from=date(YEAR, 6, 1), valid_to=date(YEAR + 1, 5, 31))
    assert "valid_from" in exc.value.field_errors
    with pytest.raises(ValidationFailed) as exc:
        rule_create(actor=p.admin, plan=pl, name="dup", basis="won", rate="2")
    assert "role" in exc.value.field_errors
    with pytest.raises(ValidationFailed) as exc:
        rule_create(
            actor=p.admin,
            plan=pl,
            name="t",
            basis="collected",
            rate="1",
            tiers=[TierInput("100", "1.5"), TierInput("100", "2")],
        )
    assert "tiers" in exc.value.field_errors
    for bad in ("NaN", "1e3", "-1", "101", "1.234", "", "x" * 50):
        with pytest.raises(ValidationFailed):
            rule_create(actor=p.admin, plan=pl, name="t", basis="collected", rate=bad)
    r = rule_create(
        actor=p.admin, plan=pl, name="回款提成", basis="collected", rate="1", tiers=[TierInput("100", "1.2")]
    )
    assert [(t.threshold_bp, t.multiplier_milli) for t in r.tiers.all()] == [(10000, 1200)]
    r = rule_update(actor=p.admin, rule=r, tiers=[TierInput("120", "1.5"), TierInput("100", "1.2")])
    assert [(t.threshold_bp, t.multiplier_milli) for t in r.tiers.all()] == [(10000, 1200), (12000, 1500)]
    statement_generate(actor=p.admin, rep=p.rep, period_key=f"{YEAR}-03")
    with pytest.raises(Conflict):
        plan_delete(actor=p.admin, plan=pl)


def test_periods_must_be_a_month_or_quarter_with_a_plan(world) -> None:  # type: ignore[no-untyped-def]
    p, _pl = world
    for bad in (f"{YEAR}", f"{YEAR}-03-W1", "2026-13", "x", f"{YEAR + 3}-01", "\x00", "9" * 500):
        with pytest.raises(ValidationFailed) as exc:
            statement_generate(actor=p.admin, rep=p.rep, period_key=bad)
        assert "period" in exc.value.field_errors
    assert CommissionStatement.objects.count() == 0
