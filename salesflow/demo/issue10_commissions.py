"""Demo commissions (提成, issue 10): a plan for this fiscal year (and last year's when last
month belongs to it) with rules like a Chinese sales company's — 3 % of won revenue for reps,
×1.2 above 100 % of the monthly target and ×1.5 above 120 % (marginal), 1 % for managers'
own deals, 1 % of collections for everyone, and 4 % on the first product line for reps —
then every rep's and manager's statement: last month approved, this month a draft. All
through the commissions services."""

from __future__ import annotations

import datetime as dt

from salesflow.catalogue.models import ProductCategory
from salesflow.commissions.choices import Basis
from salesflow.commissions.models import CommissionPlan, CommissionStatement
from salesflow.commissions.selectors import covering_plan
from salesflow.commissions.services import (
    TierInput,
    plan_create,
    rule_create,
    statement_approve,
    statement_generate,
    statement_submit,
)
from salesflow.core.errors import ServiceError
from salesflow.core.periods import month_period, period_containing, year_period
from salesflow.users.choices import Role
from salesflow.users.models import User

ACCELERATORS = [TierInput("100", "1.2"), TierInput("120", "1.5")]


def _plan(actor: User, year: int) -> CommissionPlan:
    span = year_period(year)
    existing = covering_plan(span)
    if existing is not None:
        return existing
    plan = plan_create(
        actor=actor,
        name=f"{year}年度销售提成方案",
        valid_from=span.start,
        valid_to=span.end,
        notes="赢单提成按实际成交日期计，外币按当日汇率折算人民币；超额部分按阶梯加速（边际计算）。回款提成按到账日期计。",
    )
    rule_create(
        actor=actor, plan=plan, name="销售代表赢单提成", basis=Basis.WON, role=Role.REP, rate="3", tiers=ACCELERATORS
    )
    rule_create(
        actor=actor,
        plan=plan,
        name="销售经理个人赢单提成",
        basis=Basis.WON,
        role=Role.MANAGER,
        rate="1",
        tiers=ACCELERATORS,
    )
    rule_create(actor=actor, plan=plan, name="回款提成", basis=Basis.COLLECTED, rate="1")
    line = ProductCategory.objects.filter(active=True).order_by("code").first()
    if line is not None:
        rule_create(
            actor=actor,
            plan=plan,
            name=f"{line.name_zh}产品线提成",
            basis=Basis.WON,
            role=Role.REP,
            product_line_id=line.pk,
            rate="4",
            tiers=ACCELERATORS,
        )
    return plan


def _approver(rep: User, admin: User) -> User:
    manager = rep.team.manager if rep.team is not None else None
    return manager if manager is not None and manager.pk != rep.pk and manager.is_active else admin


def write_commissions(users: dict[str, User], today: dt.date) -> dict[str, int]:
    """The plan(s) and statements (see the module); returns counts. A second run adds no
    plan and only recomputes this month's drafts."""
    admin = next((u for u in users.values() if u.is_active and u.role == Role.ADMIN), None)
    if admin is None:
        return {}
    this_month = month_period(today.year, today.month)
    last_month = period_containing("month", this_month.start - dt.timedelta(days=1))
    for year in sorted({period_containing("year", p.start).key for p in (last_month, this_month)}):
        _plan(admin, int(year))
    people = [
        u
        for u in sorted(users.values(), key=lambda u: u.pk)
        if u.is_active and u.role in (Role.REP, Role.MANAGER) and u.team_id is not None
    ]
    counts = {"approved": 0, "drafts": 0}
    for person in people:
        try:
            done = CommissionStatement.objects.filter(rep=person, period_key=last_month.key).exists()
            if not done:
                statement = statement_generate(actor=admin, rep=person, period_key=last_month.key)
                statement = statement_submit(actor=person, statement=statement)
                statement_approve(actor=_approver(person, admin), statement=statement)
                counts["approved"] += 1
            statement_generate(actor=admin, rep=person, period_key=this_month.key)
            counts["drafts"] += 1
        except ServiceError:
            continue
    return counts


def delete_commissions(user_ids: list[int]) -> int:
    """Remove the statements of the demo users (they PROTECT their reps), corrections first,
    and the plans the demo administrator made that no statement uses any more."""
    n = 0
    statements = CommissionStatement.objects.filter(rep_id__in=user_ids)
    for sequence in sorted(set(statements.values_list("sequence", flat=True)), reverse=True):
        n += CommissionStatement.objects.filter(rep_id__in=user_ids, sequence=sequence).delete()[0]
    n += CommissionPlan.objects.filter(created_by_id__in=user_ids, statements__isnull=True).delete()[0]
    return n
